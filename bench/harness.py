"""What every figure of `make bench` uses: running commands and timing them, the three ways to
run the same migrations (ours, bare Alembic, stock Flask-Migrate), and the results table."""
import contextlib
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PY = sys.executable
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
FEWER = max(3, RUNS // 2)  # the runs of the slow figures (2, 3 and 5)
MIGRATIONS = ROOT / "myapp" / "migrations"
RESULTS_FILE = ROOT / "bench" / "results.md"


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


class Results:
    """The rows of bench/results.md: (figure, ours, alternative, ratio, goal, verdict)."""

    def __init__(self):
        self.rows = []

    def record(self, figure, ours, theirs, goal=None, unit="s"):
        """A ratio of ours to the alternative, against a goal (lower is better)."""
        ratio = ours / theirs if theirs else float("nan")
        verdict = "" if goal is None else ("met" if ratio <= goal else "NOT met")
        self.rows.append((figure, f"{ours:.3f} {unit}", f"{theirs:.3f} {unit}" if theirs is not None else "-",
                          f"{ratio:.2f}x", f"<= {goal:.2f}x" if goal else "-", verdict))
        print(f"{figure}: ours {ours:.3f} {unit}, alternative {theirs:.3f} {unit}, {ratio:.2f}x {verdict}",
              flush=True)

    def note(self, figure, value):
        self.rows.append((figure, value, "-", "-", "-", ""))
        print(f"{figure}: {value}", flush=True)

    def stall(self, figure, worst, p99, goal_ms=None):
        """A writer's worst and p99 latency in ms, against a goal for the worst."""
        verdict = "" if goal_ms is None else ("met" if worst < goal_ms else "NOT met")
        self.rows.append((figure + (f" (goal: worst < {goal_ms} ms)" if goal_ms else ""),
                          f"{worst:.0f} ms / {p99:.1f} ms", "-", "-",
                          f"< {goal_ms} ms" if goal_ms else "-", verdict))
        print(f"{figure}: worst {worst:.0f} ms, p99 {p99:.1f} ms {verdict}", flush=True)

    def write(self, figures):
        """bench/results.md with this run's rows and the last file's rows of the other figures."""
        lines = RESULTS_FILE.read_text().splitlines() if RESULTS_FILE.exists() else []
        kept = [tuple(cell.strip() for cell in line.strip("|").split(" | ")) for line in lines
                if re.match(r"\| \d+\. ", line) and line[2] not in figures]
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        text = ["# Benchmarks", "",
                f"Machine: {os.cpu_count()} cores, {memory:.0f} GiB memory, {platform.platform()}.",
                f"Versions: {_versions()}.",
                f"Medians of {RUNS} interleaved runs (figures 2, 3 and 5: {FEWER}; figures 4 and 6:"
                " one run of each way, the worst stall over every writer statement); "
                f"big tables: {ROWS:,} rows. Reproduce with `make bench`.", "",
                "| figure | ours | alternative | ratio | goal | verdict |",
                "| --- | --- | --- | --- | --- | --- |"]
        rows = sorted(kept + self.rows, key=lambda row: int(row[0].split(".")[0]))  # stable: in run order
        text += [f"| {' | '.join(row)} |" for row in rows]
        RESULTS_FILE.write_text("\n".join(text) + "\n")
        print(f"wrote {RESULTS_FILE}")


def _versions():
    from importlib.metadata import version

    names = ["Flask", "Flask-SQLAlchemy", "Flask-Migrate", "alembic", "SQLAlchemy"]
    return f"Python {platform.python_version()}, " + ", ".join(f"{n} {version(n)}" for n in names)


# --- the three ways to run the same migrations ---------------------------------------------

def conf(path, url):
    path.write_text(f"SQLALCHEMY_DATABASE_URI = {url!r}\nSECRET_KEY = 'bench'\nALLOW_DB_RESET = True\n")
    return path


def ours(args, settings, directory=None):
    """`bin/manage.py db ARGS` on a config (and a migrations folder): (command, env)."""
    extra = ["-d", str(directory)] if directory else []
    return [PY, str(ROOT / "bin" / "manage.py"), "db", *extra, *args], {"SETTINGS": str(settings)}


def migrations_folder(folder, versions=None):
    """A copy of our migrations folder (env.py, script template) at `folder`, with the
    `versions` folder given or an empty one."""
    shutil.copytree(MIGRATIONS, folder, ignore=shutil.ignore_patterns("versions", "__pycache__"))
    if versions:
        shutil.copytree(versions, folder / "versions")
    else:
        (folder / "versions").mkdir()
    return folder


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
    """A stock Flask-Migrate app (`flask db init`'s env.py) on `versions`: (command, env, cwd)."""
    app = work / "stock"
    app.mkdir()
    (app / "app.py").write_text(STOCK_APP.format(models=models))
    env = {"BENCH_DB_URL": url}
    run([BIN / "flask", "--app", "app", "db", "init"], env=env, cwd=app)
    shutil.rmtree(app / "migrations" / "versions")
    shutil.copytree(versions, app / "migrations" / "versions")
    return (lambda *args: [BIN / "flask", "--app", "app", "db", *args]), env, app


def server_url(variable):
    """The server URL in `variable`, with our driver; None when it is not set."""
    url = os.environ.get(variable)
    if not url:
        return None
    from flask_safemigrate.config import with_driver
    return with_driver(url).render_as_string(hide_password=False)


# --- a database on a server, and a writer beside a migration ---------------------------------

@contextlib.contextmanager
def server_database(admin_url, name):
    """A new database on a server, dropped afterwards: (its URL, an AUTOCOMMIT engine on it)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from flask_safemigrate.migrate_tools.databases import create_database, drop_database

    url = create_database(admin_url, name)
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        yield url, engine
    finally:
        engine.dispose()
        drop_database(admin_url, name)


class Writer:
    """While the block runs, a thread runs `statements` ((SQL, parameters(random)) pairs) in turn
    on a connection of its own, timing each: the stalls a migration gives an app's writes."""

    def __init__(self, engine, statements, seed=6):
        self.engine, self.statements, self.pick = engine, statements, random.Random(seed)
        self.latencies, self.started, self.done = [], threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._write)

    def _write(self):
        from sqlalchemy import text

        with self.engine.connect() as connection:
            while not self.done.is_set():
                for statement, parameters in self.statements:
                    begun = time.perf_counter()
                    connection.execute(text(statement), parameters(self.pick))
                    self.latencies.append(time.perf_counter() - begun)
                self.started.set()

    def __enter__(self):
        self.thread.start()
        self.started.wait()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def figures(self):
        """(worst ms, p99 ms, statements run)."""
        latencies = sorted(self.latencies)
        return latencies[-1] * 1000, statistics.quantiles(latencies, n=100)[98] * 1000, len(latencies)
