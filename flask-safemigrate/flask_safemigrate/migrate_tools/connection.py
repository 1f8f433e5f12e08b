"""The dedicated engine migrations run on (never the app's runtime engine)."""
import contextlib

from sqlalchemy import create_engine, event
from sqlalchemy.pool import NullPool


def is_mysql(dialect):
    """MySQL and MariaDB: no transactional DDL, their own locks and settings."""
    return dialect.name in ("mysql", "mariadb")


@contextlib.contextmanager
def disposing(engine):
    """`engine` for the block, disposed after it whatever happens: no connection outlives it."""
    try:
        yield engine
    finally:
        engine.dispose()


def temporary_engine(url, **kwargs):
    """A plain engine without a pool for the block (`with temporary_engine(url) as engine:`)."""
    return disposing(create_engine(url, poolclass=NullPool, **kwargs))


def migration_engine(url, lock_timeout=None, writes=True):
    """A fresh engine for one migration run, set up so a failed migration changes nothing.

    SQLite: the driver's own transaction handling is off, so DDL runs inside our explicit
    BEGIN IMMEDIATE ... COMMIT (only with `writes`: a reader takes no write lock, so it neither
    waits for a writer nor blocks one), and foreign keys are off for batch table rebuilds (checked
    with PRAGMA foreign_key_check before each commit). Servers: statements waiting for a
    table lock give up after `lock_timeout` seconds instead of queueing the app behind them.
    """
    engine = create_engine(url, poolclass=NullPool)
    name = engine.dialect.name

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, record):
        if name == "sqlite":
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA foreign_keys = OFF")
            return
        if lock_timeout is None:
            return
        cursor = dbapi_connection.cursor()
        if name == "postgresql":
            cursor.execute(f"SET lock_timeout = '{int(lock_timeout * 1000)}ms'")
        elif is_mysql(engine.dialect):
            cursor.execute(f"SET SESSION lock_wait_timeout = {max(1, round(lock_timeout))}")
        cursor.close()
        dbapi_connection.commit()

    if name == "sqlite" and writes:
        @event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def check_foreign_keys(connection):
    """On SQLite, fail the migration (before its commit) if it left a foreign key dangling."""
    if connection.dialect.name != "sqlite":
        return
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        table, rowid, parent, _ = problems[0]
        raise RuntimeError(f"foreign key check failed: {len(problems)} row(s), e.g. {table} row "
                           f"{rowid} points to a missing {parent} row; the migration was rolled back")
