"""Autogenerate under fire: random model histories through the real newmigration path.

Each example starts from an empty database and applies a few random model edits, each checked
by tests/evolution.py's History (upgrade, `db check`, rows kept, downgrade to exactly the
previous schema, upgrade again). `make test` runs a few examples per backend; `make fuzz
EXAMPLES=500` runs a long campaign (FUZZ_EXAMPLES sets the number; hypothesis prints the seed
and a reproduction blob for a failure, and its database in .hypothesis/ replays it first).
"""
import copy
import os
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import new_database
from ..evolution import DEFAULTS, Col, Table, history

# make test runs a few examples per backend (CI's budget); make fuzz runs a campaign.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
KINDS = ["string", "int", "bigint", "numeric", "text", "bool", "date", "datetime", "enum"]


# --- edits: each returns the new spec, or None where it does not apply -------------------

def add_table(spec, data):
    name = f"t{len(spec)}_{data.draw(st.integers(0, 999))}"
    if name in spec:
        return None
    new = copy.deepcopy(spec)
    new[name] = Table({"c0": Col(data.draw(st.sampled_from(KINDS)))})
    return new


def add_association(spec, data):
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


def drop_table(spec, data):
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


def add_column(spec, data):
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
        # NOT NULL only with a default: existing rows need a value (Alembic and every backend);
        # without one the rows already in the table hold NULL here, with one they share it.
        col = Col(kind, default=default, nullable=not (default and data.draw(st.booleans())),
                  may_be_null=not default, repeated=default,
                  check=kind in CHECKED and data.draw(st.booleans()))
    new[table].columns[name] = col
    return new


def drop_column(spec, data):
    table, column = _pick_column(spec, data)
    if table is None or len(spec[table].columns) < 2:
        return None
    new = copy.deepcopy(spec)
    del new[table].columns[column]
    return new


def rename_column(spec, data):
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


def change_type(spec, data):
    table, column = _pick_column(spec, data, kinds=set(WIDER))
    if table is None or spec[table].columns[column].fk:
        return None
    change = data.draw(st.sampled_from(WIDER[spec[table].columns[column].kind]))
    changed = change(spec[table].columns[column])
    if changed is None:
        return None
    new = copy.deepcopy(spec)
    new[table].columns[column] = changed
    return new


def _to_text(col):
    # A unique or indexed TEXT column needs a key length on MariaDB ("BLOB/TEXT column used
    # in key specification without a key length"), which SQLAlchemy cannot say portably.
    return None if col.unique or col.index else replace(col, kind="text")


# Only widening changes, so the rows fit (narrowing loses data by design: db lint's
# narrowing-type rule); each downgrade narrows back to the type the rows came from.
WIDER = {
    "string": [lambda col: replace(col, size=col.size + 20), _to_text],
    "int": [lambda col: replace(col, kind="bigint")],
    "bigint": [lambda col: replace(col, kind="int")],  # values stay small here
    "numeric": [lambda col: replace(col, size=col.size + 2)],
    "enum": [lambda col: replace(col, values=col.values + (f"v{len(col.values)}",))],
    "bool": [lambda col: replace(col, kind="int")],
    "date": [lambda col: replace(col, kind="datetime")],
}
CHECKED = {"int", "bigint", "numeric"}  # kinds that may carry CHECK (column >= 0)


def toggle(spec, data):
    table, column = _pick_column(spec, data)
    if table is None:
        return None
    col = spec[table].columns[column]
    what = data.draw(st.sampled_from(["nullable", "default", "unique", "index", "check", "fk"]))
    if what == "nullable":
        if col.nullable and col.may_be_null:
            return None  # NOT NULL on a column whose rows may hold NULL fails, rightly
        col = replace(col, nullable=not col.nullable)
    elif what == "default":
        if col.kind not in DEFAULTS:
            return None
        col = replace(col, default=not col.default)
    elif what == "unique":
        if col.kind in ("bool", "enum") or col.fk or col.repeated:
            return None  # two values, or rows that share the default, cannot be unique
        col = replace(col, unique=not col.unique)
    elif what == "check":
        if col.kind not in CHECKED:
            return None
        col = replace(col, check=not col.check)
    elif what == "fk":
        # Only dropped: a new foreign key on a column that holds values fails unless every
        # value has its row, which is the data's business (the column's rows are random).
        if not col.fk:
            return None
        col = replace(col, fk=None)
    else:
        col = replace(col, index=not col.index)
    new = copy.deepcopy(spec)
    new[table].columns[column] = col
    return new


EDITS = [add_table, add_association, drop_table, add_column, drop_column, rename_column,
         change_type, toggle]


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_model_histories(backend, tmp_path_factory, data):
    work = tmp_path_factory.mktemp("fuzz")
    url, cleanup = new_database(backend, work)
    try:
        with history(url, work, {"base": Table({"name": Col("string")})}) as walk:
            for step in range(data.draw(st.integers(1, 4), label="steps")):
                edit = data.draw(st.sampled_from(EDITS), label=f"edit {step}")
                new = edit(walk.spec, data)
                if new is not None:
                    walk.step(new, edit.__name__)
    finally:
        cleanup()
