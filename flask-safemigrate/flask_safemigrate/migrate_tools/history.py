"""The migration history checked before a command relies on it: the files, the revisions the
database is at, the journal's rows. Each problem is one line naming the file or row, and the fix."""
import datetime
from pathlib import Path

from alembic.util import coerce_resource_to_filename, to_tuple
from sqlalchemy import select, type_coerce
from sqlalchemy.types import NULLTYPE

from . import journal, revision_index


class HistoryError(journal.MigrationRefused):
    """The migration files, or the database's record of them, do not fit together."""


def check_files(script_directory):
    """Refuse migration files that Alembic would misread (it warns, then fails with a KeyError or
    AttributeError, or silently keeps one of two files): no down_revision, a revision id that two
    files use, a down_revision that no file has. The files are read, not imported."""
    revision_index.remembered(list(migration_files(script_directory)), "checked", _check_files)


def _check_files(files):
    paths = {}  # revision -> the file that has it
    follows = []  # (file, the revisions it follows)
    literal = True  # every revision id is written out, so a missing one is really missing
    for path in files:
        names = revision_index.names(path)
        if names is None or "revision" not in names:
            continue  # a syntax error, or a legacy file named after its revision: Alembic says so
        if "down_revision" not in names:
            raise HistoryError(f"{path} has no down_revision: set it to the revision this migration"
                               " follows (None for the first migration)")
        revision = names["revision"]
        if not isinstance(revision, str):
            literal = False
            continue
        if revision in paths:
            raise HistoryError(f"{paths[revision]} and {path} both have revision {revision!r}: give"
                               " one of them (the copy) an id of its own (and point down_revision of any"
                               " migration after it at that id)")
        paths[revision] = path
        down = names["down_revision"]
        if down is None or isinstance(down, (str, tuple, list)):
            follows.append((path, to_tuple(down, default=())))
    if literal:
        for path, downs in follows:
            for down in downs:
                if isinstance(down, str) and down not in paths:
                    raise HistoryError(
                        f"{path} follows revision {down!r} (its down_revision), but no migration file"
                        f" has it: restore that file from git, or point down_revision at the"
                        f" migration it should follow")
    return True


def migration_files(script_directory):
    """The .py files Alembic reads as migrations, in its version locations."""
    locations = script_directory.version_locations or [str(Path(script_directory.dir, "versions"))]
    for location in locations:
        folder = coerce_resource_to_filename(location)
        pattern = "**/*.py" if script_directory.recursive_version_locations else "*.py"
        for path in sorted(folder.glob(pattern)):
            if "__pycache__" not in path.parts and not path.name.startswith((".#", "__init__")):
                yield path


def check_single_head(script_directory, merge_advice="bin/manage.py db merge -m \"merge heads\" heads"):
    """Refuse a history that has branched (two migrations follow the same one), naming each head
    (revision, summary, file), where the branches part, and how to join them."""
    heads = script_directory.get_heads()
    if len(heads) > 1:
        raise HistoryError(branched(script_directory, heads, merge_advice))


def branched(script_directory, heads, merge_advice):
    """The explanation of a history with several heads, in one line."""
    listed = ", ".join(f'{head} "{_summary(script_directory.get_revision(head))}"'
                       f" ({script_directory.get_revision(head).path})" for head in heads)
    # The newest revision every head descends from: where the branches part.
    shared = set.intersection(*(_ancestors(script_directory, head) for head in heads))
    parted = next((r.revision for r in script_directory.walk_revisions() if r.revision in shared), None)
    where = f"each was written after {parted} without the others" if parted else \
        "they share no revision"
    return (f"the migrations have {len(heads)} heads: {listed}; {where} (two branches met): join"
            f" them with `{merge_advice}`, which writes a merge migration, then run this again")


def _summary(script):
    return (script.doc or "").strip().splitlines()[0] if (script.doc or "").strip() else "no summary"


def _ancestors(script_directory, head):
    return {r.revision for r in script_directory.iterate_revisions(head, "base")}


def check_applied(current_heads, script_directory, command_line="bin/manage.py"):
    """Refuse a database at a revision that no migration file has (a file deleted, or a branch
    switched), before anything reads or changes it."""
    known = {script.revision for script in script_directory.walk_revisions()}
    for revision in current_heads:
        if revision not in known:
            from .squash import FOLDER, squashed_into

            baseline = squashed_into(migration_files(script_directory)).get(revision)
            if baseline:
                raise HistoryError(
                    f"the database is at {revision}, which `db squash` folded into the baseline {baseline}"
                    f" (its file is in migrations/{FOLDER}/{baseline}/): upgrade this database to"
                    f" {baseline} first with a release from before the squash (in git: the commit"
                    f" before it), then run this again; nothing was changed")
            raise HistoryError(
                f"the database is at {revision}, but no migration file has it: restore it from git,"
                f" or `{command_line} db stamp --purge REVISION` with the revision its schema is at")


_UNREADABLE = object()
KINDS = {datetime.datetime: "a date and time", int: "a whole number", str: "text"}


def check_journal(connection):
    """Refuse journal rows that cannot be read (a date written as text by hand on SQLite, a zero
    date on MariaDB), naming the row, rather than fail wherever the journal is read."""
    if not journal.exists(connection):
        return
    dialect = connection.dialect
    columns = list(journal.journal.c)
    # Read without the types' processing, then process each value as a normal read would.
    raw = connection.execute(select(*(type_coerce(c, NULLTYPE).label(c.name) for c in columns)))
    processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
    for row in raw:
        for column, processor, value in zip(columns, processors, row):
            try:
                read = processor(value) if processor and value is not None else value
            except (ValueError, TypeError):
                read = _UNREADABLE
            if read is None and column.nullable:
                continue
            wanted = column.type.python_type
            if not isinstance(read, wanted):
                what = f"no {column.name}" if value is None else \
                    f"{column.name} = {value!r}, which is not {KINDS.get(wanted, wanted.__name__)}"
                raise HistoryError(
                    f"row {row.id} of {journal.TABLE} has {what}: correct that row by hand,"
                    f" or delete it")


def check_run(connection, script_directory, migration_context, command_line="bin/manage.py",
              merge_advice="bin/manage.py db merge -m \"merge heads\" heads"):
    """Check the history before an Alembic command runs on the database (`stamp --purge` may
    start from a revision no file has: it replaces it)."""
    # A run to head, and a comparison of the models with the head (check, autogenerate), need one.
    if "head" in to_tuple(migration_context.opts.get("destination_rev"), default=()) or \
            "revision_context" in migration_context.opts:
        check_single_head(script_directory, merge_advice)
    check_journal(connection)
    if not migration_context.opts.get("purge"):
        check_applied(migration_context.get_current_heads(), script_directory, command_line)
