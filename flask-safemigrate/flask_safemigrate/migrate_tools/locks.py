"""One migration run at a time per database: locks that die with a crashed process."""
import contextlib
import fcntl
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from .connection import disposing, is_mysql, migration_engine
from .errors import ToolkitError

POSTGRES_KEY = 0x6D796170  # pg_advisory_lock key for migration runs ("myap")


class LockError(ToolkitError):
    """The migration lock could not be taken: held for longer than we may wait, or no lock file."""


@contextlib.contextmanager
def exclusive_run(url, wait_timeout, on_wait=None, connection=None):
    """Hold the database's migration lock for the block, on a connection of its own (or on the
    caller's `connection`); wait at most `wait_timeout` seconds, calling `on_wait(message)` once
    if another run holds it."""
    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        if target.database in (None, "", ":memory:"):
            yield  # a private database: no other run can reach it
            return
        with _lock_file(Path(target.database + ".migrate-lock"), wait_timeout, on_wait):
            yield
        return
    if connection is not None:
        lock = _mysql if is_mysql(connection.dialect) else _postgresql
        # Inside the caller's transaction nothing is committed: PostgreSQL's lock is then the
        # transaction's own, released when the caller commits or rolls back.
        with lock(connection, target.database, wait_timeout, on_wait,
                  in_callers_transaction=connection.in_transaction()):
            yield
        return
    with disposing(migration_engine(url)) as engine:
        with engine.connect() as connection:
            lock = _mysql if is_mysql(engine.dialect) else _postgresql
            with lock(connection, target.database, wait_timeout, on_wait):
                yield


def waiting_message(wait_timeout):
    return (f"waiting for the migration lock: another migration run holds it"
            f" (giving up after {wait_timeout:g} s, MIGRATION_WAIT_TIMEOUT)")


def _timeout(seconds):
    return LockError(f"another migration run has held the database's migration lock for {seconds:g} s;"
                     " try again when it has finished (MIGRATION_WAIT_TIMEOUT sets the wait)")


def _wait(try_lock, wait_timeout, on_wait, interval):
    """Call `try_lock` until it succeeds; LockError after `wait_timeout` seconds."""
    deadline = time.monotonic() + wait_timeout
    if try_lock():
        return
    if on_wait:
        on_wait(waiting_message(wait_timeout))
    while not try_lock():
        if time.monotonic() > deadline:
            raise _timeout(wait_timeout)
        time.sleep(interval)


@contextlib.contextmanager
def _postgresql(connection, database, wait_timeout, on_wait, in_callers_transaction=False):
    # A session-level and a transaction-level advisory lock on one key exclude each other.
    scope = "xact_" if in_callers_transaction else ""

    def try_lock():
        got = connection.exec_driver_sql(f"SELECT pg_try_advisory_{scope}lock({POSTGRES_KEY})").scalar()
        if not in_callers_transaction:
            connection.commit()  # the session-level lock outlives the transaction that took it
        return got

    _wait(try_lock, wait_timeout, on_wait, 0.1)
    try:
        yield
    finally:
        if not in_callers_transaction:  # else the caller's commit or rollback releases it
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({POSTGRES_KEY})")
            connection.commit()


def mysql_lock_name(database):
    """The MariaDB/MySQL named lock of migration runs on `database` (names are at most 64)."""
    return f"safemigrate:{database}"[:64]


@contextlib.contextmanager
def _mysql(connection, database, wait_timeout, on_wait, in_callers_transaction=False):
    name = mysql_lock_name(database)

    def commit():
        if not in_callers_transaction:
            connection.commit()

    def get_lock(seconds):
        got = connection.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (name, seconds)).scalar()
        commit()
        return got == 1

    if not get_lock(0):
        if on_wait:
            on_wait(waiting_message(wait_timeout))
        if not get_lock(wait_timeout):  # the server waits for us
            raise _timeout(wait_timeout)
    try:
        yield
    finally:
        connection.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))
        commit()


@contextlib.contextmanager
def _lock_file(path, wait_timeout, on_wait):
    try:
        handle = open(path, "a")
    except OSError as e:
        database = path.absolute().with_name(path.name.removesuffix(".migrate-lock"))
        raise LockError(f"cannot open the SQLite file {database}: does its folder exist and is it"
                        f" writable? (the migration lock file {path.absolute()} cannot be created:"
                        f" {e.strerror}); nothing was changed") from None
    with handle:
        def try_lock():
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        _wait(try_lock, wait_timeout, on_wait, 0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
