"""newmigration's throwaway database on a server: beside the target, always dropped."""
import os
import secrets
import signal
import subprocess
import sys
import time

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from flask_safemigrate.migrate_tools.databases import create_database, drop_database, list_databases
from flask_safemigrate.migrate_tools.scratch import STALE_AFTER, scratch_database, scratch_name
from flask_safemigrate.migrate_tools.signals import Stopped, stop_raises

from .conftest import ROOT, add_migration, manage, new_database, query, server_url, write_conf


@pytest.fixture
def target(server, tmp_path):
    url, cleanup = new_database(server, tmp_path)
    yield url
    for name in scratch_left(url):  # a failing test leaves no stray database either
        drop_database(server_url(server), name)
    cleanup()


def scratch_left(url):
    """Scratch databases still on the server beside `url`."""
    return list_databases(url, f"{make_url(url).database}_scratch_")


def test_scratch_database_is_beside_the_target_and_dropped(target):
    with scratch_database(target) as scratch:
        assert make_url(scratch).database.startswith(make_url(target).database + "_scratch_")
        assert query(scratch, "SELECT 1") == [(1,)]
        assert scratch_left(target)
    assert scratch_left(target) == []


def test_scratch_database_is_dropped_on_failure(target):
    with pytest.raises(RuntimeError):
        with scratch_database(target):
            raise RuntimeError("autogenerate failed")
    assert scratch_left(target) == []


@pytest.mark.parametrize("body", [
    "raise RuntimeError('broken migration')",
    # Ctrl-C (with Python's handler, even where the runner was started with SIGINT ignored)
    "import os, signal\n    signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "    os.kill(os.getpid(), signal.SIGINT)",
])
def test_newmigration_drops_the_scratch_database_on_failure_and_ctrl_c(
        target, tmp_path, migrations_copy, body):
    head = ScriptDirectory(str(migrations_copy)).get_current_head()
    (migrations_copy / "versions" / "0000broken_x.py").write_text(
        f"revision = '0000broken'\ndown_revision = {head!r}\n\n\ndef upgrade():\n    {body}\n\n\n"
        "def downgrade():\n    pass\n")
    conf = write_conf(tmp_path / "a.conf", target)
    result = manage("db", "-d", str(migrations_copy), "newmigration", "-m", "x", settings=conf)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert scratch_left(target) == []


def wait_for(condition, timeout=60):
    """Poll `condition` until it is true (a wait on a state, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# Blocks the scratch build, so the run is stopped while its scratch database exists.
BLOCKING = '''def upgrade():
    import signal
    signal.pause()


def downgrade():
    pass
'''


@pytest.mark.parametrize("command, signum", [
    (["newmigration", "-m", "x"], signal.SIGTERM),
    (["newmigration", "-m", "x"], signal.SIGHUP),
    (["status"], signal.SIGTERM),
    (["status"], signal.SIGHUP),
], ids=["newmigration-SIGTERM", "newmigration-SIGHUP", "status-SIGTERM", "status-SIGHUP"])
def test_a_stop_signal_drops_the_scratch_database(target, tmp_path, migrations_copy, command, signum):
    """What deploy tools send (SIGTERM) and a closed terminal (SIGHUP) killed the run and left the
    scratch database on the server."""
    add_migration(migrations_copy, "aaaa0001", BLOCKING)
    conf = write_conf(tmp_path / "a.conf", target)
    env = {k: v for k, v in os.environ.items() if k != "SETTINGS"}
    env["PYTHONPATH"] = str(ROOT)  # the sample app's package
    run = subprocess.Popen([sys.executable, str(ROOT / "bin" / "manage.py"), "db", "-d", str(migrations_copy),
                            *command], env={**env, "SETTINGS": str(conf)}, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           # as from a terminal, also when this suite runs under nohup (which
                           # leaves SIGHUP ignored, and a run keeps an ignored SIGHUP ignored)
                           preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    try:
        wait_for(lambda: scratch_left(target))
        run.send_signal(signum)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 128 + signum, err
    assert "Traceback" not in err and f"stopped by {signum.name}" in err
    assert scratch_left(target) == []


def test_a_stop_signal_that_lands_in_a_finalizer_still_stops_the_run(capfd):
    """A SIGHUP that arrived while a driver's cleanup ran (a __del__) was swallowed there: the
    run went on into its blocking migration and never stopped (a CI run timed out so)."""
    class Cleanup:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGHUP)
            sum(range(1000))  # the handler runs here, inside the finalizer

    with pytest.raises(Stopped) as stopped:
        with stop_raises():
            Cleanup()  # dropped at once: its __del__ runs and gets the signal
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.01)
    assert stopped.value.signum == signal.SIGHUP
    assert "Exception ignored" not in capfd.readouterr().err


def test_signal_handlers_come_back_after_the_scratch_database(sqlite_url):
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine), signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with scratch_database(sqlite_url):
            assert signal.getsignal(signal.SIGTERM) is not mine
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # nohup: stays ignored
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGHUP, previous[1])


@pytest.mark.parametrize("run", ["scratch_database", "db status"])
def test_a_later_run_drops_stale_scratch_databases_of_its_own_naming_only(target, tmp_path, run):
    """A run killed with SIGKILL cannot clean up: the next one drops what it left over an hour
    ago (the scratch helper itself, and a real `db status` run that builds a scratch database)."""
    database = make_url(target).database
    admin = server_url(make_url(target).get_backend_name())
    now = time.time()
    stale = scratch_name(database, now - STALE_AFTER - 60)
    recent = scratch_name(database, now - 60)
    # Near our naming, but not ours: never dropped.
    others = [f"{stale}x", f"{database}_scratch_{secrets.token_hex(4)}", f"{database}_scratch_old_one",
              stale.replace("_scratch_", "_scratches_")]
    for name in (stale, recent, *others):
        create_database(admin, name)
    try:
        if run == "db status":
            result = manage("db", "status", settings=write_conf(tmp_path / "a.conf", target))
            assert "Traceback" not in result.stderr, result.stderr
            left = set(list_databases(admin, database))
            assert stale not in left and {recent, *others} <= left
        else:
            with scratch_database(target) as scratch:
                left = set(list_databases(admin, database))
                assert stale not in left
                assert {recent, *others, make_url(scratch).database} <= left
    finally:
        for name in (stale, recent, *others):
            drop_database(admin, name)


def test_without_create_database_rights_the_error_names_the_setting(server, target, tmp_path):
    """A login that may not create databases: one line naming SCRATCH_DATABASE_URL."""
    admin = server_url(server)
    user = f"safemigrate_nocreate_{secrets.token_hex(3)}"
    if server == "postgresql":
        setup, teardown = [f"CREATE ROLE {user} LOGIN NOCREATEDB"], [f"DROP ROLE {user}"]
    else:
        hosts = ("localhost", "127.0.0.1")
        setup = [f"CREATE USER '{user}'@'{host}'" for host in hosts]
        teardown = [f"DROP USER '{user}'@'{host}'" for host in hosts]
    for sql in setup:
        query(admin, sql, autocommit=True)
    try:
        limited = make_url(target).set(username=user, password=None).render_as_string(False)
        conf = write_conf(tmp_path / "a.conf", limited)
        result = manage("db", "newmigration", "-m", "x", settings=conf)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(error) == 1 and "cannot create a scratch database" in error[0]
        assert "SCRATCH_DATABASE_URL" in error[0]

        # With SCRATCH_DATABASE_URL set, newmigration uses (and empties) that database.
        scratch_name = f"{make_url(target).database}_own"
        scratch = create_database(admin, scratch_name)
        try:
            conf = write_conf(tmp_path / "b.conf", limited, extra=f"SCRATCH_DATABASE_URL = {scratch!r}\n")
            result = manage("db", "newmigration", "-m", "x", settings=conf)
            assert result.returncode == 0, result.stderr
            assert "No changes in the models" in result.stdout
            assert query(scratch, "SELECT 1") == [(1,)]  # still there, and empty again:
            assert "alembic_version" not in str(query(scratch, _tables_sql(server)))
        finally:
            drop_database(admin, scratch_name)
    finally:
        for sql in teardown:
            query(admin, sql, autocommit=True)


def _tables_sql(server):
    if server == "postgresql":
        return "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    return "SHOW TABLES"
