"""Throw a database's contents away, leaving an empty database behind."""
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.engine import make_url

from .connection import migration_engine


def empty_database(url):
    """Drop every table (and the SQLite file itself), so migrations can rebuild from nothing."""
    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        if target.database and target.database != ":memory:":
            path = Path(target.database)
            for leftover in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
            path.parent.mkdir(parents=True, exist_ok=True)
        return
    engine = migration_engine(url)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            metadata.drop_all(connection)
    finally:
        engine.dispose()
