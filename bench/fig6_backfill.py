"""Figure 6: a backfill of a big PostgreSQL table while a writer keeps updating and inserting
single rows: the writer's worst stall and p99, and the backfill's time, for safe.backfill
against the one UPDATE a user would write."""
from harness import (ROWS, Writer, conf, migrations_folder, ours, seconds, server_database,
                     server_url)

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
from flask_safemigrate.migrate_tools import safe


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


def measure(work, results):
    admin_url = server_url("TEST_POSTGRESQL_URL")
    if not admin_url:
        results.note("6. postgresql backfill", "not measured: TEST_POSTGRESQL_URL is not set")
        return
    for i, (way, fill) in enumerate(WAYS.items()):
        worst, p99, statements, took = _one(work, admin_url, f"myapp_bench_fill_{i}", way, fill)
        results.stall(f"6. postgresql: writer worst / p99 on a {ROWS:,}-row table, {way}", worst, p99,
                      goal_ms=200 if way == "safe.backfill" else None)
        results.note(f"6. postgresql: {way}: time, writer statements meanwhile", f"{took:.1f} s, {statements:,}")


def _one(work, admin_url, name, way, fill):
    """(worst ms, p99 ms, writer statements, seconds) of one way to fill column c."""
    with server_database(admin_url, name) as (url, engine):
        with engine.connect() as c:
            c.exec_driver_sql("CREATE TABLE big (id SERIAL PRIMARY KEY, a INTEGER, b VARCHAR(40), c INTEGER)")
            c.exec_driver_sql(f"INSERT INTO big (a, b) SELECT g, 'b' || g FROM generate_series(1, {ROWS}) g")
            c.exec_driver_sql("VACUUM ANALYZE big")
        folder = migrations_folder(work / name)
        (folder / "versions" / "fill0_table.py").write_text(BEFORE)
        (folder / "versions" / "fill1_backfill.py").write_text(MIGRATION.format(fill=fill))
        statements = [("UPDATE big SET b = 'w' WHERE id = :id", lambda pick: {"id": pick.randint(1, ROWS)}),
                      ("INSERT INTO big (a, b) VALUES (:a, 'w')", lambda pick: {"a": -1})]
        with Writer(engine, statements) as writer:
            if fill:
                took = seconds(*ours(["upgrade"], conf(work / f"{name}.conf", url), folder))
            else:
                writer.done.wait(ALONE)
                took = ALONE
        with engine.connect() as c:  # the figure counts only if every row got its value
            missed = c.exec_driver_sql("SELECT count(*) FROM big WHERE a > 0 AND c IS DISTINCT FROM a * 2")
            assert missed.scalar() == 0 or not fill, f"{way} left rows without their value"
        return (*writer.figures(), took)
