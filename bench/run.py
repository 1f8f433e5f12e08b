"""make bench: each figure, ours against the alternative a user would pick, interleaved
(A B A B ...) in one run on one machine; medians go to bench/results.md with the ratios.

BENCH_RUNS (default 7) sets the repetitions, BENCH_ROWS (default 1000000) the big-table size.
PostgreSQL and MariaDB figures use TEST_POSTGRESQL_URL and TEST_MYSQL_URL (skipped without).
BENCH_ONLY (e.g. "6") runs only those figures; results.md keeps the other figures' last rows.
"""
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PY = sys.executable
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
MIGRATIONS = ROOT / "myapp" / "migrations"
RESULTS = []  # (figure, ours, alternative, ratio, goal, verdict)
STARTUP = {}  # figure 1's `db current` times, to tell start-up from work in figure 2


def run(command, env=None, cwd=None, check=True):
    result = subprocess.run(command, env={**os.environ, **(env or {})}, cwd=cwd,
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, command))} failed:\n{result.stderr[-2000:]}")
    return result


def seconds(command, env=None, cwd=None, before=None, check=True):
    if before:
        before()
    started = time.perf_counter()
    run(command, env, cwd, check)
    return time.perf_counter() - started


def interleaved(ours, theirs, runs=RUNS):
    """Median seconds of two callables run alternately."""
    a, b = [], []
    for _ in range(runs):
        a.append(ours())
        b.append(theirs())
    return statistics.median(a), statistics.median(b)


def record(figure, ours, theirs, goal=None, unit="s", lower_is_better=True):
    ratio = ours / theirs if theirs else float("nan")
    verdict = "" if goal is None else ("met" if ratio <= goal else "NOT met")
    RESULTS.append((figure, f"{ours:.3f} {unit}", f"{theirs:.3f} {unit}" if theirs is not None else "-",
                    f"{ratio:.2f}x", f"<= {goal:.2f}x" if goal else "-", verdict))
    print(f"{figure}: ours {ours:.3f} {unit}, alternative {theirs:.3f} {unit}, {ratio:.2f}x {verdict}",
          flush=True)


def note(figure, value):
    RESULTS.append((figure, value, "-", "-", "-", ""))
    print(f"{figure}: {value}", flush=True)


# --- the three ways to run the same migrations ---------------------------------------------

def conf(path, url):
    path.write_text(f"SQLALCHEMY_DATABASE_URI = {url!r}\nSECRET_KEY = 'bench'\nALLOW_DB_RESET = True\n")
    return path


def ours(args, settings, directory=None):
    extra = ["-d", str(directory)] if directory else []
    return [PY, str(ROOT / "bin" / "manage.py"), "db", *extra, *args], {"SETTINGS": str(settings)}


def bare_alembic(work, url, versions):
    """A stock Alembic project (`alembic init`'s generic env.py, no Flask) on `versions`."""
    project = work / "bare"
    run([BIN / "alembic", "init", str(project / "migrations")], cwd=work)
    ini = project / "migrations" / ".." / "alembic.ini"
    shutil.move(str(work / "alembic.ini"), ini)
    text = ini.read_text().replace("script_location = %(here)s/migrations",
                                   f"script_location = {project / 'migrations'}")
    ini.write_text(text.replace("driver://user:pass@localhost/dbname", url))
    shutil.rmtree(project / "migrations" / "versions")
    shutil.copytree(versions, project / "migrations" / "versions")
    return lambda *args: [BIN / "alembic", "-c", str(ini), *args]


STOCK_APP = '''import os
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCH_DB_URL"]
db = SQLAlchemy(app)
migrate = Migrate(app, db, render_as_batch=True)
{models}
'''


def stock_flask(work, url, versions, models=""):
    """A stock Flask-Migrate app (`flask db init`'s env.py) on `versions`."""
    app = work / "stock"
    app.mkdir()
    (app / "app.py").write_text(STOCK_APP.format(models=models))
    env = {"BENCH_DB_URL": url}
    run([BIN / "flask", "--app", "app", "db", "init"], env=env, cwd=app)
    shutil.rmtree(app / "migrations" / "versions")
    shutil.copytree(versions, app / "migrations" / "versions")
    return (lambda *args: [BIN / "flask", "--app", "app", "db", *args]), env, app


# --- 1. CLI latency ----------------------------------------------------------------------

def cli_latency(work):
    database = work / "cli.db"
    url = f"sqlite:///{database}"
    settings = conf(work / "cli.conf", url)
    command, env = ours(["upgrade"], settings)
    run(command, env)
    bare = bare_alembic(work, url, MIGRATIONS / "versions")
    flask, flask_env, flask_dir = stock_flask(work, url, MIGRATIONS / "versions")
    command, env = ours(["current"], settings)
    mine = lambda: seconds(command, env)  # noqa: E731
    a, b = interleaved(mine, lambda: seconds(bare("current")))
    record("1. `db current` vs bare `alembic current`", a, b, goal=1.10)
    STARTUP.update(ours=a, bare=b)
    a, c = interleaved(mine, lambda: seconds(flask("current"), flask_env, flask_dir))
    record("1. `db current` vs stock `flask db current`", a, c, goal=1.00)


# --- 2. long histories -------------------------------------------------------------------

def long_history(folder, count=300):
    """`count` revisions, each adding a table or a column to the last table."""
    folder.mkdir(parents=True)
    down, table = None, None
    for i in range(count):
        revision = f"r{i:04d}"
        if i % 10 == 0:
            table = f"t{i:04d}"
            up = f"op.create_table({table!r}, sa.Column('id', sa.Integer, primary_key=True))"
            undo = f"op.drop_table({table!r})"
        else:
            up = f"op.add_column({table!r}, sa.Column('c{i:04d}', sa.Integer))"
            undo = f"op.drop_column({table!r}, 'c{i:04d}')"
        (folder / f"{revision}_step.py").write_text(
            f'"""step {i}"""\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = {revision!r}\n'
            f"down_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n    {up}\n\n\ndef downgrade():\n    {undo}\n")
        down = revision


def long_histories(work):
    versions = work / "long_versions"
    long_history(versions)
    mine_dir = work / "long_ours"
    shutil.copytree(MIGRATIONS, mine_dir, ignore=shutil.ignore_patterns("versions", "__pycache__"))
    shutil.copytree(versions, mine_dir / "versions")
    database = work / "long.db"
    url = f"sqlite:///{database}"
    settings = conf(work / "long.conf", url)
    (work / "long_bare").mkdir()
    bare = bare_alembic(work / "long_bare", url, versions)
    fresh = lambda: database.unlink(missing_ok=True)  # noqa: E731
    command, env = ours(["upgrade"], settings, mine_dir)
    a, b = interleaved(lambda: seconds(command, env, before=fresh),
                       lambda: seconds(bare("upgrade", "head"), before=fresh), runs=max(3, RUNS // 2))
    record("2. upgrade through 300 revisions (journal, checksums, lock) vs bare Alembic", a, b, goal=1.15)
    if STARTUP:
        record("2. the same, less each tool's start-up (figure 1's `current`)",
               a - STARTUP["ours"], b - STARTUP["bare"], goal=1.15)
    run(command, env)
    history, env = ours(["history"], settings, mine_dir)
    took = statistics.median(seconds(history, env) for _ in range(3))
    note("2. `db history` on 300 revisions", f"{took:.3f} s")
    check, env = ours(["check"], settings, mine_dir)
    note("2. `db check` on 300 revisions",
         f"{statistics.median(seconds(check, env, check=False) for _ in range(3)):.3f} s")


# --- 3. big tables on SQLite -----------------------------------------------------------

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


def big_table(path, rows):
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE big (id INTEGER NOT NULL PRIMARY KEY, a INTEGER, "
                           "b VARCHAR(40), c VARCHAR(40))")
        connection.executemany("INSERT INTO big (a, b, c) VALUES (?, ?, ?)",
                               ((i, f"b{i}", f"c{i}") for i in range(rows)))
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('big1')")


def reported_ms(command, env, before):
    """The last "(N ms)" the command prints: our per-migration timer, or the SQL's own time."""
    before()
    return float(re.findall(r"\((\d+) ms\)", run(command, env).stdout)[-1])


def peak_kb(command, env):
    result = run(["/usr/bin/time", "-f", "%M", *map(str, command)], env)
    return int(result.stderr.strip().splitlines()[-1])


def big_tables(work):
    folder = work / "big_migrations"
    shutil.copytree(MIGRATIONS, folder, ignore=shutil.ignore_patterns("versions", "__pycache__"))
    (folder / "versions").mkdir()
    (folder / "versions" / "big1_table.py").write_text(
        'revision = "big1"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n\n\n'
        "def downgrade():\n    pass\n")
    (folder / "versions" / "big2_drop_c.py").write_text(DROP_C)
    small = big_table_run(work, folder, ROWS // 10, compare=False)
    big = big_table_run(work, folder, ROWS, compare=True)
    note("3. peak memory of the migration process",
         f"{small / 1024:.0f} MB at {ROWS // 10:,} rows, {big / 1024:.0f} MB at {ROWS:,} rows")


def big_table_run(work, folder, rows, compare):
    """Time (if `compare`) and measure the peak memory of the drop on `rows` rows."""
    template, database = work / f"big{rows}.template.db", work / f"big{rows}.db"
    big_table(template, rows)
    settings = conf(work / f"big{rows}.conf", f"sqlite:///{database}")
    command, env = ours(["upgrade"], settings, folder)
    script = work / "by_hand.sql"
    script.write_text(BY_HAND)
    by_hand = [PY, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
               " t = time.perf_counter(); c.executescript(open(sys.argv[2]).read());"
               " print(f'({(time.perf_counter() - t) * 1000:.0f} ms)')", str(database), str(script)]

    def copy():
        shutil.copyfile(template, database)

    if compare:
        a, b = interleaved(lambda: seconds(command, env, before=copy),
                           lambda: seconds(by_hand, before=copy), runs=max(3, RUNS // 2))
        record(f"3. batch drop_column on {rows:,} rows vs the same rebuild by hand (commands)",
               a, b, goal=1.10)
        a, b = interleaved(lambda: reported_ms(command, env, copy), lambda: reported_ms(by_hand, {}, copy),
                           runs=max(3, RUNS // 2))
        record(f"3. the rebuild itself: our migration step vs the hand-written SQL, {rows:,} rows",
               a, b, goal=1.10, unit="ms")
    copy()
    return peak_kb(command, env)


# --- 4. writer stall on servers -------------------------------------------------------

STALL = '''revision = "stall1"
down_revision = None
from alembic import op
import sqlalchemy as sa
from myapp.migrate_tools import safe


def upgrade():
    op.add_column("big", sa.Column("d", sa.Integer, server_default="0"))
    {index}("ix_big_a", "big", ["a"])


def downgrade():
    pass
'''
NAIVE = STALL.format(index="op.create_index")  # what autogenerate writes
CLEAN = STALL.format(index="safe.create_index")  # lint-clean: CONCURRENTLY on PostgreSQL


def writer_stall(work, backend, admin_url):
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from myapp.migrate_tools.databases import create_database, drop_database

    def one(kind, body):
        name = f"myapp_bench_{os.getpid()}_{kind}"
        url = create_database(admin_url, name)
        try:
            engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            with engine.connect() as c:
                c.exec_driver_sql("CREATE TABLE big (id SERIAL PRIMARY KEY, a INTEGER, b VARCHAR(40))"
                                  if backend == "postgresql" else
                                  "CREATE TABLE big (id INTEGER AUTO_INCREMENT PRIMARY KEY, a INTEGER,"
                                  " b VARCHAR(40))")
                c.exec_driver_sql(
                    f"INSERT INTO big (a, b) SELECT g, 'b' || g FROM generate_series(1, {ROWS}) g"
                    if backend == "postgresql" else
                    f"INSERT INTO big (a, b) SELECT seq, CONCAT('b', seq) FROM seq_1_to_{ROWS}")
            folder = work / f"stall_{backend}_{kind}"
            shutil.copytree(MIGRATIONS, folder, ignore=shutil.ignore_patterns("versions", "__pycache__"))
            (folder / "versions").mkdir()
            (folder / "versions" / "stall1_x.py").write_text(body)
            settings = conf(work / f"stall_{backend}_{kind}.conf", url)
            command, env = ours(["upgrade"], settings, folder)
            latencies, done = [], threading.Event()

            def writer():
                with engine.connect() as c:
                    while not done.is_set():
                        started = time.perf_counter()
                        c.execute(text("INSERT INTO big (a, b) VALUES (:a, 'w')"), {"a": -1})
                        latencies.append(time.perf_counter() - started)

            thread = threading.Thread(target=writer)
            thread.start()
            time.sleep(0.5)
            run(command, env)
            time.sleep(0.2)
            done.set()
            thread.join()
            engine.dispose()
            latencies.sort()
            return latencies[-1] * 1000, latencies[int(len(latencies) * 0.99)] * 1000
        finally:
            drop_database(admin_url, name)

    naive_worst, naive_p99 = one("naive", NAIVE)
    clean_worst, clean_p99 = one("clean", CLEAN)
    note(f"4. {backend}: writer worst / p99 during add column + index on {ROWS:,} rows, "
         f"naive migration", f"{naive_worst:.0f} ms / {naive_p99:.1f} ms")
    verdict = "met" if clean_worst < 200 else "NOT met"
    RESULTS.append((f"4. {backend}: the same, lint-clean migration (goal: worst < 200 ms)",
                    f"{clean_worst:.0f} ms / {clean_p99:.1f} ms", "-", "-", "< 200 ms", verdict))
    print(f"4. {backend} clean: {clean_worst:.0f} ms / {clean_p99:.1f} ms {verdict}", flush=True)


# --- 5. newmigration on a big model ---------------------------------------------------

def many_tables(count=200):
    lines = ["", "import sqlalchemy as sa", ""]
    for i in range(count):
        lines.append(f"t{i} = sa.Table('bench_t{i}', db.metadata,"
                     " sa.Column('id', sa.Integer, primary_key=True),"
                     " sa.Column('name', sa.String(50)), sa.Column('n', sa.Integer))")
    return "\n".join(lines) + "\n"


def big_model(work):
    project = work / "proj"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", "var", ".git", "__pycache__", ".pytest_cache", "*.egg-info", "bench"))
    models = project / "myapp" / "models" / "__init__.py"
    models.write_text(models.read_text() + "\nfrom ..extensions import db  # noqa: E402\n" + many_tables())
    database = work / "model.db"
    url = f"sqlite:///{database}"
    settings = conf(work / "model.conf", url)
    env = {"SETTINGS": str(settings), "PYTHONPATH": str(project)}
    mine = [PY, str(project / "bin" / "manage.py"), "db", "newmigration", "-m", "big model"]
    run([PY, str(project / "bin" / "manage.py"), "db", "upgrade"], env)
    flask, flask_env, flask_dir = stock_flask(work, f"sqlite:///{work / 'stock.db'}",
                                              MIGRATIONS / "versions", many_tables())
    run(flask("upgrade"), flask_env, flask_dir)

    def remove_new(folder):
        return lambda: [p.unlink() for p in folder.glob("*big_model*.py")]

    mine_new = remove_new(project / "myapp" / "migrations" / "versions")
    stock_new = remove_new(flask_dir / "migrations" / "versions")
    a, b = interleaved(lambda: seconds(mine, env, before=mine_new),
                       lambda: seconds(flask("migrate", "-m", "big model"), flask_env, flask_dir,
                                       before=stock_new), runs=max(3, RUNS // 2))
    record("5. newmigration with a 200-table model vs stock `flask db migrate`", a, b, goal=1.00)


# --- 6. backfill on PostgreSQL with a writer (bench/backfill.py) ---------------------------

def backfill_stall(work, admin_url):
    import backfill  # bench/, next to this file

    def upgrade(folder, url):
        command, env = ours(["upgrade"], conf(work / f"{folder.name}.conf", url), folder)
        return seconds(command, env)

    figures = backfill.measure(work, admin_url, ROWS, MIGRATIONS, upgrade)
    for way, (worst, p99, statements, took) in figures.items():
        goal = way == "safe.backfill"
        RESULTS.append((f"6. postgresql: writer worst / p99 on a {ROWS:,}-row table, {way}"
                        f"{' (goal: worst < 200 ms)' if goal else ''}",
                        f"{worst:.0f} ms / {p99:.1f} ms", "-", "-", "< 200 ms" if goal else "-",
                        ("met" if worst < 200 else "NOT met") if goal else ""))
        RESULTS.append((f"6. postgresql: {way}: time, writer statements meanwhile",
                        f"{took:.1f} s, {statements:,}", "-", "-", "-", ""))
        print(f"6. {way}: worst {worst:.0f} ms, p99 {p99:.1f} ms, {statements} writer statements,"
              f" {took:.1f} s", flush=True)


def kept_rows(figures):
    """The rows of the figures this run leaves out (BENCH_ONLY), from the last results.md."""
    path = ROOT / "bench" / "results.md"
    lines = path.read_text().splitlines() if path.exists() else []
    return [tuple(cell.strip() for cell in line.strip("|").split(" | ")) for line in lines
            if re.match(r"\| \d+\. ", line) and line[2] not in figures]


def versions():
    from importlib.metadata import version

    names = ["Flask", "Flask-SQLAlchemy", "Flask-Migrate", "alembic", "SQLAlchemy"]
    return f"Python {platform.python_version()}, " + ", ".join(f"{n} {version(n)}" for n in names)


def server_url(variable):
    """The server URL in `variable`, with our driver; None when it is not set."""
    url = os.environ.get(variable)
    if not url:
        return None
    from sqlalchemy.engine import make_url

    from myapp.config import DEFAULT_DRIVERS
    parsed = make_url(url)
    return parsed.set(drivername=DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername)
                      ).render_as_string(hide_password=False)


def main():
    figures = os.environ.get("BENCH_ONLY", "123456")
    kept = kept_rows(figures)
    with tempfile.TemporaryDirectory(prefix="myapp-bench-") as folder:
        work = Path(folder)
        if "1" in figures:
            (work / "1").mkdir()
            cli_latency(work / "1")
        if "2" in figures:
            (work / "2").mkdir()
            long_histories(work / "2")
        if "3" in figures:
            (work / "3").mkdir()
            big_tables(work / "3")
        if "4" in figures:
            for backend, variable in (("postgresql", "TEST_POSTGRESQL_URL"), ("mysql", "TEST_MYSQL_URL")):
                url = server_url(variable)
                if url:
                    (work / f"4{backend}").mkdir()
                    writer_stall(work / f"4{backend}", backend, url)
                else:
                    note(f"4. {backend}", f"not measured: {variable} is not set")
        if "5" in figures:
            (work / "5").mkdir()
            big_model(work / "5")
        if "6" in figures:
            url = server_url("TEST_POSTGRESQL_URL")
            if url:
                (work / "6").mkdir()
                backfill_stall(work / "6", url)
            else:
                note("6. postgresql backfill", "not measured: TEST_POSTGRESQL_URL is not set")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = ["# Benchmarks", "",
             f"Machine: {os.cpu_count()} cores, {memory:.0f} GiB memory, {platform.platform()}.",
             f"Versions: {versions()}.",
             f"Medians of {RUNS} interleaved runs (figures 2, 3 and 5: {max(3, RUNS // 2)}; figures 4 and 6:"
             " one run of each way, the worst stall over every writer statement); "
             f"big tables: {ROWS:,} rows. Reproduce with `make bench`.", "",
             "| figure | ours | alternative | ratio | goal | verdict |",
             "| --- | --- | --- | --- | --- | --- |"]
    rows = sorted(kept + RESULTS, key=lambda row: int(row[0].split(".")[0]))  # stable: in run order
    lines += [f"| {' | '.join(row)} |" for row in rows]
    (ROOT / "bench" / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {ROOT / 'bench' / 'results.md'}")


if __name__ == "__main__":
    main()
