"""Crash windows and locks: what a run reads, plans and journals is held under the migration
lock, and the journal never claims more than the version table holds."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from .conftest import ROOT, add_migration, manage, query, snapshot, write_conf
from .test_safety import hold_migration_lock, journal_rows, upgrade, upgrade_beside_a_reader_of_user, version

# Waits until the test creates the file named by MIGRATION_GO (a run holding the lock).
GATED = '''def upgrade():
    op.execute("INSERT INTO role (name, description) VALUES ('Gated', 'held')")
    marker, go = os.environ.get("MIGRATION_MARKER"), os.environ.get("MIGRATION_GO")
    if marker:
        open(marker, "w").close()
        deadline = time.monotonic() + 120
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.05)


def downgrade():
    op.execute("DELETE FROM role WHERE name = 'Gated'")
'''

ADD_NICKNAME = '''def upgrade():
    op.add_column("user", sa.Column("nickname", sa.String(50)))


def downgrade():
    op.drop_column("user", "nickname")
'''


def start(migrations, conf, *args, env=None):
    """bin/manage.py db ... in the background."""
    environ = {**os.environ, "SETTINGS": str(conf), **(env or {})}
    return subprocess.Popen([sys.executable, str(ROOT / "bin/manage.py"), "db", "-d", str(migrations),
                             *args], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, run, what):
    deadline = time.monotonic() + 60
    while not condition():
        assert run.poll() is None, f"{what}: the run ended first: {run.communicate()}"
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def read_until(stream, text):
    """Lines of a running process's stream up to the one containing `text` (a real wait)."""
    lines = []
    for line in stream:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never came: {''.join(lines)}")


@pytest.fixture
def gated(tmp_path, database_url, migrations_copy):
    """A database at head, and a running `db upgrade` that holds the migration lock (and, on
    SQLite, its write lock) inside migration gate0001 until `release()`."""
    conf = write_conf(tmp_path / "dev.conf", database_url)
    assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
    add_migration(migrations_copy, "gate0001", GATED)
    marker, go = tmp_path / "in-migration", tmp_path / "go"
    run = start(migrations_copy, conf, "upgrade", env={"MIGRATION_MARKER": str(marker), "MIGRATION_GO": str(go)})
    wait_for(marker.exists, run, "the gated migration never started")

    def release():
        go.touch()
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        return out

    yield migrations_copy, release
    if run.poll() is None:
        go.touch()
        run.communicate(timeout=120)


def test_a_second_upgrade_waits_for_the_lock_on_a_non_disposable_config(gated, tmp_path, database_url):
    """Point 2 (and the SQLite lock file taken shared, or not at all): the second run plans under
    the lock, so it waits for it and times out with the MIGRATION_WAIT_TIMEOUT message, not with
    SQLite's `database is locked`."""
    migrations, release = gated
    prod = write_conf(tmp_path / "prod.conf", database_url, disposable=False,
                      extra=f"MIGRATION_WAIT_TIMEOUT = 1\nMIGRATION_BACKUP_DIR = {str(tmp_path / 'b')!r}\n")
    second = upgrade(migrations, prod)
    assert second.returncode == 1, second.stderr
    assert "another migration run has held the database's migration lock for 1 s" in second.stderr
    assert "database is locked" not in second.stderr and "Traceback" not in second.stderr
    assert "upgrade   gate0001" in release()
    again = upgrade(migrations, prod)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    assert query(database_url, "SELECT COUNT(*) FROM role WHERE name = 'Gated'") == [(1,)]


def test_the_downgrade_guard_lists_what_it_reverts_when_an_upgrade_ran_meanwhile(
        gated, tmp_path, database_url):
    """Point 3 (and an explicit downgrade revision ignored when planning): the guard plans under
    the lock, after the upgrade it waited for, and lists each migration it then reverts."""
    migrations, release = gated
    from alembic.script import ScriptDirectory

    directory = ScriptDirectory(str(migrations))
    first = directory.get_revision("gate0001").down_revision  # the head the database was reset to
    target = directory.get_revision(first).down_revision
    prod = write_conf(tmp_path / "prod.conf", database_url, disposable=False,
                      extra="MIGRATION_BACKUPS = False\n")
    down = start(migrations, prod, "downgrade", "--yes", target or "base")
    read_until(down.stderr, "waiting for the migration lock")  # it waits, having listed nothing
    held = 4  # seconds the upgrade keeps the lock after the downgrade began waiting
    time.sleep(held)
    release()
    out, err = down.communicate(timeout=120)
    assert down.returncode == 0, err
    # Each migration's time is its own: the wait for the lock is not in the first one's.
    times = [int(line.rsplit("(", 1)[1].split()[0]) for line in out.splitlines() if line.startswith("  downgrade ")]
    assert len(times) == 2 and all(ms < held * 1000 for ms in times), out
    guard = out.split("will revert, in this order:\n", 1)[1].split("  downgrade ", 1)[0]
    listed = [line.split()[0] for line in guard.splitlines() if not line.startswith("      ")]
    reverted = [line.split()[1] for line in out.splitlines() if line.startswith("  downgrade ")]
    assert listed == ["gate0001", first] == reverted, out
    assert version(database_url) == ([(target,)] if target else [])


def test_db_reset_waits_for_the_migration_lock(tmp_path, database_url, migrations_copy):
    """Point 4: `db reset` takes the migration lock; with it held elsewhere it times out and
    throws nothing away."""
    conf = write_conf(tmp_path / "dev.conf", database_url, extra="MIGRATION_WAIT_TIMEOUT = 1\n")
    assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
    before = snapshot(database_url)
    release = hold_migration_lock(database_url, tmp_path)
    try:
        result = manage("db", "-d", str(migrations_copy), "reset", settings=conf)
    finally:
        release()
    assert result.returncode == 1, result.stdout
    assert "another migration run has held the database's migration lock for 1 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(database_url) == before


def test_db_status_and_check_read_beside_an_app_writer_on_sqlite(tmp_path, sqlite_url, migrations_copy):
    """Point 2: read-only commands take no write lock, so an app's open write transaction does
    not make them fail with `database is locked`."""
    conf = write_conf(tmp_path / "prod.conf", sqlite_url, disposable=False)
    # A migration of its own, so the database has its version table also in a project
    # without migrations (a bare scaffold).
    add_migration(migrations_copy, "read0001", "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
    assert manage("db", "-d", str(migrations_copy), "upgrade", settings=conf).returncode == 0
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the write lock an app's write transaction holds
        for command in ("status", "check", "current"):
            result = manage("db", "-d", str(migrations_copy), command, settings=conf)
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            assert "database is locked" not in result.stderr
    finally:
        writer.rollback()
        writer.close()


def test_a_lock_file_that_cannot_be_created_is_one_line(tmp_path, migrations_copy):
    """A project folder the SQLite lock file cannot be created in: one line naming the file."""
    from .test_bad_input import assert_one_line_error

    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "test.db.migrate-lock").mkdir()  # as unwritable as a read-only folder, also for root
    conf = write_conf(tmp_path / "dev.conf", f"sqlite:///{folder / 'test.db'}")
    assert_one_line_error(upgrade(migrations_copy, conf),
                          f"cannot open the SQLite file {folder / 'test.db'}", "folder exist and is it writable",
                          f"the migration lock file {folder / 'test.db.migrate-lock'} cannot be created")
    if os.getuid() != 0:  # a really read-only folder (root writes anyway)
        os.rmdir(folder / "test.db.migrate-lock")
        folder.chmod(0o555)
        try:
            assert_one_line_error(upgrade(migrations_copy, conf), "migration lock file", "cannot be created")
        finally:
            folder.chmod(0o755)


def mysql_processes(url, like):
    return query(url, "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                      f" WHERE INFO LIKE '{like}%%'")[0][0]


def test_mariadb_killed_before_its_version_update_is_refused_next_time(request, tmp_path, migrations_copy):
    """Point 1: the journal says ok only with alembic_version. Held alembic_version, killed while
    its UPDATE waits: the DDL stands, the version is the old one, and the next upgrade refuses
    and names the revision instead of running the migration again."""
    from .conftest import new_database, use_backend

    use_backend(request, "mysql")
    url, cleanup = new_database("mysql", tmp_path)
    try:
        conf = write_conf(tmp_path / "dev.conf", url)
        assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
        head = version(url)
        add_migration(migrations_copy, "nick0001", ADD_NICKNAME)
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as holder:
            holder.exec_driver_sql("SELECT * FROM alembic_version FOR UPDATE")
            run = start(migrations_copy, conf, "upgrade")
            wait_for(lambda: mysql_processes(url, "UPDATE alembic_version"), run,
                     "the version UPDATE never waited")
            run.send_signal(signal.SIGKILL)
            run.communicate(timeout=30)
            holder.rollback()
        engine.dispose()
        assert "nickname" in snapshot(url)[0]["user"]["columns"] and version(url) == head
        assert ("nick0001", "upgrade", "ok") not in journal_rows(url)
        refused = upgrade(migrations_copy, conf)
        assert refused.returncode == 1, refused.stdout
        assert "nick0001" in refused.stderr and "did not finish" in refused.stderr
        assert "Duplicate column" not in refused.stderr
        status = manage("db", "-d", str(migrations_copy), "status", settings=conf)
        assert status.returncode == 1 and "blocked: the next upgrade is refused" in status.stdout
    finally:
        cleanup()


def test_mariadb_lock_wait_timeout_on_the_first_statement_applies_nothing_and_blocks_nothing(
        request, tmp_path, migrations_copy):
    """Point 6: a migration that timed out waiting for its first statement's lock applied
    nothing: journaled rolled back, and the next upgrade runs without `db repair`."""
    from .conftest import new_database, use_backend

    use_backend(request, "mysql")
    url, cleanup = new_database("mysql", tmp_path)
    try:
        conf = write_conf(tmp_path / "dev.conf", url, extra="MIGRATION_LOCK_TIMEOUT = 1\n")
        assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
        add_migration(migrations_copy, "nick0001", ADD_NICKNAME)
        timed_out, _ = upgrade_beside_a_reader_of_user(url, migrations_copy, conf)
        assert timed_out.returncode == 1 and "lock" in timed_out.stderr.lower(), timed_out.stderr
        assert [r for r in journal_rows(url) if r[0] == "nick0001"] == [("nick0001", "upgrade", "rolled_back")]
        assert "may be applied" not in timed_out.stderr and "db repair" not in timed_out.stderr
        again = upgrade(migrations_copy, conf)
        assert again.returncode == 0, again.stderr
        assert version(url) == [("nick0001",)]
    finally:
        cleanup()


# 60 calls, on a table of its own (a scaffolded app has none of the example domain's).
MANY_STATEMENTS = "def upgrade():\n    op.execute(\"CREATE TABLE many (name VARCHAR(20), note VARCHAR(80))\")\n" + "".join(
    f"    op.execute(\"INSERT INTO many (name, note) VALUES ('r{i}', '{'x' * 60}')\")\n"
    for i in range(59)) + "\n\ndef downgrade():\n    op.execute(\"DROP TABLE many\")\n"


def test_status_and_upgrade_say_an_interrupted_migration_blocks_the_next_upgrade(
        tmp_path, database_url, migrations_copy):
    """An interrupted migration (a 'running' row, as a killed MariaDB run leaves): `db status`
    says it blocks the next upgrade; the message is short and its repair hint runs as printed."""
    conf = write_conf(tmp_path / "prod.conf", database_url)
    assert upgrade(migrations_copy, conf).returncode == 0
    add_migration(migrations_copy, "many0001", MANY_STATEMENTS)
    query(database_url, "INSERT INTO migration_journal (revision, direction, status, started_at, who)"
                        " VALUES ('many0001', 'upgrade', 'running', '2024-01-02 03:04:05', 'x@y')",
          autocommit=True)
    status = manage("db", "-d", str(migrations_copy), "status", settings=conf)
    assert status.returncode == 1
    (blocked,) = [line for line in status.stdout.splitlines() if line.startswith("blocked:")]
    refused = upgrade(migrations_copy, conf)
    assert refused.returncode == 1
    (error,) = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
    hint = f"SETTINGS={conf} bin/manage.py db repair many0001"
    for message in (blocked, error):
        assert "many0001" in message and "did not finish" in message and message.endswith(hint)
        assert "and 55 more" in message and len(message) < 1200, len(message)
    # The hint, run exactly as printed, from the project folder, by a shell whose python3 is
    # not the project's (bin/manage.py then runs itself under .venv's Python).
    assert (ROOT / ".venv/bin/python").exists()
    shell_env = {**os.environ, "PATH": "/usr/bin:/bin"}
    shell_env.pop("SETTINGS", None)
    repaired = subprocess.run(hint, shell=True, cwd=ROOT, env=shell_env, capture_output=True,
                              text=True, timeout=120)
    assert repaired.returncode == 0 and "marked many0001 as resolved" in repaired.stdout, repaired.stderr
    assert upgrade(migrations_copy, conf).returncode == 0


HALF_DONE = """def upgrade():
    op.execute("CREATE TABLE half (n INT)")
    op.execute("INSERT INTO half VALUES (1)")
    op.execute("THIS IS NOT SQL")
    op.execute("DROP TABLE half")


def downgrade():
    op.execute("DROP TABLE half")
"""


def test_mariadb_a_migration_failed_half_way_names_the_statement_and_those_before_it(
        request, tmp_path, migrations_copy):
    """The interrupted-migration message after a failure on MariaDB names the statement that
    failed and the calls that ran before it (they may be applied), not the calls after it."""
    from .conftest import new_database, use_backend

    use_backend(request, "mysql")
    url, cleanup = new_database("mysql", tmp_path)
    try:
        conf = write_conf(tmp_path / "dev.conf", url)
        assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
        path = add_migration(migrations_copy, "half0001", HALF_DONE)
        failing = path.read_text().splitlines().index('    op.execute("THIS IS NOT SQL")') + 1
        failed = upgrade(migrations_copy, conf)
        assert failed.returncode == 1 and f"{path.name}:{failing}" in failed.stderr, failed.stderr
        assert [r for r in journal_rows(url) if r[0] == "half0001"] == [("half0001", "upgrade", "failed")]
        refused = upgrade(migrations_copy, conf)
        assert refused.returncode == 1
        (error,) = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
        assert f"failed at line {failing} (op.execute('THIS IS NOT SQL'): " in error, error
        assert "1064" in error and "after 2 statement(s) ran" in error, error
        assert ("(before it: op.execute('CREATE TABLE half (n INT)');"
                " op.execute('INSERT INTO half VALUES (1)'))") in error, error
        assert "DROP TABLE half" not in error and "bin/manage.py db repair half0001" in error
    finally:
        cleanup()
