"""The toolkit's own tests: apps rendered from its project template, tried as a user would.

Tests that need an app get `sampleapp`: the template rendered once for this run (no models,
no migrations), as `flask-safemigrate scaffold sampleapp DEST --bare` writes it."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# The plugin and the migration suite's asserts explain themselves (pytest rewrites them).
pytest.register_assert_rewrite("flask_safemigrate.testing")

from flask_safemigrate.scaffold import render  # noqa: E402
from flask_safemigrate.testing.plugin import (  # noqa: E402,F401  (the tests import them from here)
    BACKENDS, PAIRS, SERVERS, add_migration, insert, new_database, pair_id, query, run_manage, server_url,
    snapshot, use_backend, write_conf)

pytest_plugins = ["flask_safemigrate.testing.plugin"]

TOOLKIT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)

ROOT = Path(tempfile.mkdtemp(prefix="safemigrate-sampleapp-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
render("sampleapp", ROOT)
sys.path.insert(0, str(ROOT))
CONF_DIR = ROOT / "etc" / "conf"
TESTING_CONF = CONF_DIR / "testing.conf"
MIGRATIONS_DIR = ROOT / "sampleapp" / "migrations"

from sampleapp import create_app  # noqa: E402
from sampleapp.extensions import db  # noqa: E402,F401  (the tests import it from here)


@pytest.fixture(scope="session")
def app_factory():
    return create_app


def make_app(database_url, **overrides):
    return create_app(TESTING_CONF, {"SQLALCHEMY_DATABASE_URI": database_url, **overrides})


def manage(*args, settings=None, cwd=None, env=None):
    """Run the sample app's bin/manage.py in a subprocess, as a user would."""
    return run_manage(ROOT, *args, settings=settings, cwd=cwd, env=env)


def pytest_configure(config):
    # Deprecations surface as failures, not as noise.
    config.addinivalue_line("filterwarnings", "error")


def scaffold(*args, cwd=None):
    """`python -m flask_safemigrate.scaffold ARGS`, as the console script runs it."""
    return subprocess.run([sys.executable, "-m", "flask_safemigrate.scaffold", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def make(project, *args, env=None, shared_venv=True):
    """`make ARGS` in a scaffolded project: in this run's virtualenv (never reinstalled into),
    or in the project's own .venv (`shared_venv=False`), which make creates."""
    skip = ("SETTINGS", "MAKEFLAGS", "MFLAGS", "DEV_DATABASE_URL", "VIRTUAL_ENV", "PYTHONPATH")
    environ = {**{k: v for k, v in os.environ.items() if k not in skip}, **(env or {})}
    shared = [f"VENV={VENV}", "-o", f"{VENV}/.installed"] if shared_venv else []
    if shared_venv:
        environ["PYTHONPATH"] = str(project)  # its package, not installed into our virtualenv
    return subprocess.run(["make", "--no-print-directory", "-C", str(project), *shared, *args],
                          env=environ, capture_output=True, text=True, timeout=1200)


def ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture
def toolkit_copy(tmp_path):
    """A copy of the toolkit's source, to change and release as a new version."""
    return Path(shutil.copytree(TOOLKIT, tmp_path / "toolkit", ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache")))
