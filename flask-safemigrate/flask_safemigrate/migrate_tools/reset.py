"""Throw a database's contents away, leaving an empty database behind."""
from pathlib import Path

from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import make_url

from .connection import disposing, is_mysql, migration_engine


def empty_database(url):
    """Drop every table (and, on SQLite, the file itself), so migrations rebuild from nothing."""
    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        if target.database and target.database != ":memory:":
            path = Path(target.database)
            for leftover in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
            path.parent.mkdir(parents=True, exist_ok=True)
        return
    with disposing(migration_engine(url)) as engine:
        with engine.begin() as connection:
            if is_mysql(engine.dialect):
                connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
            metadata = MetaData()
            metadata.reflect(connection)
            metadata.drop_all(connection)
            if engine.dialect.name == "postgresql":
                # Enum types outlive the tables that used them.
                preparer = engine.dialect.identifier_preparer
                for enum in inspect(connection).get_enums():
                    connection.exec_driver_sql(f"DROP TYPE IF EXISTS {preparer.quote(enum['name'])}")
