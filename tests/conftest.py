"""myapp's tests: the toolkit's plugin gives each test the app on a database of its own, on
each backend; the helpers here are about this project (its bin/manage.py, Makefile, confs)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The plugin and the migration suite's asserts explain themselves (pytest rewrites them).
pytest.register_assert_rewrite("flask_safemigrate.testing")
from click.testing import CliRunner

from flask_safemigrate.cli import manage_group
from flask_safemigrate.testing.plugin import (  # noqa: F401  (the tests import them from here)
    BACKENDS, PAIRS, SERVERS, add_migration, insert, new_database, pair_id, query, run_manage, server_url,
    snapshot, use_backend, write_conf)
from myapp import create_app

# Backends, a database per test, the app on it: the toolkit's plugin.
pytest_plugins = ["flask_safemigrate.testing.plugin"]

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "etc" / "conf"
TESTING_CONF = CONF_DIR / "testing.conf"


def pytest_configure(config):
    # Deprecations surface as failures, not as noise.
    config.addinivalue_line("filterwarnings", "error")


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


def manage(*args, settings=None, cwd=None, env=None):
    """Run bin/manage.py in a subprocess, as a user would."""
    return run_manage(ROOT, *args, settings=settings, cwd=cwd, env=env)


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
