"""safe.backfill: every row once, where respected, resumable after a failure, on every backend."""
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from flask_safemigrate.migrate_tools import backfill
from flask_safemigrate.migrate_tools.connection import temporary_engine

from .conftest import ROOT, add_migration, manage, query, write_conf
from .test_lint import _rules, lint

ROWS, BATCH, POISONED = 1000, 100, 550

# An item table of ROWS rows. A CHECK lets the backfill's `counter = counter + 1` fail on the
# poisoned row only, so a run stops mid-way; a counter above 1 is a row done twice.
ITEMS = '''def upgrade():
    item = op.create_table(
        "item", {key},
        sa.Column("counter", sa.Integer, nullable=False),
        sa.Column("flag", sa.Integer, nullable=False),
        sa.Column("poison", sa.Integer, nullable=False),
        sa.CheckConstraint("poison = 0 OR counter = 0", name="poison"))
    op.bulk_insert(item, [dict({row}, counter=0, flag=int(i % 3 == 0), poison=int(i == {poisoned}))
                          for i in range(1, {rows} + 1)])


def downgrade():
    op.drop_table("item")
'''
KEYS = {
    "integer": ('sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)', "id=i"),
    # a composite key led by a string: keyset pagination over the tuple
    "composite": ('sa.Column("code", sa.String(20), primary_key=True), '
                  'sa.Column("n", sa.Integer, primary_key=True, autoincrement=False)',
                  'code=f"k{i % 7}", n=i'),
}
BACKFILL = '''from flask_safemigrate.migrate_tools import safe


def upgrade():
    {before}safe.backfill("item", {values}, {arguments})


def downgrade():
    pass
'''


@pytest.fixture
def items(tmp_path, database_url, migrations_copy):
    """(migrations, conf, add): `add(revision, upgrade body...)` appends a migration."""
    conf = write_conf(tmp_path / "backfill.conf", database_url)
    heads = []

    def add(revision, body):
        add_migration(migrations_copy, revision, body, down=heads[-1] if heads else None)
        heads.append(revision)

    def add_items(key="integer", poisoned=0):
        column, row = KEYS[key]
        add("11110001", ITEMS.format(key=column, row=row, poisoned=poisoned, rows=ROWS))

    return migrations_copy, conf, add, add_items


def upgrade(migrations, conf):
    return manage("db", "-d", str(migrations), "upgrade", settings=conf)


def counters(url):
    return sorted(count for (count,) in query(url, "SELECT counter FROM item"))


def progress(url):
    return query(url, "SELECT table_name, status, rows_done, last_key FROM migration_backfill ORDER BY id")


FORMS = {  # values and where, as SQL text or as SQLAlchemy expressions
    "text": ('{"counter": sa.text("counter + 1"), "note": "done"}', '"flag = 1"'),
    # a column of another Table object named "item" is the reflected table's: no self-join
    "expression": ('{"counter": sa.table("item", sa.column("counter")).c.counter + 1,'
                   ' "note": sa.literal("done")}', 'sa.column("flag") == 1'),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_every_row_once_where_respected_with_progress_lines(items, database_url, form):
    migrations, conf, add, add_items = items
    add_items()
    add("11110002", 'def upgrade():\n    op.add_column("item", sa.Column("note", sa.String(20)))\n\n\n'
                    'def downgrade():\n    op.drop_column("item", "note")\n')
    values, where = FORMS[form]
    add("11110003", BACKFILL.format(before="", values=values, arguments=f"where={where}, batch_size={BATCH}"))
    result = upgrade(migrations, conf)
    assert result.returncode == 0, result.stderr

    rows = query(database_url, "SELECT id, counter, note FROM item ORDER BY id")
    assert [r for r in rows if r[0] % 3 == 0] == [(i, 1, "done") for i in range(3, ROWS + 1, 3)]
    assert [r for r in rows if r[0] % 3] == [(i, 0, None) for i in range(1, ROWS + 1) if i % 3]
    assert progress(database_url) == [("item", "done", ROWS // 3, json.dumps([999]))]
    lines = [x for x in result.stderr.splitlines() if "backfill item" in x]
    assert lines[-1].startswith(f"  backfill item: {ROWS // 3:,} rows done in ")
    assert 2 <= len(lines) <= 11 and "\r" not in result.stderr  # no terminal: a line per tenth


@pytest.mark.parametrize("key", list(KEYS))
def test_a_failure_mid_way_then_the_rerun_resumes_and_does_no_row_twice(items, database_url, backend, key):
    migrations, conf, add, add_items = items
    add_items(key, poisoned=POISONED)
    add("11110002", BACKFILL.format(before="", values='{"counter": sa.text("counter + 1")}',
                                    arguments=f"batch_size={BATCH}"))
    failed = upgrade(migrations, conf)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "11110002" in failed.stderr and "safe.backfill(" in failed.stderr
    done = counters(database_url).count(1)
    assert set(counters(database_url)) <= {0, 1}
    if backend == "sqlite":
        assert done == 0  # one transaction: all rolled back, the record too
    else:
        assert BATCH <= done < ROWS and done % BATCH == 0  # whole batches, each committed
        [(_, status, rows_done, last_key)] = progress(database_url)
        assert (status, rows_done) == ("running", done)
        shown = manage("db", "-d", str(migrations), "journal", settings=conf)
        assert shown.returncode == 0, shown.stderr
        assert f"backfill  item          {done:,} rows done, stopped after a committed batch," \
               f" resumes after key {last_key}" in shown.stdout, shown.stdout
        if key == "integer":
            assert done == POISONED // BATCH * BATCH and json.loads(last_key) == [done]
    if backend == "mysql":  # MySQL's journal blocks a failed migration until it is repaired
        refused = upgrade(migrations, conf)
        assert refused.returncode == 1 and "db repair 11110002" in refused.stderr
        assert manage("db", "-d", str(migrations), "repair", "11110002", settings=conf).returncode == 0

    query(database_url, "UPDATE item SET poison = 0", autocommit=True)
    rerun = upgrade(migrations, conf)
    assert rerun.returncode == 0, rerun.stderr
    assert counters(database_url) == [1] * ROWS  # every row, none twice
    if done:
        assert f"backfill item: resuming after {done:,} rows done" in rerun.stderr
    assert [row[:3] for row in progress(database_url)] == [("item", "done", ROWS)]
    shown = manage("db", "-d", str(migrations), "journal", settings=conf).stdout
    assert f"backfill  item          {ROWS:,} rows done, done (last batch " in shown, shown


@pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)
def test_a_killed_backfill_resumes_after_its_last_committed_batch(items, database_url, backend):
    """SIGKILL while a batch waits on a row the test holds: the batches before it stay done."""
    migrations, conf, add, add_items = items
    add_items()
    assert upgrade(migrations, conf).returncode == 0
    add("11110002", BACKFILL.format(before="", values='{"counter": sa.text("counter + 1")}',
                                    arguments=f"batch_size={BATCH}"))
    before_held = POISONED // BATCH * BATCH
    holder = create_engine(database_url, poolclass=NullPool)
    with holder.connect() as held:
        held.execute(text(f"SELECT id FROM item WHERE id = {POISONED} FOR UPDATE")).all()
        run = subprocess.Popen([sys.executable, str(ROOT / "bin/manage.py"), "db", "-d", str(migrations),
                                "upgrade"], env={**os.environ, "SETTINGS": str(conf)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while rows_done(database_url) != before_held:
                assert run.poll() is None and time.monotonic() < deadline, "the backfill never got there"
                time.sleep(0.05)
        finally:
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=30)
            held.rollback()
    holder.dispose()
    assert counters(database_url).count(1) == before_held
    if backend == "mysql":  # its journal row says 'running': a person decides
        assert manage("db", "-d", str(migrations), "repair", "11110002", settings=conf).returncode == 0
    rerun = upgrade(migrations, conf)
    assert rerun.returncode == 0, rerun.stderr
    assert counters(database_url) == [1] * ROWS
    assert f"resuming after {before_held:,} rows done" in rerun.stderr


def rows_done(url):
    """The progress row's count so far (None before the backfill has begun)."""
    with temporary_engine(url) as engine:
        with engine.connect() as connection:
            if not inspect(connection).has_table("migration_backfill"):
                return None
            return connection.execute(text("SELECT rows_done FROM migration_backfill")).scalar()


def test_a_failure_after_the_backfill_in_its_migration_keeps_it_done(items, database_url):
    migrations, conf, add, add_items = items
    add_items()
    body = BACKFILL.format(before="", values='{"counter": sa.text("counter + 1")}', arguments="")
    add("11110002", body.replace("\n\n\ndef downgrade", "\n    raise RuntimeError('after')\n\n\ndef downgrade"))
    failed = upgrade(migrations, conf)
    assert failed.returncode == 1 and "RuntimeError: after" in failed.stderr
    if backend_of(database_url) == "mysql":
        assert manage("db", "-d", str(migrations), "repair", "11110002", settings=conf).returncode == 0
    path = migrations / "versions" / "11110002_test.py"
    path.write_text(path.read_text().replace("    raise RuntimeError('after')\n", ""))
    assert upgrade(migrations, conf).returncode == 0
    # servers: the batches were committed and the rerun finds nothing left; SQLite: all redone
    assert counters(database_url) == [1] * ROWS


def backend_of(url):
    return "sqlite" if url.startswith("sqlite") else "postgresql" if url.startswith("postgresql") else "mysql"


BAD = [
    ('{"nope": 1}', "", "table 'item' has no column 'nope'"),
    ('{"id": 1}', "", "it pages by the primary key, so it cannot change item.id"),
    ('{"counter": 1}', "batch_size=0", "batch_size must be a positive integer, not 0"),
    ('{}', "", "values must be a dict"),
    ('{"counter": 1}', "where=3", "where must be SQL text or a SQLAlchemy expression, not int"),
]


@pytest.mark.parametrize("values, arguments, message", BAD, ids=[b[2][:20] for b in BAD])
def test_bad_arguments_are_one_line_errors_and_change_nothing(items, database_url, values, arguments,
                                                            message):
    migrations, conf, add, add_items = items
    add_items()
    add("11110002", BACKFILL.format(before="", values=values, arguments=arguments))
    result = upgrade(migrations, conf)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    error = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert len(error) == 1 and message in error[0], result.stderr
    assert counters(database_url) == [0] * ROWS


NO_KEY = '''def upgrade():
    op.execute("CREATE TABLE loose (n INTEGER)")
    op.execute("INSERT INTO loose (n) VALUES (1)")


def downgrade():
    op.execute("DROP TABLE loose")
'''


def test_a_table_without_primary_key_is_refused(items, database_url):
    migrations, conf, add, _ = items
    add("11110001", NO_KEY)
    add("11110002", BACKFILL.format(before="", values='{"n": 2}', arguments="").replace('"item"', '"loose"'))
    result = upgrade(migrations, conf)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "table 'loose' has no primary key to batch by" in result.stderr
    assert query(database_url, "SELECT n FROM loose") == [(1,)]


def test_a_backfill_after_a_schema_change_in_its_migration(items, database_url, backend):
    """PostgreSQL refuses it (the change would be committed early); elsewhere it runs."""
    migrations, conf, add, add_items = items
    add_items()
    add("11110002", BACKFILL.format(before='op.add_column("item", sa.Column("note", sa.String(20)))\n    ',
                                    values='{"note": "new"}', arguments=""))
    result = upgrade(migrations, conf)
    if backend == "postgresql":
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "must come before any other change in its migration" in result.stderr
        assert "note" not in [c for (c,) in query(
            database_url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'item'")]
    else:
        assert result.returncode == 0, result.stderr
        assert query(database_url, "SELECT DISTINCT note FROM item") == [("new",)]


def test_a_backfill_leaves_nothing_for_db_check(items, database_url):
    """The progress table is ours: autogenerate and db check leave it alone."""
    migrations, conf, add, add_items = items
    add_items()
    add("11110002", BACKFILL.format(before="", values='{"counter": 1}', arguments=""))
    add("11110003", 'def upgrade():\n    op.drop_table("item")\n\n\ndef downgrade():\n    pass\n')
    assert upgrade(migrations, conf).returncode == 0
    assert progress(database_url)[0][:2] == ("item", "done")
    result = manage("db", "-d", str(migrations), "check", settings=conf)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_dry_run_changes_nothing(items, database_url, backend):
    """Its batches run in the dry run's one transaction, rolled back (MySQL refuses dry runs)."""
    migrations, conf, add, add_items = items
    add_items()
    assert upgrade(migrations, conf).returncode == 0
    add("11110002", BACKFILL.format(before="", values='{"counter": 5}', arguments=f"batch_size={BATCH}"))
    result = manage("db", "-d", str(migrations), "upgrade", "--dry-run", settings=conf)
    assert result.returncode == (1 if backend == "mysql" else 0), result.stderr
    assert counters(database_url) == [0] * ROWS
    assert query(database_url, "SELECT version_num FROM alembic_version") == [("11110001",)]


def test_offline_sql(items, backend):
    """--sql on a server: the whole UPDATE, for review; on SQLite (its preview runs the
    migrations on a scratch copy) the batches that would run."""
    migrations, conf, add, add_items = items
    add_items()
    add("11110002", BACKFILL.format(before="", values='{"counter": 7}',
                                    arguments='where="flag = 1", batch_size=200'))
    result = manage("db", "-d", str(migrations), "upgrade", "--sql", settings=conf)
    assert result.returncode == 0, result.stderr
    updates = [x for x in result.stdout.splitlines() if x.startswith("UPDATE item")]
    if backend == "sqlite":
        assert len(updates) == 2 and all("flag = 1" in x and "item.id <= " in x for x in updates)
    else:
        assert updates == ["UPDATE item SET counter=7 WHERE flag = 1;"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_redraws_one_line_on_a_terminal(monkeypatch):
    monkeypatch.setattr(backfill.Progress, "REDRAW", 0)
    out = Terminal()
    shown = backfill.Progress("big", 0, 1000, out)
    for done in (100, 200, 1000):
        shown.update(done)
    shown.finish(1000)
    text = out.getvalue()
    assert text.count("\r") == 4 and text.count("\n") == 1 and text.endswith("\x1b[K\n")
    assert "  backfill big: 200 / 1,000 rows (20%), " in text and " rows/s, " in text and " left" in text
    assert "  backfill big: 1,000 rows done in " in text


def test_progress_without_a_terminal_is_a_line_per_tenth():
    out = io.StringIO()
    shown = backfill.Progress("big", 500, 1000, out)  # resumed half-way
    for done in range(510, 1001, 10):
        shown.update(done)
    shown.finish(1000)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  backfill big: resuming after 500 rows done"
    assert [x.split(" rows (")[1].split("%")[0] for x in lines[1:-1]] == ["60", "70", "80", "90", "100"]
    assert lines[-1].startswith("  backfill big: 1,000 rows done in ")


# db lint's unbatched-update: one UPDATE over a whole existing table
UNBATCHED = [
    'op.execute("UPDATE item SET counter = 0")',
    'op.execute(sa.text("update item set counter = counter + 1 -- where is it?"))',
    'op.execute("UPDATE item SET counter = 0 WHERE id = 1; UPDATE item SET flag = 1")',
    'op.execute(f"UPDATE {\'item\'} SET counter = 0")',
    'op.execute(sa.update(sa.table("item", sa.column("counter"))).values(counter=0))',
    'op.get_bind().execute(sa.table("item", sa.column("counter")).update().values(counter=0))',
]
BATCHED_OR_BOUNDED = [
    'safe.backfill("item", {"counter": 0})',
    'op.execute("UPDATE item SET counter = 0 WHERE flag = 1")',
    'op.execute("UPDATE item SET note = \'no where here\' WHERE id = 1")',
    'op.execute(sa.update(sa.table("item", sa.column("c"))).where(sa.column("id") == 1).values(c=0))',
    'op.execute(sa.table("item", sa.column("c")).update().values(c=0).where(sa.text("id = 1")))',
    'op.create_table("fresh", sa.Column("id", sa.Integer, primary_key=True))\n'
    '    op.execute("UPDATE fresh SET id = 1")',
    'values = {}\n    values.update(counter=0)',
]


@pytest.mark.parametrize("body", UNBATCHED)
def test_lint_flags_a_whole_table_update(tmp_path, migrations_copy, body):
    for n, backend in enumerate(("sqlite", "postgresql", "mysql")):
        result = lint(tmp_path, migrations_copy, backend, body, f"e{n:07d}")
        assert result.exit_code == 1 and "unbatched-update" in _rules(result.stdout), result.stdout
        assert "safe.backfill(" in result.stdout


@pytest.mark.parametrize("body", BATCHED_OR_BOUNDED)
def test_lint_leaves_batched_or_bounded_updates_alone(tmp_path, migrations_copy, body):
    result = lint(tmp_path, migrations_copy, "postgresql", body, "f0000001")
    assert "unbatched-update" not in _rules(result.stdout), result.stdout


def test_lint_unbatched_update_can_be_acknowledged(tmp_path, migrations_copy):
    body = 'op.execute("UPDATE item SET counter = 0")  # lint: unbatched-update (ten rows)'
    result = lint(tmp_path, migrations_copy, "postgresql", body, "f0000002")
    assert result.exit_code == 0 and "(acknowledged)" in result.stdout
