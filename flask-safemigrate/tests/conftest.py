"""The toolkit's own tests: apps rendered from its project template, tried as a user would."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The plugin and the migration suite's asserts explain themselves (pytest rewrites them).
pytest.register_assert_rewrite("flask_safemigrate.testing")

pytest_plugins = ["flask_safemigrate.testing.plugin"]

TOOLKIT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)


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
