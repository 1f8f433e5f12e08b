"""One migration run at a time per database: locks that die with a crashed process."""
import contextlib
import fcntl
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from .connection import is_mysql

POSTGRES_KEY = 0x6D796170  # pg_advisory_lock key for migration runs ("myap")


class LockTimeout(Exception):
    """Another migration run held the database for longer than we may wait."""


@contextlib.contextmanager
def exclusive_run(connection, url, wait_timeout):
    """Hold the database's migration lock for the block; wait at most `wait_timeout` seconds."""
    name = connection.dialect.name
    if name == "postgresql":
        holder = _postgresql(connection, wait_timeout)
    elif is_mysql(connection.dialect):
        holder = _mysql(connection, make_url(url).database, wait_timeout)
    elif name == "sqlite" and make_url(url).database not in (None, "", ":memory:"):
        holder = _lock_file(Path(make_url(url).database + ".migrate-lock"), wait_timeout)
    else:
        holder = contextlib.nullcontext()
    with holder:
        yield


def _timeout(seconds):
    return LockTimeout(f"another migration run has held the database's migration lock for {seconds:g} s;"
                       " try again when it has finished (MIGRATION_WAIT_TIMEOUT sets the wait)")


@contextlib.contextmanager
def _postgresql(connection, wait_timeout):
    deadline = time.monotonic() + wait_timeout
    while not connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({POSTGRES_KEY})").scalar():
        connection.commit()
        if time.monotonic() > deadline:
            raise _timeout(wait_timeout)
        time.sleep(0.1)
    connection.commit()  # the session-level lock outlives the transaction that took it
    try:
        yield
    finally:
        connection.rollback()
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({POSTGRES_KEY})")
        connection.commit()


@contextlib.contextmanager
def _mysql(connection, database, wait_timeout):
    name = f"myapp-migrate:{database}"[:64]
    got = connection.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (name, wait_timeout)).scalar()
    connection.commit()
    if got != 1:
        raise _timeout(wait_timeout)
    try:
        yield
    finally:
        connection.rollback()
        connection.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))
        connection.commit()


@contextlib.contextmanager
def _lock_file(path, wait_timeout):
    deadline = time.monotonic() + wait_timeout
    with open(path, "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _timeout(wait_timeout) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
