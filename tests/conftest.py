"""Fixtures: each test gets an app on its own temporary database."""
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The plugin and the migration suite's asserts explain themselves (pytest rewrites them).
pytest.register_assert_rewrite("flask_safemigrate.testing")
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from flask_safemigrate.cli import manage_group
from flask_safemigrate.testing.plugin import (  # noqa: F401  (the tests import them from here)
    BACKENDS, PAIRS, SERVERS, insert, new_database, pair_id, query, server_url, snapshot, use_backend)
from myapp import create_app
from myapp.extensions import MIGRATIONS_DIR

# Backends, a database per test, the app on it: the toolkit's plugin.
pytest_plugins = ["flask_safemigrate.testing.plugin"]

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "etc" / "conf"
TESTING_CONF = CONF_DIR / "testing.conf"


# Tests marked example_domain use the example models and their migrations; a project started
# with `bin/scaffold --bare` has neither, and leaves them out (saying so).
EXAMPLE_DOMAIN = (ROOT / "myapp" / "models" / "user.py").exists()


def pytest_configure(config):
    # Deprecations surface as failures, not as noise.
    config.addinivalue_line("filterwarnings", "error")
    config.addinivalue_line("markers", "example_domain: needs the example models and migrations")


def pytest_collection_modifyitems(config, items):
    config.example_domain_left_out = 0
    if EXAMPLE_DOMAIN:
        return
    left_out = [item for item in items if item.get_closest_marker("example_domain")]
    config.example_domain_left_out = len(left_out)
    if left_out:
        items[:] = [item for item in items if item not in left_out]
        config.hook.pytest_deselected(items=left_out)


def pytest_terminal_summary(terminalreporter):
    if not EXAMPLE_DOMAIN:
        left_out = getattr(terminalreporter.config, "example_domain_left_out", 0)
        terminalreporter.write_line(f"{left_out} tests of the example domain left out: this project"
                                    " has no example models")


# bin/manage.py's command group, for CliRunner
cli = manage_group(create_app, "myapp")


def make_app(database_url, **overrides):
    return create_app(TESTING_CONF, {"SQLALCHEMY_DATABASE_URI": database_url, **overrides})


@pytest.fixture(scope="session")
def app_factory():
    """The factory the plugin's `app` fixture and migration suite build apps with."""
    return create_app


@pytest.fixture
def runner(app):
    """Runs commands against the app's own CLI."""
    return app.test_cli_runner()


@pytest.fixture
def migrations_copy(tmp_path):
    """A scratch copy of the migrations folder, for tests that add revisions."""
    return Path(shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations",
                                ignore=shutil.ignore_patterns("__pycache__")))


def add_migration(migrations, revision, body, down=None):
    """Append a hand-written migration to a copy of the migrations; return its path."""
    down = down or ScriptDirectory(str(migrations)).get_current_head()
    path = migrations / "versions" / f"{revision}_test.py"
    path.write_text(f'"""{revision}"""\nimport os\nimport time\n\nfrom alembic import op\n'
                    f"import sqlalchemy as sa\n\nrevision = {revision!r}\ndown_revision = {down!r}\n\n\n"
                    f"{body}\n")
    return path


def write_conf(path, database_url, disposable=True, extra=""):
    """A config file pointing at `database_url`."""
    path.write_text(f"SQLALCHEMY_DATABASE_URI = {database_url!r}\nSECRET_KEY = {secrets.token_hex(32)!r}\n"
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


@pytest.fixture
def cli_runner():
    """Runs bin/manage.py's group in-process (errors handled as the real CLI does)."""
    return CliRunner()


# The project, copied: for tests that edit models and run the real Makefile.
VENV = Path(sys.prefix)


@pytest.fixture
def project(tmp_path):
    """A copy of the project that shares this test run's virtualenv."""
    copy = Path(shutil.copytree(ROOT, tmp_path / "proj", ignore=shutil.ignore_patterns(
        ".venv", "var", ".git", "__pycache__", ".pytest_cache", "*.egg-info")))
    return copy


def make(project, *args, env=None):
    """Run `make` in the copy; its own myapp package shadows the installed one."""
    skip = ("SETTINGS", "MAKEFLAGS", "MFLAGS", "DEV_DATABASE_URL")
    env = {**{k: v for k, v in os.environ.items() if k not in skip}, **(env or {})}
    env["PYTHONPATH"] = str(project)
    # -o: never (re)install into the shared virtualenv from the copy.
    return subprocess.run(["make", "--no-print-directory", "-C", str(project), f"VENV={VENV}",
                           "-o", f"{VENV}/.installed", *args],
                          env=env, capture_output=True, text=True, timeout=1200)


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
