"""Throwaway databases, built from the migrations, that autogenerate compares against."""
import contextlib
import secrets
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from .databases import create_database, drop_database
from .errors import first_line
from .reset import empty_database


class ScratchDatabaseError(Exception):
    """No scratch database could be had; the message says which setting fixes it."""


@contextlib.contextmanager
def scratch_database(url, scratch_url=None):
    """Yield the URL of an empty database of the same kind as `url`; remove it afterwards.

    SQLite: a file in a temporary folder. A server: a new database beside the target,
    dropped afterwards even on failure or Ctrl-C, or `scratch_url` (emptied before and after)
    where the user may not create databases.
    """
    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="myapp-scratch-") as folder:
            yield target.set(database=str(Path(folder) / "scratch.db")).render_as_string(
                hide_password=False)
        return
    if scratch_url:
        empty_database(scratch_url)
        try:
            yield scratch_url
        finally:
            empty_database(scratch_url)
        return
    name = f"{(target.database or 'db')[:40]}_scratch_{secrets.token_hex(4)}"
    try:
        created = create_database(url, name)
    except DBAPIError as e:
        raise ScratchDatabaseError(
            f"cannot create a scratch database beside {target.database!r}"
            f" ({first_line(e.orig)}); set SCRATCH_DATABASE_URL in the config"
            " to an empty database that newmigration may fill and empty") from None
    try:
        yield created
    finally:
        drop_database(url, name)
