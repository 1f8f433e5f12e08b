"""Fixtures: each test gets an app on its own temporary database."""
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from myapp import create_app
from myapp.extensions import MIGRATIONS_DIR, db

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "etc" / "conf"
TESTING_CONF = CONF_DIR / "testing.conf"


def pytest_configure(config):
    # Deprecations surface as failures, not as noise.
    config.addinivalue_line("filterwarnings", "error")


@pytest.fixture
def database_url(tmp_path):
    """A fresh, empty SQLite database of this test's own."""
    return f"sqlite:///{tmp_path / 'test.db'}"


def make_app(database_url, **overrides):
    return create_app(TESTING_CONF, {"SQLALCHEMY_DATABASE_URI": database_url, **overrides})


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def runner(app):
    """Runs commands against the app's own CLI."""
    return app.test_cli_runner()


@pytest.fixture
def migrations_copy(tmp_path):
    """A scratch copy of the migrations folder, for tests that add revisions."""
    return Path(shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations",
                                ignore=shutil.ignore_patterns("__pycache__")))


def write_conf(path, database_url, disposable=True, extra=""):
    """A config file pointing at `database_url`."""
    path.write_text(f"SQLALCHEMY_DATABASE_URI = {database_url!r}\nSECRET_KEY = 'test'\n"
                    f"ALLOW_DB_RESET = {disposable}\n{extra}")
    return path


def manage(*args, settings=None, cwd=None, env=None):
    """Run bin/manage.py in a subprocess, as a user would."""
    environ = {k: v for k, v in os.environ.items() if k != "SETTINGS"}
    if settings is not None:
        environ["SETTINGS"] = str(settings)
    environ.update(env or {})
    return subprocess.run([sys.executable, str(ROOT / "bin" / "manage.py"), *args],
                          cwd=cwd or ROOT, env=environ, capture_output=True, text=True, timeout=120)


def rows(database_file, sql):
    """Query a SQLite file directly, outside the app."""
    with sqlite3.connect(database_file) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture
def cli_runner():
    """Runs bin/manage.py's group in-process (errors handled as the real CLI does)."""
    return CliRunner()
