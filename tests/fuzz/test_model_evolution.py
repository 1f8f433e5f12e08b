"""Autogenerate under fire: random model histories through the real newmigration path.

Each example starts from an empty database and applies a few random model edits. For each:
newmigration (on its scratch database, answering renames yes), upgrade with rows in every
table, `db check` clean, rows kept, downgrade back to exactly the previous schema, upgrade again.
`make fuzz EXAMPLES=500` runs a long campaign; FUZZ_EXAMPLES sets the number here.
"""
import copy
import os
import shutil
from dataclasses import dataclass, field, replace

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myapp import commands, config
from myapp.extensions import MIGRATIONS_DIR, NAMING_CONVENTION
from myapp.migrate_tools.compare import compare_server_default

from .. import dbstate
from ..conftest import TESTING_CONF, new_database
from ..conftest import snapshot as conftest_snapshot

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
KINDS = ["string", "int", "bigint", "numeric", "text", "bool", "date", "datetime", "enum"]


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
    may_be_null: bool = True  # rows may hold NULL here (added to a table with rows, no default)


@dataclass
class Table:
    columns: dict = field(default_factory=dict)
    association: bool = False  # primary key = its two foreign-key columns


def sa_type(table, name, col):
    return {"string": lambda: sa.String(col.size), "int": sa.Integer, "bigint": sa.BigInteger,
            "numeric": lambda: sa.Numeric(col.size, 2), "text": sa.Text, "bool": sa.Boolean,
            "date": sa.Date, "datetime": sa.DateTime,
            "enum": lambda: sa.Enum(*col.values, name=f"{table}_{name}_enum")}[col.kind]()


DEFAULTS = {"string": "d", "int": sa.text("0"), "bigint": sa.text("0"), "numeric": sa.text("0"),
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
        sa.Table(name, metadata, *columns)
    return metadata


# --- edits: each returns the new spec, or None where it does not apply -------------------

def add_table(spec, data, rows):
    name = f"t{len(spec)}_{data.draw(st.integers(0, 999))}"
    if name in spec:
        return None
    new = copy.deepcopy(spec)
    new[name] = Table({"c0": Col(data.draw(st.sampled_from(KINDS)))})
    return new


def add_association(spec, data, rows):
    plain = [t for t, table in spec.items() if not table.association]
    if len(plain) < 2:
        return None
    left, right = data.draw(st.permutations(plain))[:2]
    name = f"{left}_{right}_link"
    if name in spec:
        return None
    new = copy.deepcopy(spec)
    ondelete = data.draw(st.sampled_from([None, "CASCADE"]))
    new[name] = Table({"left_id": Col("int", nullable=False, fk=(left, ondelete), may_be_null=False),
                       "right_id": Col("int", nullable=False, fk=(right, ondelete), may_be_null=False)},
                      association=True)
    return new


def drop_table(spec, data, rows):
    referenced = {c.fk[0] for t in spec.values() for c in t.columns.values() if c.fk}
    droppable = [t for t in spec if t not in referenced]  # a referenced table cannot go first
    if len(spec) < 2 or not droppable:
        return None
    new = copy.deepcopy(spec)
    del new[data.draw(st.sampled_from(droppable))]
    return new


def _pick_column(spec, data, kinds=None, association=False):
    choices = [(t, c) for t, table in spec.items() if table.association == association
               for c, col in table.columns.items() if kinds is None or col.kind in kinds]
    return data.draw(st.sampled_from(choices)) if choices else (None, None)


def add_column(spec, data, rows):
    table = data.draw(st.sampled_from([t for t, tb in spec.items() if not tb.association]))
    name = f"c{data.draw(st.integers(0, 99))}"
    if name in spec[table].columns:
        return None
    new = copy.deepcopy(spec)
    kind = data.draw(st.sampled_from(KINDS + ["fk"]))
    if kind == "fk":  # a new, empty column may point anywhere; its rows are filled later
        target = data.draw(st.sampled_from([t for t, tb in spec.items() if not tb.association]))
        col = Col("int", fk=(target, data.draw(st.sampled_from([None, "CASCADE", "SET NULL"]))))
    else:
        default = kind in DEFAULTS and data.draw(st.booleans())
        # NOT NULL only with a default: existing rows need a value (Alembic and every backend).
        col = Col(kind, default=default, nullable=not (default and data.draw(st.booleans())),
                  may_be_null=bool(rows) and not default)
    new[table].columns[name] = col
    return new


def drop_column(spec, data, rows):
    table, column = _pick_column(spec, data)
    if table is None or len(spec[table].columns) < 2:
        return None
    new = copy.deepcopy(spec)
    del new[table].columns[column]
    return new


def rename_column(spec, data, rows):
    table, column = _pick_column(spec, data)
    name = f"r{data.draw(st.integers(0, 99))}"
    if table is None or name in spec[table].columns:
        return None
    # Rename detection pairs a dropped and an added column of the same type: a second column
    # of that type on the table would make the pairing ambiguous, so keep it unique here.
    col = spec[table].columns[column]
    if sum(c.kind == col.kind for c in spec[table].columns.values()) > 1 or col.kind == "enum":
        return None  # an Enum's type name carries the column name (PostgreSQL type)
    new = copy.deepcopy(spec)
    new[table].columns = {(name if c == column else c): v for c, v in spec[table].columns.items()}
    return new


def change_type(spec, data, rows):
    table, column = _pick_column(spec, data, kinds={"string", "int", "bigint", "numeric", "enum"})
    if table is None or spec[table].columns[column].fk:
        return None
    col = spec[table].columns[column]
    # Only widening: narrowing loses data by design (db lint's narrowing-type rule).
    change = {"string": lambda: replace(col, size=col.size + 20),
              "int": lambda: replace(col, kind="bigint"),
              "bigint": lambda: replace(col, kind="int"),  # values stay small here
              "numeric": lambda: replace(col, size=col.size + 2),
              "enum": lambda: replace(col, values=col.values + (f"v{len(col.values)}",))}[col.kind]()
    new = copy.deepcopy(spec)
    new[table].columns[column] = change
    return new


def toggle(spec, data, rows):
    table, column = _pick_column(spec, data)
    if table is None:
        return None
    col = spec[table].columns[column]
    what = data.draw(st.sampled_from(["nullable", "default", "unique", "index"]))
    if what == "nullable":
        if col.nullable and col.may_be_null:
            return None  # NOT NULL on a column whose rows may hold NULL fails, rightly
        col = replace(col, nullable=not col.nullable)
    elif what == "default":
        if col.kind not in DEFAULTS:
            return None
        col = replace(col, default=not col.default)
    elif what == "unique":
        if col.kind in ("bool", "enum") or col.fk:
            return None  # two values cannot be unique over many rows
        col = replace(col, unique=not col.unique)
    else:
        col = replace(col, index=not col.index)
    new = copy.deepcopy(spec)
    new[table].columns[column] = col
    return new


EDITS = [add_table, add_association, drop_table, add_column, drop_column, rename_column,
         change_type, toggle]


# --- the property ----------------------------------------------------------------------

def make_app(url, spec, migrations):
    """A Flask app on the spec's models, with our db commands and migrations env."""
    app = Flask("fuzz")
    config.load(app, TESTING_CONF, {"SQLALCHEMY_DATABASE_URI": url})
    db = SQLAlchemy(metadata=build(spec))
    db.init_app(app)
    Migrate(directory=migrations, render_as_batch=True, compare_type=True,
            compare_server_default=compare_server_default).init_app(app, db)
    commands.init_app(app)
    return app


def invoke(app, *args):
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, f"db {' '.join(args)}: {result.output}"
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


@pytest.mark.fuzz
@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_model_histories(backend, tmp_path_factory, data):
    work = tmp_path_factory.mktemp("fuzz")
    migrations = shutil.copytree(MIGRATIONS_DIR, work / "migrations",
                                 ignore=shutil.ignore_patterns("versions", "__pycache__"))
    (migrations / "versions").mkdir()
    url, cleanup = new_database(backend, work)
    try:
        spec = {"base": Table({"name": Col("string")})}
        invoke(make_app(url, spec, migrations), "newmigration", "-m", "base")
        invoke(make_app(url, spec, migrations), "upgrade")
        for step in range(data.draw(st.integers(1, 4), label="steps")):
            fill(url)
            schema_before, rows_before = snapshot(url)
            edit = data.draw(st.sampled_from(EDITS), label=f"edit {step}")
            new = edit(spec, data, rows_before)
            if new is None:
                continue
            app = make_app(url, new, migrations)
            invoke(app, "newmigration", "-m", f"step {step}", "--renames", "yes")
            invoke(app, "upgrade")
            invoke(app, "check")
            _, rows_after = snapshot(url)
            assert dbstate.kept(_surviving(rows_before, spec, new), rows_after) == [], edit.__name__
            invoke(app, "downgrade")
            schema_down, rows_down = snapshot(url)
            assert schema_down == schema_before, f"downgrade of {edit.__name__}"
            assert dbstate.kept(_surviving(rows_before, spec, new, down=True), rows_down) == []
            invoke(app, "upgrade")
            spec = new
    finally:
        cleanup()


def _surviving(rows, old, new, down=False):
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
