"""Autogenerate under fire: random model histories through the real newmigration path.

Each example starts from an empty database and applies a few random model edits, each
written by newmigration on a generating backend and checked on an applying one by
tests/evolution.py's History (upgrade, `db check`, rows kept, the schema create_all gives,
downgrade to exactly the previous schema, upgrade again), for every (generating, applying)
pair. `make test` runs a few examples per pair; `make fuzz EXAMPLES=500` runs a long campaign
(FUZZ_EXAMPLES sets the number, FUZZ_PAIRS which pairs; hypothesis prints the seed and a
reproduction blob for a failure, and its database in .hypothesis/ replays it first).
"""
import copy
import os
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ..conftest import PAIRS, pair_id
from ..evolution import DEFAULTS, Col, Table, history

# make test runs a few examples per pair (CI's budget): more where one backend writes and runs
# the migration, fewer across backends; make fuzz sets both, and FUZZ_PAIRS picks the pairs.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
CROSS_EXAMPLES = int(os.environ.get("FUZZ_CROSS_EXAMPLES", "3"))
PICKED = os.environ.get("FUZZ_PAIRS", "").replace(",", " ").split()
unknown = set(PICKED) - {pair_id(p) for p in PAIRS}
assert not unknown, f"FUZZ_PAIRS: no such pair {', '.join(sorted(unknown))} (say sqlite-to-postgresql)"
SAME = [p for p in PAIRS if p[0] == p[1] and (not PICKED or pair_id(p) in PICKED)]
CROSS = [p for p in PAIRS if p[0] != p[1] and (not PICKED or pair_id(p) in PICKED)]

# "code": a string column whose rows hold a few fixed values, so it may become an Enum.
KINDS = ["string", "code", "int", "bigint", "numeric", "text", "bool", "date", "datetime",
         "datetimetz", "json", "enum"]
KEYLESS = {"text", "json"}  # no unique or index: MariaDB needs a key length, PostgreSQL's json has no =
COMPOSABLE = {"string", "code", "int", "bigint", "numeric", "bool", "date", "datetime"}


def _col(kind, **fields):
    return Col("string", coded=True, **fields) if kind == "code" else Col(kind, **fields)


def _named(base, data, length):
    """`base`, or padded to `length` characters: names near the identifier limit (PostgreSQL
    63, MariaDB 64), whose constraint and index names go over it."""
    return base.ljust(length, "x") if data.draw(st.booleans(), label="long name") else base


def _plain(spec):
    return [t for t, table in spec.items() if not table.association]


# --- edits: each returns the new spec, or None where it does not apply -------------------

def add_table(spec, data):
    name = _named(f"t{len(spec)}_{data.draw(st.integers(0, 999))}", data, 50)
    if name in spec:
        return None
    new = copy.deepcopy(spec)
    kinds = data.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
    new[name] = Table({f"c{i}": _col(kind) for i, kind in enumerate(kinds)})
    return new


def add_related_tables(spec, data):
    """Two or three new tables in one step, each pointing at one made before it (or at one of
    the spec's): create_table must come in the order of their foreign keys."""
    new = copy.deepcopy(spec)
    step = data.draw(st.integers(0, 999))
    for i in range(data.draw(st.integers(2, 3))):
        name = _named(f"n{step}_{i}", data, 50)
        if name in new:
            return None
        targets = [t for t in _plain(new) if t not in spec] if i else _plain(spec)
        target = data.draw(st.sampled_from(targets))
        ondelete = data.draw(st.sampled_from([None, "CASCADE"]))
        new[name] = Table({"c0": _col(data.draw(st.sampled_from(KINDS))),
                           "parent_id": Col("int", fk=(target, ondelete))})
    return new


def add_association(spec, data):
    plain = _plain(spec)
    if len(plain) < 2:
        return None
    left, right = data.draw(st.permutations(plain))[:2]
    name = f"{left}_{right}_link"
    if name in spec or len(name) > 60:  # a table name itself must fit the limit
        return None
    new = copy.deepcopy(spec)
    ondelete = data.draw(st.sampled_from([None, "CASCADE"]))
    new[name] = Table({"left_id": Col("int", nullable=False, fk=(left, ondelete), may_be_null=False),
                       "right_id": Col("int", nullable=False, fk=(right, ondelete), may_be_null=False)},
                      association=True)
    return new


def _referrers(spec, name):
    """The tables with a foreign key (single or composite) to `name`, itself left out."""
    return {t for t, table in spec.items() if t != name and (
        any(c.fk and c.fk[0] == name for c in table.columns.values())
        or any(fk[1] == name for fk in table.fks))}


def drop_table(spec, data):
    droppable = [t for t in spec if not _referrers(spec, t)]  # a referenced table cannot go first
    if len(spec) < 2 or not droppable:
        return None
    new = copy.deepcopy(spec)
    del new[data.draw(st.sampled_from(droppable))]
    return new


def drop_related_tables(spec, data):
    """A table and every table that refers to it, directly or not, in one step: drop_table
    must come in the order of their foreign keys."""
    gone = {data.draw(st.sampled_from(sorted(spec)))}
    while True:
        more = set().union(*(_referrers(spec, t) for t in gone)) - gone
        if not more:
            break
        gone |= more
    if len(gone) < 2 or len(gone) == len(spec):
        return None
    return {t: copy.deepcopy(table) for t, table in spec.items() if t not in gone}


def _pinned(spec):
    """(table, column) of the columns in composite constraints and indexes: they are left alone
    (a drop, rename or type change would have to change those too)."""
    pinned = set()
    for t, table in spec.items():
        for names in (*table.uniques, *table.indexes):
            pinned |= {(t, c) for c in names}
        for names, referred, referred_names, _ in table.fks:
            pinned |= {(t, c) for c in names} | {(referred, c) for c in referred_names}
    return pinned


def _pick_column(spec, data, kinds=None, association=False, unpinned=False):
    pinned = _pinned(spec) if unpinned else set()
    choices = [(t, c) for t, table in spec.items() if table.association == association
               for c, col in table.columns.items()
               if (kinds is None or col.kind in kinds) and (t, c) not in pinned]
    return data.draw(st.sampled_from(choices)) if choices else (None, None)


def add_column(spec, data):
    table = data.draw(st.sampled_from(_plain(spec)))
    name = _named(f"c{data.draw(st.integers(0, 99))}", data, 20)
    if name in spec[table].columns:
        return None
    new = copy.deepcopy(spec)
    kind = data.draw(st.sampled_from(KINDS + ["fk"]))
    if kind == "fk":  # a new, empty column may point anywhere (closing a cycle of keys, too:
        # build declares such a key use_alter); its rows are filled later
        target = data.draw(st.sampled_from(_plain(spec)))
        col = Col("int", fk=(target, data.draw(st.sampled_from([None, "CASCADE", "SET NULL"]))))
    else:
        default = _col(kind).kind in DEFAULTS and data.draw(st.booleans())
        # NOT NULL only with a default: existing rows need a value (Alembic and every backend);
        # without one the rows already in the table hold NULL here, with one they share it.
        col = _col(kind, default=default, nullable=not (default and data.draw(st.booleans())),
                   may_be_null=not default, repeated=default,
                   check=kind in CHECKED and data.draw(st.booleans()))
    new[table].columns[name] = col
    return new


def drop_column(spec, data):
    table, column = _pick_column(spec, data, unpinned=True)
    if table is None or len(spec[table].columns) < 2:
        return None
    new = copy.deepcopy(spec)
    del new[table].columns[column]
    return new


def rename_column(spec, data):
    table, column = _pick_column(spec, data, unpinned=True)
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
    table, column = _pick_column(spec, data, kinds=set(WIDER), unpinned=True)
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
    return None if col.unique or col.index else replace(col, kind="text", coded=False)


def _to_enum(col):
    # Only a string whose rows hold the Enum's values; a unique one holds distinct values.
    return replace(col, kind="enum", coded=False) if col.coded and not col.unique else None


# Only widening changes, so the rows fit (narrowing loses data by design: db lint's
# narrowing-type rule); each downgrade narrows back to the type the rows came from.
WIDER = {
    "string": [lambda col: replace(col, size=col.size + 20), _to_text, _to_enum],
    "int": [lambda col: replace(col, kind="bigint")],
    "bigint": [lambda col: replace(col, kind="int")],  # values stay small here
    "numeric": [lambda col: replace(col, size=col.size + 2)],
    "enum": [lambda col: replace(col, values=col.values + (f"v{len(col.values)}",)),
             lambda col: replace(col, kind="string", coded=True)],
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
    elif what in ("unique", "index") and col.kind in KEYLESS:
        return None
    elif what == "unique":
        if not _distinct(spec, table, column):
            return None  # rows that share values cannot be unique
        col = replace(col, unique=not col.unique)
    elif what == "check":
        if col.kind not in CHECKED or (not col.check and _acted_on(spec, table, column)):
            return None  # MariaDB refuses such a CHECK, in create_all too (1901)
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


def _distinct(spec, table, column):
    """Whether the rows hold a distinct value (or NULL) in each row here: not a Boolean, Enum
    or coded string (a few values), a shared default, or a foreign key's copy of its rows."""
    col = spec[table].columns[column]
    in_fks = {c for names, *_ in spec[table].fks for c in names}
    return not (col.kind in ("bool", "enum") or col.coded or col.repeated or col.fk
                or column in in_fks)


def add_composite(spec, data):
    """A unique constraint or an index on two or three columns, often sharing its first column
    with another one (whose names must then differ)."""
    table = data.draw(st.sampled_from(_plain(spec)))
    columns = [c for c, col in spec[table].columns.items() if col.kind in COMPOSABLE]
    if len(columns) < 2:
        return None
    what = data.draw(st.sampled_from(["uniques", "indexes"]))
    existing = getattr(spec[table], what)
    firsts = sorted({names[0] for names in existing})
    first = data.draw(st.sampled_from(firsts + columns))
    rest = data.draw(st.lists(st.sampled_from([c for c in columns if c != first]), min_size=1,
                              max_size=2, unique=True))
    names = (first, *rest)
    if names in existing or what == "uniques" and not any(_distinct(spec, table, c) for c in names):
        return None
    new = copy.deepcopy(spec)
    setattr(new[table], what, (*existing, names))
    return new


def add_composite_fk(spec, data):
    """A foreign key on two or three columns to another table's composite unique constraint:
    new columns (NULL in the rows there already), the first one perhaps an existing column
    that already starts another such key to the same columns."""
    uniques = [(t, names) for t, table in spec.items() for names in table.uniques]
    if not uniques:
        return None
    referred, referred_names = data.draw(st.sampled_from(uniques))
    table = data.draw(st.sampled_from([t for t in _plain(spec) if t != referred] or [None]))
    if table is None:
        return None
    new = copy.deepcopy(spec)
    starts = sorted({names[0] for names, r, r_names, _ in spec[table].fks
                     if r == referred and r_names[0] == referred_names[0]})
    step = data.draw(st.integers(0, 99))
    names = [f"k{step}_{i}" for i in range(len(referred_names))]
    if starts and data.draw(st.booleans()):
        names[0] = starts[0]
    if any(n in spec[table].columns for n in names if n not in starts):
        return None
    for name, referred_name in zip(names, referred_names):
        if name not in spec[table].columns:
            target = spec[referred].columns[referred_name]
            new[table].columns[name] = Col(target.kind, size=target.size, values=target.values)
    ondelete = data.draw(st.sampled_from([None, "CASCADE", "SET NULL"]))
    if ondelete and any(spec[table].columns[n].check for n in names if n in spec[table].columns):
        return None  # MariaDB refuses a key that acts on a CHECKed column (1901)
    new[table].fks = (*spec[table].fks, (tuple(names), referred, referred_names, ondelete))
    return new


def _acted_on(spec, table, column):
    """Whether a foreign key with ON DELETE CASCADE or SET NULL writes `column`: MariaDB
    refuses a CHECK on such a column (1901), in create_all too, so no model can have both."""
    col = spec[table].columns[column]
    return bool(col.fk and col.fk[1]) or any(
        ondelete and column in names for names, _, _, ondelete in spec[table].fks)


def drop_composite(spec, data):
    """Drop a composite unique constraint (unless a foreign key refers to it), index or key."""
    referred = {(r, r_names) for table in spec.values() for _, r, r_names, _ in table.fks}
    choices = [(t, what, names) for t, table in spec.items() for what in ("uniques", "indexes", "fks")
               for names in getattr(table, what) if (t, names) not in referred]
    if not choices:
        return None
    table, what, names = data.draw(st.sampled_from(choices))
    new = copy.deepcopy(spec)
    setattr(new[table], what, tuple(n for n in getattr(spec[table], what) if n != names))
    return new


# The composite edits twice: they need a table with the right columns first.
EDITS = [add_table, add_related_tables, add_association, drop_table, drop_related_tables,
         add_column, drop_column, rename_column, change_type, toggle, add_composite,
         add_composite, add_composite_fk, add_composite_fk, drop_composite]


def walk(pair, work, data):
    """A random history of a few steps, from one small table; each step is the first of a
    few drawn edits that applies (the later shapes need tables and columns to work on)."""
    with history(pair, work, {"base": Table({"name": Col("string")})}) as steps:
        for step in range(data.draw(st.integers(1, 5), label="steps")):
            for _ in range(10):
                edit = data.draw(st.sampled_from(EDITS), label=f"edit {step}")
                new = edit(steps.spec, data)
                if new is not None:
                    event(edit.__name__)
                    steps.step(new, edit.__name__)
                    break


# make test draws the same examples each run (CI is never red by chance); make fuzz (which
# sets FUZZ_EXAMPLES) draws new ones from its seed.
CAMPAIGN = "FUZZ_EXAMPLES" in os.environ


def fuzz_settings(examples):
    return settings(max_examples=examples, deadline=None, print_blob=True, derandomize=not CAMPAIGN,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("pair", SAME, ids=pair_id, indirect=True)
@fuzz_settings(EXAMPLES)
@given(data=st.data())
def test_random_model_histories(pair, tmp_path_factory, data):
    walk(pair, tmp_path_factory.mktemp("fuzz"), data)


@pytest.mark.parametrize("pair", CROSS, ids=pair_id, indirect=True)
@fuzz_settings(CROSS_EXAMPLES)
@given(data=st.data())
def test_cross_backend_histories(pair, tmp_path_factory, data):
    walk(pair, tmp_path_factory.mktemp("fuzz"), data)
