"""The migration journal: every migration applied or reverted, who ran it, and its checksum."""
import datetime
import getpass
import re
import socket

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, inspect, select

from . import opcalls
from . import revision_index
from .checksum import file_checksum
from .errors import MigrationFailed, ToolkitError, first_line, shortened

TABLE = "migration_journal"
metadata = MetaData()
journal = Table(
    TABLE, metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("revision", String(64), nullable=False),
    # upgrade, downgrade; baseline (checksum of a migration applied before the journal),
    # accept (an edit accepted on purpose), repair (an interrupted migration resolved)
    Column("direction", String(16), nullable=False),
    # running, ok; rolled_back (failed, nothing applied); failed (MySQL/MariaDB: may be half
    # applied, blocks the next run until `db repair`); resolved (repaired)
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("duration_ms", Integer),
    Column("who", String(255), nullable=False),
    Column("checksum", String(64)),
    Column("error", Text),
)
CHECKSUM_DIRECTIONS = ("upgrade", "baseline", "accept")


class MigrationRefused(ToolkitError):
    """The database is not in a state to migrate safely; the message says what to do."""


def who():
    """user@host of whoever runs the migration."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def exists(connection):
    return inspect(connection).has_table(TABLE)


def ensure(connection):
    """Create the journal table if this database has none yet (the caller commits)."""
    if not exists(connection):
        metadata.create_all(connection)


def record(connection, revision, direction, status, started_at=None, checksum=None, error=None):
    """Add a journal row; return its id."""
    started_at = started_at or now()
    finished = now() if status != "running" else None
    result = connection.execute(journal.insert().values(
        revision=revision, direction=direction, status=status, started_at=started_at,
        finished_at=finished, who=who(), checksum=checksum, error=_short(error),
        duration_ms=int((finished - started_at).total_seconds() * 1000) if finished else None))
    return result.inserted_primary_key[0]


def finish(connection, row_id, status, started_at, error=None):
    """Close a 'running' row (MySQL/MariaDB, where it was committed before the migration ran)
    that started at `started_at` (given: the migration's own transaction may not see the row,
    committed after its snapshot, though its UPDATE finds it)."""
    finished = now()
    connection.execute(journal.update().where(journal.c.id == row_id).values(
        status=status, finished_at=finished, error=_short(error),
        duration_ms=int((finished - started_at).total_seconds() * 1000)))


def entries(connection, limit=None):
    """Journal rows, newest first."""
    return newest_first(connection, journal, limit)


def newest_first(connection, table, limit=None):
    """Rows of one of our tables with an `id` (the journal, backfill records), newest first;
    none when the table does not exist yet."""
    if not inspect(connection).has_table(table.name):
        return []
    query = select(table).order_by(table.c.id.desc())
    return connection.execute(query.limit(limit) if limit else query).mappings().all()


def interrupted(connection):
    """Migrations that failed or died without being rolled back (MySQL/MariaDB), unresolved."""
    return connection.execute(
        select(journal).where(journal.c.direction.in_(("upgrade", "downgrade")),
                              journal.c.status.in_(("running", "failed")))
        .order_by(journal.c.id)).mappings().all()


def recorded_checksums(connection):
    """The checksum each revision was last applied (or accepted) with."""
    rows = connection.execute(
        select(journal.c.revision, journal.c.checksum)
        .where(journal.c.direction.in_(CHECKSUM_DIRECTIONS), journal.c.status == "ok")
        .order_by(journal.c.id)).all()
    return {revision: checksum for revision, checksum in rows}


def squashed_checksum(path):
    """The checksum a revision's file had before `db squash` made it a baseline (squash.py)."""
    from .squash import squashed_checksum as before_squash

    return before_squash(path)


def verify(connection, script_directory, current_heads, record_baseline, command_line):
    """Refuse to go on if a migration was interrupted, or an applied file was edited since.

    Applied migrations with no recorded checksum (applied before the journal) get a baseline
    (the caller commits)."""
    if not exists(connection):
        return
    stuck = interrupted(connection)
    if stuck:
        raise MigrationRefused(interrupted_message(stuck[-1], script_directory, command_line))
    recorded = recorded_checksums(connection)
    for script in script_directory.iterate_revisions(current_heads, "base"):
        checksum = revision_index.checksum(script.path)
        if script.revision not in recorded:
            if record_baseline:
                record(connection, script.revision, "baseline", "ok", checksum=checksum)
        elif recorded[script.revision] != checksum and recorded[script.revision] != squashed_checksum(script.path):
            raise MigrationRefused(
                f"{script.path} was edited after it was applied to this database"
                f" (revision {script.revision}); restore it, or if the edit is intended, accept it:"
                f" {command_line} db accept {script.revision}")
    revision_index.save()


def accept(connection, script):
    """Record the current content of an applied migration file as intended."""
    record(connection, script.revision, "accept", "ok", checksum=file_checksum(script.path))
    connection.commit()


def matching_revisions(connection, ident):
    """The journal's revisions that `ident` names: itself, else those it is a prefix of (as
    Alembic resolves a partial revision id); several mean it is ambiguous."""
    known = set(connection.execute(select(journal.c.revision).distinct()).scalars())
    if ident in known:
        return [ident]
    return sorted(r for r in known if ident and r.startswith(ident))  # no LIKE: "%" is a character


def repair(connection, revision):
    """Mark the interrupted runs of `revision` (a whole id) as resolved; return how many."""
    # Compared here, not in SQL: MariaDB's collations would match other case and trailing spaces.
    ids = [row["id"] for row in interrupted(connection) if row["revision"] == revision]
    if ids:
        connection.execute(journal.update().where(journal.c.id.in_(ids)).values(status="resolved"))
        record(connection, revision, "repair", "ok")
    connection.commit()
    return len(ids)


# How many of an interrupted migration's operations its message names.
CALLS_SHOWN = 5
# A failed row's error starts with where it failed: "after 3 statement(s), at line 12: ...".
_WHERE = re.compile(r"after (\d+) statement\(s\), at line (\d+): ")


def failure(error, statements=None):
    """What the journal records of a failed migration: the original error, and for a migration
    that may be half applied (`statements` ran) where it failed, so `interrupted_message` can
    name the statement that failed and the ones that ran before it."""
    cause = error.__cause__ if isinstance(error, Exception) and error.__cause__ else error
    if statements is None or not isinstance(error, MigrationFailed) or error.line is None:
        return cause
    return f"after {statements} statement(s), at line {error.line}: {error.statement}: {first_line(cause)}"


def interrupted_message(row, script_directory, command_line):
    """One line on an interrupted migration: what failed, what may be applied, and the fix."""
    script = script_directory.get_revision(row["revision"])
    path = script.path if script else row["revision"]
    revision, direction = row["revision"], row["direction"]
    calls = opcalls.in_file(script.path, direction) if script else []
    where = _WHERE.match(row["error"] or "") if row["status"] == "failed" else None
    if where:  # it failed at a known line: the calls before it ran, those after it did not
        count, line = int(where[1]), int(where[2])
        how = f"failed at line {line} ({row['error'][where.end():][:300]}) after {count} statement(s) ran"
        before = [c.text for c in calls if c.node.lineno < line]
        steps = "; ".join(shortened(call) for call in before[-CALLS_SHOWN:])
        ran = (f" (before it: {'...; ' if len(before) > CALLS_SHOWN else ''}{steps})" if steps else "")
    else:  # it died, or failed outside the file: any of its calls may have run
        how = f"failed ({row['error'][:200]})" if row["status"] == "failed" and row["error"] else \
            "failed" if row["status"] == "failed" else "did not finish (the process died)"
        steps = "; ".join(shortened(c.text) for c in calls[:CALLS_SHOWN]) + \
            (f"; and {len(calls) - CALLS_SHOWN} more" if len(calls) > CALLS_SHOWN else "")
        ran = f" (it runs: {steps})" if steps else ""
    return (f"the {direction} of {revision} ({path}) {how} on {row['started_at']:%Y-%m-%d %H:%M}"
            f" and MySQL/MariaDB cannot roll DDL back, so some of its statements may be applied"
            + ran + "."
            f" Compare the schema with that migration's {direction}(), finish or undo it by hand"
            f" (and `db stamp` the right revision if needed), then run: {command_line} db repair {revision}")


def _short(error):
    return first_line(error)[:2000] if error is not None else None
