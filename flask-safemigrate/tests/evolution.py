"""Model histories through the real newmigration path, checked step by step, across backends.

A spec is {table name: Table}; `History` walks a database through a sequence of specs. Each
step runs newmigration on the generating backend (its scratch database is built there from
the migrations, answering renames yes), then upgrade on the applying backend's database,
which holds rows in every table, and checks there: `db check` is clean, the rows the edit did
not remove are kept with their values, the schema (types, nullability, defaults, Enum values,
constraint and index names) is the one create_all gives the models (built in a scratch
database beside it), downgrade restores exactly the previous schema (and rows), and upgrading
again works. The same backend on both sides is the everyday case. The fuzz campaign (tests/fuzz) draws the specs at random;
tests/test_evolution.py replays the histories that once failed.
"""
import contextlib
import shutil
import traceback
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_safemigrate import NAMING_CONVENTION, SafeMigrate, load_config
from flask_safemigrate.migrate_tools.connection import temporary_engine
from flask_safemigrate.migrate_tools.reset import empty_database
from flask_safemigrate.migrate_tools.scratch import scratch_database
from flask_safemigrate.testing import dbstate

from .conftest import MIGRATIONS_DIR, TESTING_CONF, new_database


@dataclass(frozen=True)
class Col:
    kind: str
    size: int = 20
    nullable: bool = True
    default: bool = False
    unique: bool = False
    index: bool = False
    fk: tuple | None = None  # (table, ondelete)
    values: tuple = ("a", "b")
    check: bool = False  # CHECK (column >= 0), named <column>_nonneg
    may_be_null: bool = True  # rows may hold NULL here (added to a table with rows, no default)
    repeated: bool = False  # rows hold the same value here (added to a table with rows, with a default)
    coded: bool = False  # a string whose rows hold one of `values` (so it may become an Enum)


@dataclass
class Table:
    columns: dict = field(default_factory=dict)
    association: bool = False  # primary key = its two foreign-key columns
    uniques: tuple = ()  # composite unique constraints: tuples of column names
    indexes: tuple = ()  # composite indexes: tuples of column names
    fks: tuple = ()  # composite foreign keys: (columns, referred table, its columns, ondelete)


def sa_type(table, name, col):
    return {"string": lambda: sa.String(col.size), "int": sa.Integer, "bigint": sa.BigInteger,
            "numeric": lambda: sa.Numeric(col.size, 2), "text": sa.Text, "bool": sa.Boolean,
            "date": sa.Date, "datetime": sa.DateTime, "datetimetz": lambda: sa.DateTime(timezone=True),
            "json": sa.JSON,
            "enum": lambda: sa.Enum(*col.values, name=f"{table}_{name}_enum")}[col.kind]()


# The kinds that may have a server default, and the default (an Enum's is its first value).
DEFAULTS = {"string": "d", "text": "d", "int": sa.text("0"), "bigint": sa.text("0"), "numeric": "1.50",
            "enum": None, "bool": sa.true(), "datetime": sa.func.now(), "datetimetz": sa.func.now(),
            "json": "{}"}


def server_default(col):
    """The column's server default, a value its rows may hold (a coded string's first value)."""
    if not col.default:
        return None
    return col.values[0] if col.kind == "enum" or col.coded else DEFAULTS[col.kind]


def choices(spec):
    """{(table, column): the values its rows hold} for Enums, coded strings and JSON (whose
    MariaDB column, LONGTEXT with a CHECK, takes only JSON text)."""
    return {(t, c): ('{"n": 1}', "[]") if col.kind == "json" else col.values
            for t, table in spec.items() for c, col in table.columns.items()
            if col.kind in ("enum", "json") or col.coded}


def references(spec, table):
    """The tables `table` has a foreign key to (single or composite)."""
    return {c.fk[0] for c in spec[table].columns.values() if c.fk} | {fk[1] for fk in spec[table].fks}


def reaches(spec, start, goal):
    """Whether a chain of foreign keys leads from table `start` to table `goal`."""
    seen, todo = set(), [start]
    while todo:
        table = todo.pop()
        for referred in references(spec, table) & set(spec):
            if referred == goal:
                return True
            if referred not in seen:
                seen.add(referred)
                todo.append(referred)
    return False


def build(spec):
    """A MetaData holding the spec's tables, with the app's naming convention. A foreign key
    that closes a cycle between tables is declared use_alter, as SQLAlchemy asks a model to."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for name, table in spec.items():
        def in_cycle(referred):
            return referred != name and reaches(spec, referred, name)

        columns = [] if table.association else [sa.Column("id", sa.Integer, primary_key=True)]
        for column, col in table.columns.items():
            args = [sa.ForeignKey(f"{col.fk[0]}.id", ondelete=col.fk[1], use_alter=in_cycle(col.fk[0]))] \
                if col.fk else []
            columns.append(sa.Column(
                column, sa_type(name, column, col), *args, nullable=col.nullable,
                primary_key=table.association, unique=col.unique or None, index=col.index or None,
                server_default=server_default(col)))
        # CHECKs at table level: MariaDB rejects a named CHECK in a column's definition.
        checks = [sa.CheckConstraint(f"{column} >= 0", name=f"{column}_nonneg")
                  for column, col in table.columns.items() if col.check]
        composites = [*(sa.UniqueConstraint(*names) for names in table.uniques),
                      *(sa.Index(None, *names) for names in table.indexes),
                      *(sa.ForeignKeyConstraint(names, [f"{referred}.{c}" for c in referred_names],
                                                ondelete=ondelete, use_alter=in_cycle(referred))
                        for names, referred, referred_names, ondelete in table.fks)]
        sa.Table(name, metadata, *columns, *checks, *composites)
    return metadata


def make_app(url, spec, migrations):
    """A Flask app on the spec's models, with our db commands and migrations env."""
    app = Flask("fuzz")
    load_config(app, TESTING_CONF, {"SQLALCHEMY_DATABASE_URI": url})
    db = SQLAlchemy(metadata=build(spec))
    db.init_app(app)
    SafeMigrate(directory=migrations).init_app(app, db)
    return app


def invoke(app, *args):
    result = app.test_cli_runner().invoke(args=["db", *args])
    crash = "".join(traceback.format_exception(*result.exc_info)) \
        if result.exc_info and not isinstance(result.exception, SystemExit) else ""
    assert result.exit_code == 0, f"db {' '.join(args)}: {result.output}{crash}"
    return result


def snapshot(url):
    """Schema (with PostgreSQL's enum types) and rows."""
    with temporary_engine(url) as engine:
        with engine.connect() as connection:
            return (dbstate.schema(connection), dbstate.enum_types(connection)), dbstate.rows(connection)


def fill(url, spec):
    with temporary_engine(url) as engine:
        with engine.begin() as connection:
            dbstate.fill(connection, choices=choices(spec))


@contextlib.contextmanager
def database(backend, folder):
    """A new, empty database on `backend` (files under `folder`), dropped afterwards."""
    folder.mkdir(exist_ok=True)
    url, cleanup = new_database(backend, folder)
    try:
        yield url
    finally:
        cleanup()


@contextlib.contextmanager
def history(pair, work, spec):
    """A History for a (generating, applying) pair of backends, on new databases, with a
    scratch database on the applying backend to build each spec's models in."""
    generate, apply = pair
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(database(apply, work / "apply"))
        # newmigration only needs the generating database to build its scratch beside it.
        generating = url if generate == apply else stack.enter_context(database(generate, work / "generate"))
        reference = stack.enter_context(scratch_database(url))
        yield History(generating, url, reference, work, spec)


class History:
    """A migrations folder written against one database and applied to another (or the same),
    walked through a sequence of specs."""

    def __init__(self, generating, url, reference, work, spec):
        self.generating = generating
        self.url = url
        self.reference = reference
        self.migrations = shutil.copytree(MIGRATIONS_DIR, work / "migrations",
                                          ignore=shutil.ignore_patterns("versions", "__pycache__"))
        (self.migrations / "versions").mkdir()
        self.spec = spec
        self.steps = 0
        invoke(make_app(generating, spec, self.migrations), "newmigration", "-m", "base")
        invoke(make_app(url, spec, self.migrations), "upgrade")

    def step(self, new, label="edit"):
        """Migrate from the current spec to `new`, with every check; `new` becomes current."""
        fill(self.url, self.spec)
        schema_before, rows_before = snapshot(self.url)
        self.steps += 1
        invoke(make_app(self.generating, new, self.migrations),
               "newmigration", "-m", f"step {self.steps}", "--renames", "yes")
        app = make_app(self.url, new, self.migrations)
        invoke(app, "upgrade")
        invoke(app, "check")
        schema_after, rows_after = snapshot(self.url)
        models = self.models_schema(new)
        assert schema_after == models, f"{label}: the schema is not the models': {differences(schema_after, models)}"
        assert dbstate.kept(surviving(rows_before, self.spec, new), rows_after) == [], label
        invoke(app, "downgrade")
        schema_down, rows_down = snapshot(self.url)
        assert schema_down == schema_before, \
            f"downgrade of {label}: {differences(schema_down, schema_before)}"
        assert dbstate.kept(surviving(rows_before, self.spec, new, down=True), rows_down) == [], \
            f"downgrade of {label}"
        invoke(app, "upgrade")
        self.spec = new

    def models_schema(self, spec):
        """The schema create_all gives the spec's models, on the applying backend."""
        empty_database(self.reference)
        with temporary_engine(self.reference) as engine:
            build(spec).create_all(engine)
        return snapshot(self.reference)[0]


def differences(got, wanted):
    """What differs between two schemas, table by table and part by part (for failures)."""
    (got, got_enums), (wanted, wanted_enums) = got, wanted
    return {"enum types": (got_enums, wanted_enums)} if got_enums != wanted_enums else {table: {part: (got.get(table, {}).get(part), wanted.get(table, {}).get(part))
                    for part in {*got.get(table, {}), *wanted.get(table, {})}
                    if got.get(table, {}).get(part) != wanted.get(table, {}).get(part)}
            for table in {*got, *wanted} if got.get(table) != wanted.get(table)}


def surviving(rows, old, new, down=False):
    """The rows and columns an edit from `old` to `new` must keep (and its downgrade restore).

    A dropped table or column loses its data by design; a renamed column keeps it under the
    new name (compared under the old one after the downgrade)."""
    kept = {}
    for table, table_rows in rows.items():
        if table not in new or table not in old:
            continue
        shared = set(old[table].columns) & set(new[table].columns)
        renames = {}
        gone = set(old[table].columns) - set(new[table].columns)
        added = set(new[table].columns) - set(old[table].columns)
        if len(gone) == 1 and len(added) == 1:
            renames = {gone.pop(): added.pop()}
        keep = shared | {"id", "left_id", "right_id"}
        kept[table] = {pk: {(c if down else renames.get(c, c)): v for c, v in row.items()
                            if c in keep or c in renames}
                       for pk, row in table_rows.items()}
    return kept
