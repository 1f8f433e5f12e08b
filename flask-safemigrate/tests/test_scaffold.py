"""The scaffold renders thin apps: their own code only, the toolkit by version, and a test
suite about the app (the migration suite over its own history) that passes at once."""
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import flask_safemigrate
from flask_safemigrate.scaffold import build_wheel

from .conftest import make, ok, scaffold

PACKAGE = Path(flask_safemigrate.__file__).resolve().parent


def files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if ".git" not in p.parts)


@pytest.mark.parametrize("name, why", [
    ("1blog", "not a valid Python package name"), ("my-blog", "not a valid Python package name"),
    ("class", "not a valid Python package name"), ("Blog", "lowercase"),
    ("flask", "installed package flask"), ("sqlalchemy", "installed package sqlalchemy"),
    ("flask_safemigrate", "installed package flask_safemigrate"),
    ("email", "standard library module email"), ("test", "standard library module test"),
    ("tests", "a folder of the project"), ("wheels", "a folder of the project"),
])
def test_a_bad_name_writes_nothing(tmp_path, name, why):
    result = scaffold(name, tmp_path / "app")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and why in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert files(tmp_path) == []


@pytest.mark.parametrize("args", [[], ["blog"], ["blog", "a", "b"], ["blog", "x", "--barely"]])
def test_usage(tmp_path, args):
    result = scaffold(*args, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("Error: usage: scaffold NAME DEST")
    assert files(tmp_path) == []


def source_files():
    """The toolkit's modules, by content (the template's files are rendered, not copied)."""
    return {p.read_bytes(): p for p in PACKAGE.rglob("*.py") if "project_template" not in p.parts}


def test_an_app_holds_only_its_own_code(tmp_path):
    ok(scaffold("shop", tmp_path / "shop"))
    app = tmp_path / "shop"
    toolkit = source_files()
    copied = [p for p in app.rglob("*") if p.is_file() and ".git" not in p.parts and p.read_bytes() in toolkit]
    assert copied == []
    assert not list(app.rglob("migrate_tools")) and not list(app.rglob("flask_safemigrate"))
    version = flask_safemigrate.__version__
    assert [p.name for p in (app / "wheels").iterdir()] == [f"flask_safemigrate-{version}-py3-none-any.whl"]
    requirements = (app / "requirements.txt").read_text().splitlines()
    assert f"Flask-SafeMigrate[postgresql,mysql,test]=={version}" in requirements
    assert "--find-links wheels" in requirements
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][^ ]*", line) for line in requirements
               if line and not line.startswith(("#", "--", "Flask-SafeMigrate[")))
    secrets = {re.search(r'^SECRET_KEY = "([0-9a-f]{64})"$', (app / "etc" / "conf" / c).read_text(), re.M).group(1)
               for c in ("dev.conf", "testing.conf")}
    assert len(secrets) == 2  # each conf its own
    log = subprocess.run(["git", "log", "--format=%s"], cwd=app, capture_output=True, text=True)
    assert log.stdout.splitlines() == ["New project: shop"]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


NOTE = '''"""A note, with tags."""
from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

note_tags = Table("note_tags", db.metadata,
                  Column("note_id", ForeignKey("note.id", ondelete="CASCADE"), primary_key=True),
                  Column("tag", String(40), primary_key=True))


class Note(db.Model):
    __tablename__ = "note"
    __table_args__ = (UniqueConstraint("folder", "title"), UniqueConstraint("folder", "slug"))
    id: Mapped[int] = mapped_column(primary_key=True)
    folder: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(120))
'''


@pytest.fixture
def notes_app(tmp_path):
    """A bare app with one model and its first migration."""
    app = tmp_path / "notes"
    ok(scaffold("notes", app))
    write(app / "notes" / "models" / "note.py", NOTE)
    with open(app / "notes" / "models" / "__init__.py", "a") as f:
        f.write("from .note import Note, note_tags  # noqa: E402,F401\n")
    ok(make(app, "newmigration", "MSG=add notes"))
    return app


def test_a_new_app_passes_make_db_and_make_test(notes_app):
    assert "starter data: none" in ok(make(notes_app, "db"))
    out = ok(make(notes_app, "test"))
    assert re.search(r"tests per backend: sqlite \d+ passed", out) and " failed" not in out


def failing(app):
    result = make(app, "test")
    assert result.returncode != 0
    return result.stdout


def test_the_migration_suite_fails_on_a_downgrade_that_does_not_restore(notes_app):
    migration = next((notes_app / "notes" / "migrations" / "versions").glob("*_add_notes.py"))
    text = migration.read_text()
    migration.write_text(text[:text.index("def downgrade():")] + "def downgrade():\n    pass\n")
    assert "FAILED tests/test_migrations.py::TestMigrations::test_stairway_keeps_rows[sqlite]" in failing(notes_app)


def test_the_migration_suite_fails_on_models_the_migrations_do_not_make(notes_app):
    note = notes_app / "notes" / "models" / "note.py"
    note.write_text(note.read_text() + "    body: Mapped[str | None] = mapped_column(String(2000))\n")
    out = failing(notes_app)
    assert "test_models_match_migrations[sqlite]" in out and "test_stairway_keeps_rows[sqlite] " not in out


def test_the_migration_suite_fails_on_two_heads(notes_app):
    versions = notes_app / "notes" / "migrations" / "versions"
    first = next(versions.glob("*_add_notes.py"))
    down = re.search(r"^down_revision = (.*)$", first.read_text(), re.M).group(1)
    write(versions / "bbbb0002_other.py", f'"""other"""\nrevision = "bbbb0002"\ndown_revision = {down}\n'
          "branch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
    assert "test_single_head[sqlite]" in failing(notes_app)


def test_the_stairway_names_a_table_it_cannot_fill(notes_app):
    note = notes_app / "notes" / "models" / "note.py"
    note.write_text(note.read_text().replace(
        'UniqueConstraint("folder", "slug"))',
        'UniqueConstraint("folder", "slug"), CheckConstraint("folder IN (\'inbox\', \'done\')", name="folder"))'
    ).replace("from sqlalchemy import Column", "from sqlalchemy import CheckConstraint, Column"))
    for migration in (notes_app / "notes" / "migrations" / "versions").glob("*.py"):
        migration.unlink()
    ok(make(notes_app, "newmigration", "MSG=add notes"))
    skipped = ok(make(notes_app, "test", "ARGS=-rs -k stairway"))
    assert "cannot make rows for table note" in skipped and "row_values" in skipped
    tests = notes_app / "tests" / "test_migrations.py"
    tests.write_text(tests.read_text().replace("row_values = {}", 'row_values = {("note", "folder"): ["inbox", "done"]}'))
    filled = ok(make(notes_app, "test", "ARGS=-rs -k stairway"))
    assert "cannot make rows" not in filled and re.search(r"sqlite 1 passed", filled)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_server_serves_the_app(notes_app):
    port = free_port()
    dev = notes_app / "etc" / "conf" / "dev.conf"
    dev.write_text(re.sub(r"^PORT = \d+$", f"PORT = {port}", dev.read_text(), flags=re.M))
    ok(make(notes_app, "db"))
    env = {k: v for k, v in os.environ.items() if k not in ("SETTINGS", "MAKEFLAGS", "MFLAGS")}
    env["PYTHONPATH"] = str(notes_app)
    server = subprocess.Popen(["make", "--no-print-directory", "-C", str(notes_app), f"VENV={Path(os.sys.prefix)}",
                               "-o", f"{Path(os.sys.prefix)}/.installed", "server"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    body = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert '"status":"ok"' in body.replace(" ", "")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_a_toolkit_change_reaches_the_app_by_a_version_bump(tmp_path, toolkit_copy):
    """The app in a virtualenv of its own (make creates it from requirements.txt): a new
    toolkit release is a version change there and `make install`; nothing else."""
    app = tmp_path / "notes"
    ok(scaffold("notes", app))
    own = dict(shared_venv=False)
    ok(make(app, "install", **own))
    python = app / ".venv" / "bin" / "python"

    def installed():
        code = "import flask_safemigrate as t; print(t.__version__, t.__file__)"
        return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True,
                              cwd=app).stdout.split()

    version, where = installed()
    assert version == flask_safemigrate.__version__ and Path(where).is_relative_to(app / ".venv")
    # The release: a change to the toolkit, its version bumped.
    init = toolkit_copy / "flask_safemigrate" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{version}"', '__version__ = "99.0.0"'))
    commands = toolkit_copy / "flask_safemigrate" / "commands.py"
    commands.write_text(commands.read_text().replace(
        'HELP_EPILOG = ("', 'HELP_EPILOG = ("Released in 99.0.0. '))
    build_wheel(toolkit_copy, app / "wheels")
    requirements = app / "requirements.txt"
    requirements.write_text(requirements.read_text().replace(f"]=={version}", "]==99.0.0"))
    ok(make(app, "install", **own))
    assert installed()[0] == "99.0.0"
    env = {"SETTINGS": str(app / "etc" / "conf" / "dev.conf")}
    helped = subprocess.run([str(python), str(app / "bin" / "manage.py"), "db", "help"], capture_output=True,
                            text=True, env={**os.environ, **env}, cwd=app)
    assert "Released in 99.0.0." in helped.stdout, helped.stderr
    ok(make(app, "test", **own))
