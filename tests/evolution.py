"""Model histories through the real newmigration path, checked step by step.

A spec is {table name: Table}; `History` walks a database through a sequence of specs. Each
step runs newmigration (on its scratch database, answering renames yes) and upgrade on a
database holding rows in every table, then checks: `db check` is clean, the rows the edit did
not remove are kept with their values, the schema is the one create_all gives the models
(built in a scratch database beside it), downgrade restores exactly the previous schema (and
rows), and upgrading again works. The fuzz campaign (tests/fuzz) draws the specs at random;
tests/test_evolution.py replays the histories that once failed.
"""
import contextlib
import shutil
import traceback
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from myapp import commands, config, extensions
from myapp.extensions import MIGRATIONS_DIR, NAMING_CONVENTION
from myapp.migrate_tools.reset import empty_database
from myapp.migrate_tools.scratch import scratch_database

from . import dbstate
from .conftest import TESTING_CONF
from .conftest import snapshot as conftest_snapshot


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


@dataclass
class Table:
    columns: dict = field(default_factory=dict)
    association: bool = False  # primary key = its two foreign-key columns


def sa_type(table, name, col):
    return {"string": lambda: sa.String(col.size), "int": sa.Integer, "bigint": sa.BigInteger,
            "numeric": lambda: sa.Numeric(col.size, 2), "text": sa.Text, "bool": sa.Boolean,
            "date": sa.Date, "datetime": sa.DateTime,
            "enum": lambda: sa.Enum(*col.values, name=f"{table}_{name}_enum")}[col.kind]()


DEFAULTS = {"string": "d", "text": "d", "int": sa.text("0"), "bigint": sa.text("0"), "numeric": sa.text("0"),
            "enum": "a"}


def build(spec):
    """A MetaData holding the spec's tables, with the app's naming convention."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for name, table in spec.items():
        columns = [] if table.association else [sa.Column("id", sa.Integer, primary_key=True)]
        for column, col in table.columns.items():
            args = [sa.ForeignKey(f"{col.fk[0]}.id", ondelete=col.fk[1])] if col.fk else []
            columns.append(sa.Column(
                column, sa_type(name, column, col), *args, nullable=col.nullable,
                primary_key=table.association, unique=col.unique or None, index=col.index or None,
                server_default=DEFAULTS[col.kind] if col.default else None))
        # CHECKs at table level: MariaDB rejects a named CHECK in a column's definition.
        checks = [sa.CheckConstraint(f"{column} >= 0", name=f"{column}_nonneg")
                  for column, col in table.columns.items() if col.check]
        sa.Table(name, metadata, *columns, *checks)
    return metadata


def make_app(url, spec, migrations):
    """A Flask app on the spec's models, with our db commands and migrations env."""
    app = Flask("fuzz")
    config.load(app, TESTING_CONF, {"SQLALCHEMY_DATABASE_URI": url})
    db = SQLAlchemy(metadata=build(spec))
    db.init_app(app)
    Migrate(directory=migrations, **extensions.migrate.alembic_ctx_kwargs).init_app(app, db)
    commands.init_app(app)
    return app


def invoke(app, *args):
    result = app.test_cli_runner().invoke(args=["db", *args])
    crash = "".join(traceback.format_exception(*result.exc_info)) \
        if result.exc_info and not isinstance(result.exception, SystemExit) else ""
    assert result.exit_code == 0, f"db {' '.join(args)}: {result.output}{crash}"
    return result


def snapshot(url):
    """Schema and rows (conftest's snapshot, without the version)."""
    return conftest_snapshot(url)[:2]


def fill(url):
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            dbstate.fill(connection)
    finally:
        engine.dispose()


@contextlib.contextmanager
def history(url, work, spec):
    """A History on `url`, with a scratch database to build each spec's models in."""
    with scratch_database(url) as reference:
        yield History(url, reference, work, spec)


class History:
    """A database and a migrations folder of its own, walked through a sequence of specs."""

    def __init__(self, url, reference, work, spec):
        self.url = url
        self.reference = reference
        self.migrations = shutil.copytree(MIGRATIONS_DIR, work / "migrations",
                                          ignore=shutil.ignore_patterns("versions", "__pycache__"))
        (self.migrations / "versions").mkdir()
        self.spec = spec
        self.steps = 0
        invoke(make_app(url, spec, self.migrations), "newmigration", "-m", "base")
        invoke(make_app(url, spec, self.migrations), "upgrade")

    def step(self, new, label="edit"):
        """Migrate from the current spec to `new`, with every check; `new` becomes current."""
        fill(self.url)
        schema_before, rows_before = snapshot(self.url)
        app = make_app(self.url, new, self.migrations)
        self.steps += 1
        invoke(app, "newmigration", "-m", f"step {self.steps}", "--renames", "yes")
        invoke(app, "upgrade")
        invoke(app, "check")
        schema_after, rows_after = snapshot(self.url)
        assert schema_after == self.models_schema(new), f"{label}: the schema is not the models'"
        assert dbstate.kept(surviving(rows_before, self.spec, new), rows_after) == [], label
        invoke(app, "downgrade")
        schema_down, rows_down = snapshot(self.url)
        assert schema_down == schema_before, f"downgrade of {label}"
        assert dbstate.kept(surviving(rows_before, self.spec, new, down=True), rows_down) == [], \
            f"downgrade of {label}"
        invoke(app, "upgrade")
        self.spec = new

    def models_schema(self, spec):
        """The schema create_all gives the spec's models, on the same backend."""
        empty_database(self.reference)
        engine = sa.create_engine(self.reference, poolclass=sa.pool.NullPool)
        try:
            build(spec).create_all(engine)
        finally:
            engine.dispose()
        return snapshot(self.reference)[0]


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
