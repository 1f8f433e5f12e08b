"""Figure 4: a writer's stall on PostgreSQL and MariaDB while a migration adds a column and an
index to a big table: the migration autogenerate writes against the lint-clean one."""
import os

from harness import ROWS, Writer, conf, migrations_folder, ours, run, server_database, server_url

STALL = '''revision = "stall1"
down_revision = None
from alembic import op
import sqlalchemy as sa
from flask_safemigrate.migrate_tools import safe


def upgrade():
    op.add_column("big", sa.Column("d", sa.Integer, server_default="0"))
    {index}("ix_big_a", "big", ["a"])


def downgrade():
    pass
'''
WAYS = {"naive": STALL.format(index="op.create_index"),  # what autogenerate writes
        "clean": STALL.format(index="safe.create_index")}  # lint-clean: CONCURRENTLY on PostgreSQL
TABLE = {"postgresql": ("CREATE TABLE big (id SERIAL PRIMARY KEY, a INTEGER, b VARCHAR(40))",
                        f"INSERT INTO big (a, b) SELECT g, 'b' || g FROM generate_series(1, {ROWS}) g"),
         "mysql": ("CREATE TABLE big (id INTEGER AUTO_INCREMENT PRIMARY KEY, a INTEGER, b VARCHAR(40))",
                   f"INSERT INTO big (a, b) SELECT seq, CONCAT('b', seq) FROM seq_1_to_{ROWS}")}
SERVERS = {"postgresql": "TEST_POSTGRESQL_URL", "mysql": "TEST_MYSQL_URL"}


def measure(work, results):
    for backend, variable in SERVERS.items():
        admin_url = server_url(variable)
        if not admin_url:
            results.note(f"4. {backend}", f"not measured: {variable} is not set")
            continue
        (work / backend).mkdir()
        naive, clean = (_one(work / backend, backend, admin_url, way) for way in WAYS)
        results.stall(f"4. {backend}: writer worst / p99 during add column + index on {ROWS:,} rows,"
                      " naive migration", *naive)
        results.stall(f"4. {backend}: the same, lint-clean migration", *clean, goal_ms=200)


def _one(work, backend, admin_url, way):
    """(worst ms, p99 ms) of single-row inserts while the migration runs."""
    with server_database(admin_url, f"myapp_bench_{os.getpid()}_{way}") as (url, engine):
        with engine.connect() as c:
            for statement in TABLE[backend]:
                c.exec_driver_sql(statement)
        folder = migrations_folder(work / way)
        (folder / "versions" / "stall1_x.py").write_text(WAYS[way])
        command, env = ours(["upgrade"], conf(work / f"{way}.conf", url), folder)
        with Writer(engine, [("INSERT INTO big (a, b) VALUES (:a, 'w')", lambda pick: {"a": -1})]) as writer:
            run(command, env)
        worst, p99, _ = writer.figures()
        return worst, p99
