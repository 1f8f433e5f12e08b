"""Throwaway databases, built from the migrations, that autogenerate compares against."""
import contextlib
import re
import secrets
import tempfile
import time
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .databases import create_database, drop_database, list_databases
from .errors import MigrationFailed, ScratchBuildFailed, ToolkitError, explain, first_line
from .reset import empty_database
from .signals import Stopped, stop_raises

# A scratch database older than this was left by a run that was killed (SIGKILL, a power cut):
# the next run drops it. No run keeps its scratch database for anywhere near this long.
STALE_AFTER = 3600  # seconds
# <target>_scratch_<creation time, 8 hex digits>_<8 random hex digits> fits in the 63
# characters of a PostgreSQL name (MariaDB: 64) when the target's part is at most this long.
TARGET_PART = 37


class ScratchDatabaseError(ToolkitError):
    """No scratch database could be had; the message says which setting fixes it."""


@contextlib.contextmanager
def scratch_database(url, scratch_url=None):
    """Yield the URL of an empty database of the same kind as `url`; remove it afterwards.

    SQLite: a file in a temporary folder. A server: a new database beside the target,
    dropped afterwards even on failure, Ctrl-C, SIGTERM or SIGHUP (a killed run's is dropped by
    a later run), or `scratch_url` (emptied before and after) where the user may not create
    databases.
    """
    target = make_url(url)
    with stop_raises() as stopper:
        try:
            if target.get_backend_name() == "sqlite":
                folder = tempfile.TemporaryDirectory(prefix="safemigrate-scratch-")
                try:
                    yield target.set(database=str(Path(folder.name) / "scratch.db")).render_as_string(
                        hide_password=False)
                finally:
                    with stopper.deferred():  # cleanup is not cut short by a second signal
                        folder.cleanup()
            elif scratch_url:
                empty_database(scratch_url)
                try:
                    yield scratch_url
                finally:
                    with stopper.deferred():
                        empty_database(scratch_url)
            else:
                with _beside(url, target, stopper) as created:
                    yield created
        except Stopped as stopped:
            click.echo(f"stopped by {stopped.name}; the scratch database was removed", err=True)
            raise


@contextlib.contextmanager
def _beside(url, target, stopper):
    """A new database on the target's server, dropped after the block."""
    remove_stale(url)
    name = scratch_name(target.database)
    refused = False
    try:
        try:
            created = create_database(url, name)
        except DBAPIError as e:
            refused = True
            raise ScratchDatabaseError(
                f"cannot create a scratch database beside {target.database!r}"
                f" ({first_line(e.orig)}); set SCRATCH_DATABASE_URL in the config"
                " to an empty database that newmigration may fill and empty") from None
        yield created
    finally:
        if not refused:  # also when a signal came while the server was creating it (IF EXISTS)
            with stopper.deferred():
                drop_database(url, name)


def _prefix(database):
    return f"{(database or 'db')[:TARGET_PART]}_scratch_"


def scratch_name(database, now=None):
    """A scratch database's name beside `database`, saying when it was made."""
    return f"{_prefix(database)}{int(now or time.time()):08x}_{secrets.token_hex(4)}"


def remove_stale(url, now=None):
    """Drop the scratch databases beside `url`'s that runs killed over STALE_AFTER ago left behind;
    return their names. Only names made by scratch_name match; one still in use is left alone."""
    prefix = _prefix(make_url(url).database)
    ours = re.compile(re.escape(prefix) + r"([0-9a-f]{8})_[0-9a-f]{8}")
    now = now or time.time()
    dropped = []
    with contextlib.suppress(DBAPIError):  # may not list databases: creating one says what to do
        for name in list_databases(url, prefix):
            made = ours.fullmatch(name)
            if made and now - int(made.group(1), 16) > STALE_AFTER:
                with contextlib.suppress(DBAPIError):
                    drop_database(url, name, force=False)
                    dropped.append(name)
    return dropped


def build_from_migrations(config, scratch_url, destination, attributes):
    """Run the migrations up to `destination` on the scratch database; a failure says it was
    the scratch database that failed, at which migration."""
    from alembic import command

    config.attributes.update(database_url=scratch_url, echo=lambda line: None, **attributes)
    try:
        command.upgrade(config, destination)
    except MigrationFailed as e:
        raise ScratchBuildFailed(e.revision, e.path, e.line, e.statement, e.url) from e.__cause__
    except DBAPIError as e:
        raise ScratchDatabaseError("building the scratch database from the migrations failed: "
                                   + explain(e, scratch_url)) from None


def build_from_snapshot(scratch_url, found, naming_convention):
    """Create the snapshot's schema on an empty database (a scratch one, or `db reset`'s) and stamp
    it at the snapshot's heads: the schema the history builds, without replaying it. Returns what it
    declares (DeclaredTypes)."""
    from .connection import disposing, migration_engine
    from .declared import DeclaredTypes

    metadata = found.metadata(naming_convention)
    # Stamped as Alembic would (its version table), with the heads the snapshot was written for:
    # its digest says they are the files' heads, so no revision needs resolving.
    version = sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String(32), nullable=False),
                       sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
    try:
        with disposing(migration_engine(scratch_url, writes=True)) as engine, engine.begin() as connection:
            metadata.create_all(connection)
            version.create(connection)
            if found.heads:
                connection.execute(version.insert(), [{"version_num": head} for head in found.heads])
    except DBAPIError as e:
        raise ScratchDatabaseError("building the database from migrations/schema.txt failed: "
                                   + explain(e, scratch_url) + "; write it again with `db snapshot`") from None
    except SQLAlchemyError as e:  # DDL the backend cannot be given (a type it has no name for)
        raise ScratchDatabaseError(f"building the database from migrations/schema.txt failed: {first_line(e)};"
                                   " write it again with `db snapshot`") from None
    return DeclaredTypes.of(metadata)
