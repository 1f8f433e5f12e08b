"""Batched backfills: one UPDATE cut into batches in primary-key order, each batch recorded
with the last key it did (table migration_backfill), so a rerun resumes after it.

safe.backfill decides where the batches run (their own transactions, or the migration's);
this module does the batching, the record and the progress line.
"""
import contextlib
import datetime
import decimal
import hashlib
import json
import sys
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.sql import visitors

from .errors import ToolkitError
from .journal import newest_first, now, who

TABLE = "migration_backfill"
metadata = sa.MetaData()
progress_table = sa.Table(
    TABLE, metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table_name", sa.String(255), nullable=False),
    # sha256 of the UPDATE it runs (SET and WHERE, without the batch bounds): a rerun of the
    # same backfill finds its row by it
    sa.Column("statement", sa.String(64), nullable=False),
    # running (resumable); done (written in the migration's own transaction, so it commits
    # with the migration's version)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_key", sa.Text),  # JSON list: the primary key of the last row done
    sa.Column("rows_done", sa.BigInteger, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("who", sa.String(255), nullable=False),
)
# Key types a batch can resume from: each survives a trip through JSON (see _encode).
KEY_TYPES = (int, str, uuid.UUID, decimal.Decimal, datetime.date, datetime.time)


class BackfillError(ToolkitError):
    """A backfill that cannot run as asked; the message says why and what to do."""


class Backfill:
    """`UPDATE table SET values WHERE where`, in batches of `batch_size` rows by primary key."""

    def __init__(self, connection, table, values, where=None, batch_size=1000, schema=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise BackfillError(f"safe.backfill: batch_size must be a positive integer, not {batch_size!r}")
        if not isinstance(values, dict) or not values:
            raise BackfillError("safe.backfill: values must be a dict of column name -> new value"
                                " (a Python value, or SQL as sa.text(...))")
        try:
            self.table = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=connection)
        except NoSuchTableError:
            raise BackfillError(f"safe.backfill: there is no table {table!r}") from None
        self.key = list(self.table.primary_key.columns)
        if not self.key:
            raise BackfillError(f"safe.backfill: table {table!r} has no primary key to batch by;"
                                " add one, or update it by hand (# lint: unbatched-update)")
        for column in self.key:
            if not issubclass(_python_type(column) or bytes, KEY_TYPES):
                raise BackfillError(
                    f"safe.backfill: {table}.{column.name} ({column.type}) is a primary key it cannot"
                    " resume from: only numbers, strings, UUIDs, dates and times; update it by hand")
        unknown = [name for name in values if not isinstance(name, str) or name not in self.table.c]
        if unknown:
            raise BackfillError(f"safe.backfill: table {table!r} has no column {unknown[0]!r}")
        keyed = [name for name in values if self.table.c[name].primary_key]
        if keyed:
            raise BackfillError(f"safe.backfill: it pages by the primary key, so it cannot change"
                                f" {table}.{keyed[0]}")
        if isinstance(where, str):
            where = sa.text(where)
        elif where is not None and not isinstance(where, sa.ClauseElement):
            raise BackfillError(f"safe.backfill: where must be SQL text or a SQLAlchemy expression,"
                                f" not {type(where).__name__}")
        self.name, self.batch_size = table, batch_size
        self.where = sa.true() if where is None else self._adapt(where)
        self.values = {self.table.c[name]: self._adapt(value) for name, value in values.items()}
        update = sa.update(self.table).values(self.values).where(self.where)
        compiled = update.compile(dialect=connection.dialect)
        self.statement = hashlib.sha256(
            (compiled.string + json.dumps(compiled.params, sort_keys=True, default=str)).encode()
        ).hexdigest()

    def _adapt(self, value):
        """Columns of another Table object of the same name (sa.table("t", sa.column("x")))
        become the reflected table's, so the SQL names one table, not a self-join."""
        if not isinstance(value, sa.ClauseElement):
            return value

        def same_table(element):
            table = getattr(element, "table", None)
            if isinstance(element, sa.ColumnClause) and table is not None and table is not self.table \
                    and getattr(table, "name", None) == self.table.name and element.name in self.table.c:
                return self.table.c[element.name]
            return None

        return visitors.replacement_traverse(value, {}, same_table)

    def run(self, connection, commit_each, stream=None):
        """Update every row in key order; return the id of its progress row.

        `commit_each`: each batch, with its progress, is a transaction of its own on `connection`;
        otherwise everything runs in the connection's current transaction."""
        step = connection.begin if commit_each else contextlib.nullcontext
        with step():
            if commit_each and connection.dialect.name == "postgresql":
                # A batch's COMMIT need not wait for the disk (its row locks are held until it
                # ends): a server crash can lose the last batches, but each with its record, as
                # if rolled back, so the rerun redoes exactly those. The migration's own commit
                # (the version, "done") is synchronous and makes them durable before it.
                connection.exec_driver_sql("SET synchronous_commit TO OFF")
            metadata.create_all(connection)
            row = connection.execute(sa.select(progress_table).where(
                progress_table.c.statement == self.statement, progress_table.c.status == "running")
                .order_by(progress_table.c.id.desc()).limit(1)).mappings().first()
            if row is None:
                row_id, last, done = connection.execute(progress_table.insert().values(
                    table_name=self.name, statement=self.statement, status="running", rows_done=0,
                    started_at=now(), updated_at=now(), who=who())).inserted_primary_key[0], None, 0
            else:
                row_id, done = row["id"], row["rows_done"]
                last = _decode(self.key, row["last_key"])
            left = connection.execute(sa.select(sa.func.count()).select_from(self.table)
                                      .where(self._after(last), self.where)).scalar()
        progress = Progress(self.name, done, done + left, stream)
        while True:
            with step():
                keys = connection.execute(
                    sa.select(*self.key).where(self._after(last), self.where)
                    .order_by(*self.key).limit(self.batch_size)).all()
                if not keys:
                    break
                upper = tuple(keys[-1])
                # in the batch's transaction, so a batch is recorded if and only if it is done;
                # first, so the batch's row locks are held for the UPDATE and the COMMIT only
                connection.execute(progress_table.update().where(progress_table.c.id == row_id).values(
                    last_key=_encode(upper), rows_done=progress_table.c.rows_done + len(keys),
                    updated_at=now()))
                connection.execute(sa.update(self.table).values(self.values).where(
                    self.where, self._after(last), _up_to(self.key, upper)))
                done += len(keys)
            last = upper
            progress.update(done)
            if len(keys) < self.batch_size:
                break
        progress.finish(done)
        return row_id

    def _after(self, last):
        return sa.true() if last is None else _after(self.key, last)


def entries(connection, limit=None):
    """Backfill records, newest first (none when no backfill ever ran here)."""
    return newest_first(connection, progress_table, limit)


def finish(connection, row_id):
    """Mark a backfill done, in the migration's transaction: if the migration fails after it,
    the row stays 'running' at its last key and the rerun finds nothing left to do."""
    connection.execute(progress_table.update().where(progress_table.c.id == row_id)
                       .values(status="done", updated_at=now()))


def _after(columns, values):
    """(columns) > (values), with the first column's range first so its index serves it."""
    first, value = columns[0], values[0]
    if len(columns) == 1:
        return first > value
    return sa.and_(first >= value, sa.or_(first > value,
                                          sa.and_(first == value, _after(columns[1:], values[1:]))))


def _up_to(columns, values):
    """(columns) <= (values)."""
    first, value = columns[0], values[0]
    if len(columns) == 1:
        return first <= value
    return sa.and_(first <= value, sa.or_(first < value,
                                          sa.and_(first == value, _up_to(columns[1:], values[1:]))))


def _python_type(column):
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _encode(key):
    return json.dumps([v if isinstance(v, (int, str)) else v.isoformat() if hasattr(v, "isoformat")
                       else str(v) for v in key])


def _decode(columns, text):
    if text is None:
        return None
    values = []
    for column, value in zip(columns, json.loads(text)):
        kind = _python_type(column)
        if not isinstance(value, kind):
            value = kind.fromisoformat(value) if hasattr(kind, "fromisoformat") else kind(value)
        values.append(value)
    return tuple(values)


class Progress:
    """Rows done of the total, the rate and the time left: one line redrawn on a terminal,
    else a line at each tenth done (logs stay short)."""

    REDRAW = 0.2  # seconds between redraws on a terminal

    def __init__(self, name, done, total, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.name, self.first, self.total = name, done, total
        self.started = self.drawn = time.monotonic()
        self.tenth = self._tenth(done)
        if done:
            self._write(f"  backfill {name}: resuming after {done:,} rows done\n")

    def _tenth(self, done):
        return min(10, done * 10 // self.total) if self.total else 10

    def update(self, done):
        if self.tty:
            if time.monotonic() - self.drawn >= self.REDRAW:
                self.drawn = time.monotonic()
                self._write(f"\r{self._line(done)}\x1b[K")
        elif self._tenth(done) > self.tenth:
            self.tenth = self._tenth(done)
            self._write(self._line(done) + "\n")

    def finish(self, done):
        seconds = time.monotonic() - self.started
        rate = (done - self.first) / seconds if seconds else 0
        self._write(("\r" if self.tty else "") + f"  backfill {self.name}: {done:,} rows done in "
                    f"{seconds:.1f} s ({rate:,.0f} rows/s)" + ("\x1b[K\n" if self.tty else "\n"))

    def _line(self, done):
        total = max(self.total, done)  # rows written meanwhile may add to it
        seconds = time.monotonic() - self.started
        rate = (done - self.first) / seconds if seconds else 0
        left = f"{datetime.timedelta(seconds=round((total - done) / rate))} left" if rate else "?"
        return (f"  backfill {self.name}: {done:,} / {total:,} rows ({done * 100 // (total or 1)}%),"
                f" {rate:,.0f} rows/s, {left}")

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()
