"""The index page and /healthz report where the database stands."""
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from flask import current_app

from myapp.extensions import MIGRATIONS_DIR

from .conftest import make_app

SCRIPTS = ScriptDirectory(str(MIGRATIONS_DIR))
HEAD = SCRIPTS.get_current_head()
ALL = [s.revision for s in reversed(list(SCRIPTS.walk_revisions()))]


def upgrade(app, revision):
    with app.app_context():
        config = current_app.extensions["migrate"].migrate.get_config()
        config.attributes["echo"] = lambda line: None
        command.upgrade(config, revision)


def test_healthz_on_an_empty_database(app):
    body = app.test_client().get("/healthz").get_json()
    assert body == {"status": "pending", "revision": None, "head": HEAD, "pending": ALL}


def test_healthz_partway_and_at_head(app):
    upgrade(app, ALL[0])
    body = app.test_client().get("/healthz").get_json()
    assert body["revision"] == ALL[0] and body["pending"] == ALL[1:] and body["status"] == "pending"
    upgrade(app, "head")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "revision": HEAD, "head": HEAD, "pending": []}


def test_healthz_when_the_database_is_unreachable():
    app = make_app("sqlite:////nonexistent-dir/sub/x.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_index_shows_name_revision_and_pending(app):
    page = app.test_client().get("/").get_data(as_text=True)
    assert "<h1>myapp</h1>" in page
    assert "none (empty database)" in page
    assert f"{len(ALL)} migration(s) pending" in page and "make migrate" in page
    for script in SCRIPTS.walk_revisions():
        assert script.revision in page and script.doc in page
    upgrade(app, "head")
    page = app.test_client().get("/").get_data(as_text=True)
    assert HEAD in page and "up to date" in page and "migration(s) pending" not in page
