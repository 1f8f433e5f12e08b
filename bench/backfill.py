"""Figure 6: a backfill of a big PostgreSQL table while a writer keeps updating and inserting
single rows: the writer's worst stall and p99, and the backfill's time, for safe.backfill
against the one UPDATE a user would write."""
import random
import shutil
import statistics
import threading
import time

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from myapp.migrate_tools.databases import create_database, drop_database

# The table comes before (fill0, here empty); the backfill is a migration of its own.
BEFORE = '''revision = "fill0"
down_revision = None


def upgrade():
    pass


def downgrade():
    pass
'''
MIGRATION = '''revision = "fill1"
down_revision = "fill0"
from alembic import op
import sqlalchemy as sa
from myapp.migrate_tools import safe


def upgrade():
    {fill}


def downgrade():
    pass
'''
WAYS = {
    # no backfill: what the machine itself costs the writer, over a 10 s window
    "no backfill (the writer alone, 10 s)": None,
    "one UPDATE": 'op.execute("UPDATE big SET c = a * 2")  # lint: unbatched-update',
    "safe.backfill": 'safe.backfill("big", {"c": sa.text("a * 2")})',
}
ALONE = 10  # seconds


def measure(work, admin_url, rows, migrations, upgrade):
    """{way: (worst stall ms, p99 ms, statements, backfill s)}; `upgrade(folder, url)` runs
    `db upgrade` on a migrations folder and returns its seconds."""
    return {way: _one(work, admin_url, rows, migrations, upgrade, way, fill) for way, fill in WAYS.items()}


def _one(work, admin_url, rows, migrations, upgrade, way, fill):
    name = f"myapp_bench_fill_{list(WAYS).index(way)}"
    url = create_database(admin_url, name)
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.exec_driver_sql("CREATE TABLE big (id SERIAL PRIMARY KEY, a INTEGER, b VARCHAR(40), c INTEGER)")
            c.exec_driver_sql(f"INSERT INTO big (a, b) SELECT g, 'b' || g FROM generate_series(1, {rows}) g")
            c.exec_driver_sql("VACUUM ANALYZE big")
        folder = work / name
        shutil.copytree(migrations, folder, ignore=shutil.ignore_patterns("versions", "__pycache__"))
        (folder / "versions").mkdir()
        (folder / "versions" / "fill0_table.py").write_text(BEFORE)
        (folder / "versions" / "fill1_backfill.py").write_text(MIGRATION.format(fill=fill))
        latencies, started, done = [], threading.Event(), threading.Event()

        def writer():
            pick = random.Random(6)
            with engine.connect() as c:
                while not done.is_set():
                    for statement, parameters in (
                            ("UPDATE big SET b = 'w' WHERE id = :id", {"id": pick.randint(1, rows)}),
                            ("INSERT INTO big (a, b) VALUES (:a, 'w')", {"a": -1})):
                        begun = time.perf_counter()
                        c.execute(text(statement), parameters)
                        latencies.append(time.perf_counter() - begun)
                    started.set()

        thread = threading.Thread(target=writer)
        thread.start()
        started.wait()
        try:
            took = upgrade(folder, url) if fill else done.wait(ALONE) or ALONE
        finally:
            done.set()
            thread.join()
        with engine.connect() as c:  # the figure counts only if every row got its value
            missed = c.exec_driver_sql("SELECT count(*) FROM big WHERE a > 0 AND c IS DISTINCT FROM a * 2")
            assert missed.scalar() == 0 or not fill, f"{way} left rows without their value"
        latencies.sort()
        return (latencies[-1] * 1000, statistics.quantiles(latencies, n=100)[98] * 1000,
                len(latencies), took)
    finally:
        engine.dispose()
        drop_database(admin_url, name)
