"""Safe production upgrades: atomic, locked, journaled, checksummed, on every backend."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from flask_safemigrate.migrate_tools.locks import mysql_lock_name

from .conftest import ROOT, add_migration, manage, query, snapshot, write_conf


GOOD = '''def upgrade():
    op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("note", sa.String(50)))
    op.execute("INSERT INTO extra (id, note) VALUES (1, 'from the migration')")


def downgrade():
    op.drop_table("extra")
'''

FAILING = '''def upgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(sa.Column("nickname", sa.String(50)))
        batch_op.drop_column("confirmed_at")
    op.execute("UPDATE extra SET note = 'changed'")
    raise RuntimeError("boom halfway")


def downgrade():
    pass
'''


def upgrade(migrations, conf, *args, env=None):
    return manage("db", "-d", str(migrations), "upgrade", *args, settings=conf, env=env)


@pytest.fixture
def db(tmp_path, database_url, migrations_copy):
    """(migrations folder, conf) for a database at head with the starter rows."""
    conf = write_conf(tmp_path / "safe.conf", database_url)
    result = manage("db", "-d", str(migrations_copy), "reset", settings=conf)
    assert result.returncode == 0, result.stderr
    return migrations_copy, conf


def version(url):
    return snapshot(url)[2]


def journal_rows(url):
    return query(url, "SELECT revision, direction, status FROM migration_journal ORDER BY id")


def test_a_failing_migration_changes_nothing_and_earlier_ones_stay(db, database_url, backend):
    migrations, conf = db
    add_migration(migrations, "aaaa0001", GOOD)
    add_migration(migrations, "aaaa0002", FAILING, down="aaaa0001")
    head_before = version(database_url)

    result = upgrade(migrations, conf)
    assert result.returncode == 1 and "boom halfway" in result.stderr
    assert "Traceback" not in result.stderr
    schema, data, current = snapshot(database_url)
    assert current == [("aaaa0001",)]  # the first one, in its own transaction, stays applied
    assert data["extra"] == {(1,): {"id": 1, "note": "from the migration"}}
    assert len(data["user"]) == 2
    status = "failed" if backend == "mysql" else "rolled_back"
    assert ("aaaa0002", "upgrade", status) in journal_rows(database_url)

    if backend == "mysql":
        # MySQL/MariaDB cannot roll DDL back: the half-done migration blocks the next run.
        refused = upgrade(migrations, conf)
        assert refused.returncode == 1
        assert "aaaa0002" in refused.stderr and "db repair aaaa0002" in refused.stderr
        assert "cannot roll DDL back" in refused.stderr
        assert "user: batch_op.drop_column('confirmed_at')" in refused.stderr  # what it may have done
        # The user repairs the schema by hand, fixes the migration, and marks it resolved.
        columns = schema["user"]["columns"]
        if "nickname" in columns:
            query(database_url, "ALTER TABLE user DROP COLUMN nickname", autocommit=True)
        if "confirmed_at" not in columns:
            query(database_url, "ALTER TABLE user ADD COLUMN confirmed_at DATETIME", autocommit=True)
        assert manage("db", "-d", str(migrations), "repair", "aaaa0002", settings=conf).returncode == 0
    else:
        assert "nickname" not in schema["user"]["columns"]
        assert "confirmed_at" in schema["user"]["columns"]
        assert not [t for t in schema if t.startswith("_alembic_tmp")]
        assert current != head_before

    fixed = migrations / "versions" / "aaaa0002_test.py"
    fixed.write_text(fixed.read_text().replace('    raise RuntimeError("boom halfway")\n', ""))
    again = upgrade(migrations, conf)
    assert again.returncode == 0, again.stderr
    assert version(database_url) == [("aaaa0002",)]
    assert snapshot(database_url)[1]["extra"][(1,)]["note"] == "changed"


SLOW = '''def upgrade():
    time.sleep(float(os.environ.get("MIGRATION_SLEEP", "0")))
    op.execute("INSERT INTO role (name, description) VALUES ('Once', 'exactly once')")


def downgrade():
    op.execute("DELETE FROM role WHERE name = 'Once'")
'''


def test_two_upgrades_at_once_apply_each_migration_once(db, database_url):
    migrations, conf = db
    add_migration(migrations, "bbbb0001", SLOW)
    command = [sys.executable, str(ROOT / "bin/manage.py"), "db", "-d", str(migrations), "upgrade"]
    env = {**os.environ, "SETTINGS": str(conf), "MIGRATION_SLEEP": "1.5"}
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    stdout = "".join(out for out, _ in outputs)
    assert stdout.count("upgrade   bbbb0001") == 1 and stdout.count("nothing to do") == 1
    assert query(database_url, "SELECT COUNT(*) FROM role WHERE name = 'Once'") == [(1,)]
    assert [r for r in journal_rows(database_url) if r[0] == "bbbb0001"] == [
        ("bbbb0001", "upgrade", "ok")]


HANG = '''def upgrade():
    op.create_table("half", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO role (name, description) VALUES ('Half', 'maybe')")
    marker = os.environ.get("MIGRATION_MARKER")
    if marker:
        open(marker, "w").close()
        time.sleep(120)


def downgrade():
    op.drop_table("half")
'''


def test_sigkill_mid_migration_then_the_rerun_succeeds(db, database_url, backend, tmp_path):
    migrations, conf = db
    add_migration(migrations, "cccc0001", HANG)
    before = snapshot(database_url)
    marker = tmp_path / "in-migration"
    env = {**os.environ, "SETTINGS": str(conf), "MIGRATION_MARKER": str(marker)}
    run = subprocess.Popen([sys.executable, str(ROOT / "bin/manage.py"), "db", "-d", str(migrations),
                            "upgrade"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert run.poll() is None and time.monotonic() < deadline, "the migration never started"
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)

    if backend == "mysql":
        refused = upgrade(migrations, conf)
        assert refused.returncode == 1 and "did not finish" in refused.stderr
        query(database_url, "DROP TABLE IF EXISTS half", autocommit=True)
        query(database_url, "DELETE FROM role WHERE name = 'Half'", autocommit=True)
        assert manage("db", "-d", str(migrations), "repair", "cccc0001", settings=conf).returncode == 0
    else:
        assert snapshot(database_url) == before  # nothing of the killed migration is left
    rerun = upgrade(migrations, conf, env={"MIGRATION_MARKER": ""})
    assert rerun.returncode == 0, rerun.stderr
    _, data, current = snapshot(database_url)
    assert current == [("cccc0001",)]
    assert len(data["user"]) == 2 and [r for r in data["role"].values() if r["name"] == "Half"]


DATA = '''def upgrade():
    op.execute("INSERT INTO role (name, description) VALUES ('Data', 'from the migration')")


def downgrade():
    op.execute("DELETE FROM role WHERE name = 'Data'")
'''


def test_an_edited_applied_migration_stops_upgrade_and_check(db, database_url):
    migrations, conf = db
    path = add_migration(migrations, "dddd0001", DATA)
    assert upgrade(migrations, conf).returncode == 0

    # Line endings and trailing whitespace do not count.
    path.write_bytes(path.read_bytes().replace(b"\n", b"  \r\n") + b"\r\n\r\n")
    assert upgrade(migrations, conf).returncode == 0

    path.write_text(path.read_text().replace("from the migration", "edited later"))
    for command in ("upgrade", "check"):
        result = manage("db", "-d", str(migrations), command, settings=conf)
        assert result.returncode == 1, command
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and str(path) in errors[0], result.stderr
        assert "db accept dddd0001" in errors[0]

    assert manage("db", "-d", str(migrations), "accept", "dddd0001", settings=conf).returncode == 0
    assert upgrade(migrations, conf).returncode == 0
    assert manage("db", "-d", str(migrations), "check", settings=conf).returncode == 0


def test_migrations_applied_before_the_journal_get_a_baseline_checksum(tmp_path, database_url,
                                                                       migrations_copy):
    """A database migrated before the journal existed has no checksums: the next run records
    them (a baseline), so an applied file edited after that is refused like any other."""
    from .test_bad_input import assert_one_line_error

    conf = write_conf(tmp_path / "a.conf", database_url)
    path = add_migration(migrations_copy, "eeee0001", GOOD)
    assert upgrade(migrations_copy, conf).returncode == 0
    query(database_url, "DROP TABLE migration_journal", autocommit=True)

    assert upgrade(migrations_copy, conf).returncode == 0  # nothing to apply
    assert ("eeee0001", "baseline", "ok") in journal_rows(database_url)
    path.write_text(path.read_text().replace("from the migration", "edited later"))
    assert_one_line_error(upgrade(migrations_copy, conf), f"{path} was edited after it was applied",
                          "db accept eeee0001")


def hold_migration_lock(url, tmp_path):
    """Take the database's migration lock as another deploy host would; return a release."""
    engine = create_engine(url, poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        import fcntl

        handle = open(url.removeprefix("sqlite:///") + ".migrate-lock", "a")
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle.close
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        from flask_safemigrate.migrate_tools.locks import POSTGRES_KEY

        connection.exec_driver_sql(f"SELECT pg_advisory_lock({POSTGRES_KEY})")
    else:
        database = url.rsplit("/", 1)[1]
        connection.exec_driver_sql("SELECT GET_LOCK(%s, 5)", (mysql_lock_name(database),))
    return lambda: (connection.close(), engine.dispose())


def test_a_held_migration_lock_times_out_clearly(db, database_url, tmp_path):
    migrations, conf = db
    add_migration(migrations, "eeee0001", GOOD)
    conf.write_text(conf.read_text() + "MIGRATION_WAIT_TIMEOUT = 1\n")
    release = hold_migration_lock(database_url, tmp_path)
    try:
        started = time.monotonic()
        result = upgrade(migrations, conf)
        waited = time.monotonic() - started
    finally:
        release()
    assert result.returncode == 1, result.stderr
    assert "another migration run has held the database's migration lock for 1 s" in result.stderr
    assert "MIGRATION_WAIT_TIMEOUT" in result.stderr and waited < 30
    assert version(database_url) != [("eeee0001",)]
    assert upgrade(migrations, conf).returncode == 0  # once released, it runs


ALTER_USER = '''def upgrade():
    op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("user", sa.Column("nickname", sa.String(50)))


def downgrade():
    op.drop_column("user", "nickname")
    op.drop_table("extra")
'''


def upgrade_beside_a_reader_of_user(url, migrations, conf):
    """`db upgrade` while the app is mid-transaction on "user" (holding its table lock):
    (the result, seconds it took)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as app_connection:
            app_connection.exec_driver_sql('SELECT * FROM "user"' if engine.dialect.name == "postgresql"
                                           else "SELECT * FROM user")
            started = time.monotonic()
            result = upgrade(migrations, conf)
            waited = time.monotonic() - started
            app_connection.rollback()
    finally:
        engine.dispose()
    return result, waited


def test_a_busy_table_makes_the_migration_fail_fast(server, tmp_path, migrations_copy):
    """Lock timeouts on servers: the ALTER gives up instead of queueing the app behind it."""
    from .conftest import new_database

    url, cleanup = new_database(server, tmp_path)
    try:
        conf = write_conf(tmp_path / "busy.conf", url, extra="MIGRATION_LOCK_TIMEOUT = 1\n")
        assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
        add_migration(migrations_copy, "ffff0001", ALTER_USER)
        result, waited = upgrade_beside_a_reader_of_user(url, migrations_copy, conf)
        assert result.returncode == 1 and waited < 30, result.stderr
        assert "lock" in result.stderr.lower()
        schema, _, current = snapshot(url)
        if server == "postgresql":
            assert "extra" not in schema and current != [("ffff0001",)]  # nothing applied
        assert "nickname" not in schema["user"]["columns"]
    finally:
        cleanup()


def test_db_journal_lists_runs_newest_first(db, database_url):
    migrations, conf = db
    reset_head = ScriptDirectory(str(migrations)).get_current_head()
    add_migration(migrations, "gggg0001", GOOD)
    assert upgrade(migrations, conf).returncode == 0
    assert manage("db", "-d", str(migrations), "downgrade", settings=conf).returncode == 0
    out = manage("db", "-d", str(migrations), "journal", settings=conf).stdout.splitlines()
    assert "downgrade gggg0001" in out[0] and " ok " in out[0]
    assert "upgrade   gggg0001" in out[1] and "@" in out[1]
    assert any(f"load      {reset_head}" in line for line in out[2:])  # db reset loaded the snapshot


def test_dry_run_prints_timed_statements_and_changes_nothing(db, database_url, backend):
    migrations, conf = db
    add_migration(migrations, "hhhh0001", GOOD)
    before = snapshot(database_url)
    result = upgrade(migrations, conf, "--dry-run")
    if backend == "mysql":
        assert result.returncode == 1 and "--dry-run is refused on MySQL/MariaDB" in result.stderr
        assert "cannot be rolled back" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert re.search(r"^ +\d+\.\d ms  CREATE TABLE extra", result.stdout, re.M)
        assert re.search(r"^ +\d+\.\d ms  INSERT INTO extra", result.stdout, re.M)
        assert "rolled back; the database is unchanged" in result.stdout
    assert snapshot(database_url) == before


def test_sqlite_backup_before_migrating_a_non_disposable_database(tmp_path, sqlite_url, migrations_copy):
    backups = tmp_path / "backups"
    extra = f"MIGRATION_BACKUP_DIR = {str(backups)!r}\n"
    assert manage("db", "-d", str(migrations_copy), "upgrade",
                  settings=write_conf(tmp_path / "dev.conf", sqlite_url, extra=extra)).returncode == 0
    assert not backups.exists()  # disposable: no backup
    prod = write_conf(tmp_path / "prod.conf", sqlite_url, disposable=False, extra=extra)
    add_migration(migrations_copy, "iiii0001", GOOD)
    result = upgrade(migrations_copy, prod)
    assert result.returncode == 0, result.stderr
    copies = list(backups.glob("test-*-before-upgrade.db"))
    assert len(copies) == 1 and f"backup: {copies[0]}" in result.stdout
    assert query(f"sqlite:///{copies[0]}", "SELECT version_num FROM alembic_version") != [("iiii0001",)]
    assert "nothing to do" in upgrade(migrations_copy, prod).stdout
    assert len(list(backups.iterdir())) == 1  # nothing to run: no backup
    off = write_conf(tmp_path / "off.conf", sqlite_url, disposable=False,
                     extra=extra + "MIGRATION_BACKUPS = False\n")
    assert manage("db", "-d", str(migrations_copy), "downgrade", "--yes", settings=off).returncode == 0
    assert len(list(backups.iterdir())) == 1  # switched off
    down = manage("db", "-d", str(migrations_copy), "downgrade", "--yes", settings=prod)
    assert down.returncode == 0 and len(list(backups.glob("*-before-downgrade.db"))) == 1


DANGLING = '''def upgrade():
    op.execute("DELETE FROM role")


def downgrade():
    pass
'''


def test_sqlite_migration_that_leaves_a_dangling_foreign_key_is_rolled_back(tmp_path, sqlite_url,
                                                                            migrations_copy):
    conf = write_conf(tmp_path / "fk.conf", sqlite_url)
    assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
    before = snapshot(sqlite_url)
    add_migration(migrations_copy, "kkkk0001", DANGLING)
    result = upgrade(migrations_copy, conf)
    assert result.returncode == 1 and "foreign key check failed" in result.stderr
    assert "roles_users" in result.stderr and "rolled back" in result.stderr
    assert snapshot(sqlite_url) == before
