"""The pytest plugin: every test that uses a database runs once per backend, on a database of
its own, and an app's conftest.py gets the migration suite with two lines:

    pytest_plugins = ["flask_safemigrate.testing.plugin"]

    @pytest.fixture(scope="session")
    def app_factory():
        return create_app

Server backends are found through TEST_POSTGRESQL_URL and TEST_MYSQL_URL (a database URL to
connect to as an admin); without them their tests skip, unless REQUIRE_BACKENDS=1 (CI) makes
that a failure.
"""
import collections
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, inspect

from ..config import with_driver
from ..migrate_tools.connection import temporary_engine
from ..migrate_tools.databases import create_database, drop_database, list_databases
from . import dbstate

SERVERS = {"postgresql": "TEST_POSTGRESQL_URL", "mysql": "TEST_MYSQL_URL"}
BACKENDS = ["sqlite", *SERVERS]
# Every database this run creates starts with this, so parallel runs never collide.
RUN_PREFIX = f"sm_test_{os.getpid()}_{secrets.token_hex(3)}_"  # short: a scratch name adds to it
OUTCOMES = ("passed", "failed", "error", "skipped")


def server_url(backend):
    """The admin URL for a server backend, with our drivers; None when it is not configured."""
    url = os.environ.get(SERVERS[backend])
    if not url:
        return None
    return with_driver(url).render_as_string(hide_password=False)


def use_backend(request, name, needs=()):
    """Record the test's backend; skip (or, under REQUIRE_BACKENDS, fail) without its server
    or without the server of any other backend in `needs`."""
    request.node.user_properties.append(("backend", name))
    for needed in sorted({name, *needs} & set(SERVERS)):
        if not server_url(needed):
            reason = f"{SERVERS[needed]} is not set: no {needed} server to test against"
            if os.environ.get("REQUIRE_BACKENDS"):
                pytest.fail(f"REQUIRE_BACKENDS is set but {reason}")
            pytest.skip(reason)
    return name


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each test that uses a database runs once per backend."""
    return use_backend(request, request.param)


@pytest.fixture(params=list(SERVERS))
def server(request):
    """Each test about database servers runs once per server backend."""
    return use_backend(request, request.param)


# (generating backend, applying backend): a migration written on one, run on the other.
PAIRS = [(generate, apply) for generate in BACKENDS for apply in BACKENDS]


def pair_id(pair):
    return "-to-".join(pair)  # usable in -k: "-k to-postgresql" picks the pairs applied there


@pytest.fixture(params=PAIRS, ids=pair_id)
def pair(request):
    """Each cross-backend test runs once per pair; it counts under its applying backend."""
    generate, apply = request.param
    use_backend(request, apply, needs=[generate])
    return request.param


def new_database(backend, tmp_path):
    """A fresh, empty database of this test's own: (url, cleanup)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}", lambda: None
    admin = server_url(backend)
    name = RUN_PREFIX + secrets.token_hex(4)
    return create_database(admin, name), lambda: drop_database(admin, name)


@pytest.fixture
def database_url(backend, tmp_path):
    """A fresh, empty database on each backend, dropped afterwards."""
    url, cleanup = new_database(backend, tmp_path)
    yield url
    cleanup()


@pytest.fixture
def sqlite_url(tmp_path):
    """A fresh SQLite database, for what is about SQLite files themselves."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def app_factory():
    """The app's create_app(settings, overrides): the app's conftest.py overrides this."""
    raise pytest.UsageError("conftest.py must define the app_factory fixture (return create_app)"
                            " for flask_safemigrate's migration suite")


def package_folder(factory):
    """The folder of the app's package, the one that holds `factory`."""
    return Path(sys.modules[factory.__module__].__file__).resolve().parent


def testing_conf(factory):
    """The project's etc/conf/testing.conf, beside the package that holds `factory`."""
    return package_folder(factory).parent / "etc" / "conf" / "testing.conf"


@pytest.fixture
def migrations_copy(app_factory, tmp_path):
    """A scratch copy of the app's migrations folder, for tests that add revisions."""
    return Path(shutil.copytree(package_folder(app_factory) / "migrations", tmp_path / "migrations",
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


def run_manage(root, *args, settings=None, cwd=None, env=None):
    """Run the project's bin/manage.py in a subprocess, as a user would (its package first on
    the path, installed or not)."""
    environ = {k: v for k, v in os.environ.items() if k != "SETTINGS"}
    if settings is not None:
        environ["SETTINGS"] = str(settings)
    environ["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [environ.get("PYTHONPATH")])])
    environ.update(env or {})
    return subprocess.run([sys.executable, str(root / "bin" / "manage.py"), *args],
                          cwd=cwd or root, env=environ, capture_output=True, text=True, timeout=120)


@pytest.fixture
def app(app_factory, database_url):
    """The app on this test's own database, with the project's testing.conf."""
    app = app_factory(testing_conf(app_factory), {"SQLALCHEMY_DATABASE_URI": database_url})
    yield app
    with app.app_context():
        for engine in app.extensions["sqlalchemy"].engines.values():
            engine.dispose()


def query(url, sql, autocommit=False):
    """Run portable SQL on any backend, outside the app."""
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    with temporary_engine(url, **options) as engine:
        with engine.connect() as connection:
            result = connection.exec_driver_sql(sql)
            return [tuple(r) for r in result] if result.returns_rows else []


def insert(url, table, **values):
    """Insert a row on any backend (quoting the table name as the backend needs)."""
    with temporary_engine(url) as engine:
        with engine.begin() as connection:
            connection.execute(Table(table, MetaData(), autoload_with=connection).insert(), values)


def snapshot(url):
    """Schema, rows and version of a database on any backend, for before/after comparisons."""
    with temporary_engine(url) as engine:
        with engine.connect() as connection:
            has_version = inspect(connection).has_table("alembic_version")
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all() \
                if has_version else None
            return dbstate.schema(connection), dbstate.rows(connection), version


def pytest_terminal_summary(terminalreporter):
    """One line saying how many tests ran on each backend."""
    counts = collections.Counter()
    for outcome in OUTCOMES:
        for report in terminalreporter.stats.get(outcome, []):
            backend = dict(getattr(report, "user_properties", ())).get("backend")
            if backend and (report.when == "call" or outcome in ("error", "skipped")):
                counts[backend, outcome] += 1
    per_backend = [f"{b} " + ", ".join(f"{counts[b, o]} {o}" for o in OUTCOMES if counts[b, o])
                   for b in BACKENDS if any(counts[b, o] for o in OUTCOMES)]
    if per_backend:
        terminalreporter.write_line(f"tests per backend: {'; '.join(per_backend)}")


def pytest_sessionfinish(session):
    # The suite must leave no database behind on any server.
    for backend in SERVERS:
        admin = server_url(backend)
        if admin:
            stray = list_databases(admin, RUN_PREFIX)
            if stray:
                print(f"\nERROR: stray {backend} databases left behind: {', '.join(stray)}")
                session.exitstatus = 1
