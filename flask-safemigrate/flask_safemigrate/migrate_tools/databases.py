"""Create and drop whole databases on a server (PostgreSQL, MariaDB/MySQL)."""
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from .connection import disposing, is_mysql


def _admin(url):
    """An autocommit engine: CREATE/DROP DATABASE cannot run inside a transaction."""
    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def create_database(url, name):
    """Create database `name` on the server that `url` connects to; return its URL."""
    with disposing(_admin(url)) as engine:
        quoted = engine.dialect.identifier_preparer.quote(name)
        charset = " CHARACTER SET utf8mb4" if is_mysql(engine.dialect) else ""
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {quoted}{charset}")
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url, name, force=True):
    """Drop database `name` if it exists; `force`: close any connection still open to it
    (PostgreSQL; without it, a database in use is not dropped)."""
    with disposing(_admin(url)) as engine:
        quoted = engine.dialect.identifier_preparer.quote(name)
        force = " WITH (FORCE)" if force and engine.dialect.name == "postgresql" else ""
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}{force}")


def list_databases(url, prefix):
    """Names of the databases on the server that start with `prefix`."""
    with disposing(_admin(url)) as engine:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                names = connection.execute(text("SELECT datname FROM pg_database")).scalars()
            else:
                names = connection.exec_driver_sql("SHOW DATABASES").scalars()
            return sorted(n for n in names if n.startswith(prefix))
