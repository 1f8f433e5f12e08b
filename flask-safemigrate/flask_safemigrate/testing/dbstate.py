"""Reflect a database's schema and rows, and fill any schema with rows, for migration tests."""
import datetime
import decimal

from sqlalchemy import MetaData, func, select, types
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.ddl import sort_tables_and_constraints

from ..migrate_tools.errors import first_line
from ..migrate_tools.reflected import BOOKKEEPING, enum_types, schema  # noqa: F401 (the tests use them)


class FillError(Exception):
    """The database refused the rows made for a table (a CHECK constraint, a trigger...)."""

    def __init__(self, table, error):
        super().__init__(f"table {table}: {first_line(getattr(error, 'orig', error))}")
        self.table = table


def rows(connection):
    """Every row of every table, as {table: {pk: {column: value}}}."""
    metadata = MetaData()
    metadata.reflect(connection)
    result = {}
    for table in metadata.tables.values():
        if table.name in BOOKKEEPING:
            continue
        key = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
        result[table.name] = {
            tuple(r[k] for k in key): dict(r)
            for r in connection.execute(select(table)).mappings()
        }
    return result


def kept(before, after):
    """Rows of `before` missing from `after`, compared on the columns both still have."""
    missing = []
    for table, table_rows in before.items():
        for pk, row in table_rows.items():
            now = after.get(table, {}).get(pk)
            if now is None or any(not _same(now[c], v) for c, v in row.items() if c in now):
                missing.append((table, pk, row, now))
    return missing


def _same(a, b):
    """Equal values; a date equals the datetime at its midnight (a column whose type changed
    between Date and DateTime)."""
    return _as_datetime(a) == _as_datetime(b)


def _as_datetime(value):
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return datetime.datetime.combine(value, datetime.time())
    return value


def fill(connection, count=2, choices=None):
    """Insert `count` more rows into every table, whatever its columns.

    A foreign key's columns copy a referred row's (a composite key's as a whole), one row per
    referred table for all the keys to it, walking the combinations of referred rows so an
    association table's composite key stays unique. `choices` gives the values a column's
    rows take in turn, {(table, column): values}."""
    choices = choices or {}
    metadata = MetaData()
    metadata.reflect(connection)
    # Referred tables first; in a cycle of foreign keys one key gets NULL (or a row from before).
    for table in [t for t, _ in sort_tables_and_constraints(metadata.tables.values()) if t is not None]:
        if table.name in BOOKKEEPING:
            continue
        start = connection.execute(select(func.count()).select_from(table)).scalar()
        referred = {fk.referred_table: connection.execute(select(fk.referred_table)).mappings().all()
                    for fk in table.foreign_key_constraints}
        for n in range(start, start + count):
            values, combined, picked = {}, 1, {}
            for referred_table, referred_rows in referred.items():
                picked[referred_table] = referred_rows[(n // combined) % len(referred_rows)] \
                    if referred_rows else {}
                combined *= max(1, len(referred_rows))
            for fk in table.foreign_key_constraints:
                row = picked[fk.referred_table]
                for column, element in zip(fk.columns, fk.elements):
                    values[column.name] = row.get(element.column.name)
            for column in table.columns:
                if column.name in values or column.primary_key and isinstance(column.type, types.Integer):
                    continue  # a foreign key's, or autoincrement
                given = choices.get((table.name, column.name))
                values[column.name] = given[n % len(given)] if given else \
                    _value(column.type, f"{table.name}.{column.name}", n)
            try:
                connection.execute(table.insert().values(**values))
            except DBAPIError as e:
                raise FillError(table.name, e) from e


def _value(type_, label, n):
    """A distinct value of the column's type (unique per n; an Enum cycles through its values)."""
    if isinstance(type_, types.Enum) and type_.enums:
        return type_.enums[n % len(type_.enums)]
    try:
        python = type_.python_type
    except NotImplementedError:
        python = str
    if python is bool:
        return n % 2 == 0
    if python is int:
        return n + 1
    if python is float or python is decimal.Decimal:
        return decimal.Decimal(n) + decimal.Decimal("0.5")
    if python is datetime.datetime:
        return datetime.datetime(2020, 1, 1, 12, 0) + datetime.timedelta(days=n)
    if python is datetime.date:
        return datetime.date(2020, 1, 1) + datetime.timedelta(days=n)
    text = f"{label}-{n}"
    length = getattr(type_, "length", None)
    return text[-length:] if length else text
