"""Errors in one line: database errors by cause, then the fix; a failed migration by its statement."""
import ast
import re
import traceback
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, ObjectNotExecutableError

from .masking import masked
from .opcalls import batch_table

# How much of the failing statement the error line shows.
STATEMENT_LIMIT = 80

# (pattern in the driver's message, explanation); {host}, {user}, {database} come from the URL.
EXPLANATIONS = [
    (r"Connection refused|Can't connect to|could not translate host name|Name or service not known"
     r"|timeout expired|No route to host",
     "cannot reach the database server at {host}: is it running, and are the host and port right?"),
    (r"password authentication failed|Access denied for user|role \"[^\"]*\" does not exist",
     "the server refused the login of user {user!r}: check the user name and password in the URL"),
    (r"database \"[^\"]*\" does not exist|Unknown database",
     "database {database!r} does not exist on {host}: create it (createdb {database}, or"
     " CREATE DATABASE {database}) or fix the URL"),
    (r"unable to open database file",
     "cannot open the SQLite file {database}: does its folder exist and is it writable?"),
]


class ToolkitError(Exception):
    """The base of the toolkit's own errors, caught once by the CLI: each says in one line what
    went wrong and what to do."""

    def describe(self, show=str):
        """The one line; `show` gives a path as the user should read it."""
        return first_line(self)


def first_line(exc):
    """The first line of an error's message; its class name when the message is empty."""
    try:
        lines = str(exc).strip().splitlines()
    except Exception:  # a broken __str__ must not hide the error it belongs to
        lines = []
    return lines[0] if lines else type(exc).__name__


def named(exc):
    """'NameError: its first line', or only the class name when it has no message."""
    line = first_line(exc)
    return line if line == type(exc).__name__ else f"{type(exc).__name__}: {line}"


def explain(exc, url, failed=None):
    """One line for a DBAPIError raised while using the database at `url`; `failed` says what failed."""
    cause = getattr(exc, "orig", None) or exc
    reason, first = str(cause), first_line(cause)
    parts = make_url(url)
    fields = {"host": f"{parts.host or 'localhost'}:{parts.port or 'default port'}",
              "user": parts.username, "database": parts.database}
    for pattern, explanation in EXPLANATIONS:
        if re.search(pattern, reason):
            explained = f"{explanation.format(**fields)} ({_short(first)})"
            return f"{failed}: {explained}" if failed else explained
    return f"{failed or 'database error'} on {masked(url)}: {first}"


def _short(message):
    """The driver's message without its long connection preamble."""
    return re.sub(r"^.*failed: (FATAL: +)?", "", message)


class MigrationFailed(ToolkitError):
    """A migration's upgrade() or downgrade() raised; the original error is its __cause__."""

    def __init__(self, revision, path, line, statement, url):
        super().__init__(revision, path, line, statement)  # not the URL: it may hold a password
        self.revision, self.path, self.line, self.statement, self.url = revision, path, line, statement, url

    def __str__(self):
        return self.describe()

    def describe(self, show=str):
        """One line: the revision, its file (as `show` gives it), line and statement, then the cause."""
        failed = f"migration {self.revision} ({self.where(show(self.path))}) failed"
        if isinstance(self.__cause__, DBAPIError):
            line = explain(self.__cause__, self.url, failed)
        else:
            line = f"{failed}: {named(self.__cause__)}"
        hint = advice(self.__cause__, self.statement)
        return f"{line}; {hint}" if hint else line

    def where(self, shown_path):
        return f"{shown_path}:{self.line}: {self.statement}" if self.line else shown_path


def advice(exc, statement=None):
    """What to change, for what migrations written for SQLAlchemy 1.x or by stock Alembic meet."""
    if statement and re.search(r"drop_constraint\(\s*None\b", statement):
        return ("drop_constraint(None, ...) names no constraint (stock Alembic wrote it for one made"
                " without a name): give it the name the database has for it, e.g. users_email_key"
                " on PostgreSQL, email on MariaDB (SQLite: batch_alter_table with naming_convention)")
    if isinstance(exc, ObjectNotExecutableError) and isinstance(exc.target, str):
        return "SQLAlchemy 2 runs no plain SQL string: wrap it in sa.text(...) or use op.execute(...)"
    if isinstance(exc, ArgumentError) and "got [" in str(exc):
        return "SQLAlchemy 2's select() takes its columns as arguments, not in a list: select(a, b)"
    if isinstance(exc, ModuleNotFoundError):
        return (f"it imports {exc.name!r}, which this app does not have (an old package name?):"
                " import from the app as it is now, or better, copy into the migration what it"
                " needs (a migration that imports the models breaks when they change)")
    return None


class ScratchBuildFailed(MigrationFailed):
    """A migration failed on the scratch database that newmigration and `db status` build: the
    target database was not touched, and its URL is not what is wrong."""

    def describe(self, show=str):
        cause = self.__cause__
        reason = first_line(cause.orig) if isinstance(cause, DBAPIError) else named(cause)
        return (f"building the scratch database from the migrations failed at {self.revision}"
                f" ({self.where(show(self.path))}): {reason}")


def migration_failed(error, revision, path, url):
    """A MigrationFailed for `error`, at the innermost line its traceback ran in the migration file."""
    target = Path(path).resolve()
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == target]
    if not frames:  # upgrade() came from elsewhere: the file is all we can name
        return MigrationFailed(revision, path, None, None, url)
    return MigrationFailed(revision, path, frames[-1].lineno, _statement(target, frames[-1]), url)


def _statement(path, frame):
    """The statement `frame` was running in a Python file, on one short line."""
    node = _innermost_statement(path, frame.lineno)
    if node is None:
        text = frame.line or ""
    elif isinstance(node, ast.With) and batch_table(node):
        # A batch runs its operations on leaving the block, so the frame is at `with`: name
        # them as opcalls does, "user: batch_op.drop_column('x')".
        text = f"{batch_table(node)}: " + "; ".join(ast.unparse(s) for s in node.body)
    else:
        text = ast.unparse(node).splitlines()[0].rstrip(":")  # a block: its header
    return shortened(text)


def shortened(statement):
    """A statement cut to STATEMENT_LIMIT characters, for one-line messages."""
    return statement if len(statement) <= STATEMENT_LIMIT else statement[:STATEMENT_LIMIT - 3] + "..."


def _innermost_statement(path, line):
    """The innermost statement around `line` in a Python file, or None."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):  # changed since it was imported
        return None
    # ast.walk goes breadth first: the last statement around the line is the innermost.
    around = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and n.lineno <= line <= n.end_lineno]
    return around[-1] if around else None
