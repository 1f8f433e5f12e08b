"""Figure 3: a batch drop_column on a big SQLite table against the same rebuild written by hand,
and the migration process's peak memory at a tenth of the rows and at all of them."""
import re
import shutil
import sqlite3

from harness import FEWER, PY, ROWS, conf, interleaved, migrations_folder, ours, run, seconds

BIG1 = 'revision = "big1"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n'
DROP_C = '''"""drop c"""
from alembic import op

revision = "big2"
down_revision = "big1"


def upgrade():
    with op.batch_alter_table("big") as batch_op:
        batch_op.drop_column("c")


def downgrade():
    pass
'''
BY_HAND = """BEGIN;
CREATE TABLE big_new (id INTEGER NOT NULL PRIMARY KEY, a INTEGER, b VARCHAR(40));
INSERT INTO big_new (id, a, b) SELECT id, a, b FROM big;
DROP TABLE big;
ALTER TABLE big_new RENAME TO big;
UPDATE alembic_version SET version_num = 'big2';
COMMIT;
"""


def measure(work, results):
    folder = migrations_folder(work / "big_migrations")
    (folder / "versions" / "big1_table.py").write_text(BIG1)
    (folder / "versions" / "big2_drop_c.py").write_text(DROP_C)
    small = _run(work, folder, ROWS // 10, None)
    big = _run(work, folder, ROWS, results)
    results.note("3. peak memory of the migration process",
                 f"{small / 1024:.0f} MB at {ROWS // 10:,} rows, {big / 1024:.0f} MB at {ROWS:,} rows")


def _big_table(path, rows):
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE big (id INTEGER NOT NULL PRIMARY KEY, a INTEGER, "
                           "b VARCHAR(40), c VARCHAR(40))")
        connection.executemany("INSERT INTO big (a, b, c) VALUES (?, ?, ?)",
                               ((i, f"b{i}", f"c{i}") for i in range(rows)))
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('big1')")


def _reported_ms(command, env, before):
    """The last "(N ms)" the command prints: our per-migration timer, or the SQL's own time."""
    before()
    return float(re.findall(r"\((\d+) ms\)", run(command, env).stdout)[-1])


def _peak_kb(command, env):
    result = run(["/usr/bin/time", "-f", "%M", *map(str, command)], env)
    return int(result.stderr.strip().splitlines()[-1])


def _run(work, folder, rows, results):
    """The drop on `rows` rows: its peak memory, and (with `results`) its times recorded."""
    template, database = work / f"big{rows}.template.db", work / f"big{rows}.db"
    _big_table(template, rows)
    settings = conf(work / f"big{rows}.conf", f"sqlite:///{database}")
    command, env = ours(["upgrade"], settings, folder)
    script = work / "by_hand.sql"
    script.write_text(BY_HAND)
    by_hand = [PY, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
               " t = time.perf_counter(); c.executescript(open(sys.argv[2]).read());"
               " print(f'({(time.perf_counter() - t) * 1000:.0f} ms)')", str(database), str(script)]

    def copy():
        shutil.copyfile(template, database)

    if results:
        a, b = interleaved(lambda: seconds(command, env, before=copy),
                           lambda: seconds(by_hand, before=copy), runs=FEWER)
        results.record(f"3. batch drop_column on {rows:,} rows vs the same rebuild by hand (commands)",
                       a, b, goal=1.10)
        a, b = interleaved(lambda: _reported_ms(command, env, copy), lambda: _reported_ms(by_hand, {}, copy),
                           runs=FEWER)
        results.record(f"3. the rebuild itself: our migration step vs the hand-written SQL, {rows:,} rows",
                       a, b, goal=1.10, unit="ms")
    copy()
    return _peak_kb(command, env)
