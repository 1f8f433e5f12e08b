"""`--sql` previews on SQLite, batch table rebuilds included.

Alembic's offline mode cannot render a batch rebuild without each table's definition. Here
the migrations run for real on a throwaway SQLite database built to the starting revision,
and every statement they execute is written out as the script: exactly what would run.
"""
import datetime
import re

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event

from . import plan
from .connection import disposing, migration_engine
from .scratch import scratch_database

VERSION_TABLE = ("CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n"
                 "    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);")
# Reflection reads and the scratch run's own transaction control are not part of the script.
SKIPPED = re.compile(r"^\s*(PRAGMA|SELECT|BEGIN|COMMIT|ROLLBACK)\b", re.I)


def render(script_directory, start, destination, upgrade, write):
    """Write the SQL that upgrading (or downgrading) from `start` to `destination` runs."""
    start_heads = tuple(s.revision for s in script_directory.get_revisions(start)) if start else ()
    steps = plan.planned(script_directory, start_heads, destination, upgrade)
    with scratch_database("sqlite:///preview.db") as url:
        with disposing(migration_engine(url)) as engine:
            with engine.connect() as connection:
                migration_context = MigrationContext.configure(connection)
                with Operations.context(migration_context):
                    for script in plan.planned(script_directory, (), start, True) if start else ():
                        _run(connection, script.module.upgrade)  # the state to start from
                    _render_steps(engine, connection, steps, start_heads, upgrade, write)


def _render_steps(engine, connection, steps, start_heads, upgrade, write):
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if not SKIPPED.match(statement):
            rows = parameters if executemany else [parameters]
            captured.extend(_inline(statement, row) for row in rows)

    write("PRAGMA foreign_keys = OFF;\n")
    write("BEGIN TRANSACTION;\n")
    if upgrade and not start_heads:
        write(VERSION_TABLE + "\n")
    current = start_heads[0] if start_heads else None
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for script in steps:
            target = script.revision if upgrade else script.down_revision
            write(f"-- Running {'upgrade' if upgrade else 'downgrade'} {current or '<base>'}"
                  f" -> {target or '<base>'}\n")
            captured.clear()
            _run(connection, script.module.upgrade if upgrade else script.module.downgrade)
            for statement in captured:
                write(statement.strip() + ";\n")
            write(_version_sql(current, target) + "\n")
            current = target
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    write("COMMIT;\n")


def _run(connection, function):
    with connection.begin():
        function()


def _version_sql(old, new):
    if old is None:
        return f"INSERT INTO alembic_version (version_num) VALUES ('{new}');"
    if new is None:
        return f"DELETE FROM alembic_version WHERE alembic_version.version_num = '{old}';"
    return (f"UPDATE alembic_version SET version_num='{new}' "
            f"WHERE alembic_version.version_num = '{old}';")


def _inline(statement, parameters):
    """The statement with its ? parameters written as SQL literals."""
    if not parameters:
        return statement
    values = iter(parameters.values() if isinstance(parameters, dict) else parameters)
    parts = re.split(r"('(?:[^']|'')*')", statement)  # keep string literals untouched
    return "".join(p if p.startswith("'") else re.sub(r"\?", lambda m: _literal(next(values)), p)
                   for p in parts)


def _literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        value = value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"
