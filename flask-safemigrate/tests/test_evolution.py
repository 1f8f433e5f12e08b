"""Model histories the fuzz campaign once broke, replayed on every pair of backends: migrations
written on one backend and applied on each (tests/evolution.py)."""
from dataclasses import replace

import pytest

from .evolution import Col, Table, history


def renamed(spec, table, old, new):
    """The spec with `table.old` renamed to `new`, in place."""
    columns = spec[table].columns
    return {**spec, table: replace(spec[table], columns={(new if c == old else c): v
                                                         for c, v in columns.items()})}


def changed(table, column, **fields):
    """An edit: `table.column` with other fields (kind, check, ...)."""
    def edit(spec):
        columns = {**spec[table].columns, column: replace(spec[table].columns[column], **fields)}
        return {**spec, table: replace(spec[table], columns=columns)}
    return edit


def added(table, **columns):
    """An edit: new columns on `table` (a new table if there is none)."""
    def edit(spec):
        old = spec.get(table, Table())
        return {**spec, table: replace(old, columns={**old.columns, **columns})}
    return edit


def dropped(*tables):
    """An edit: the tables gone, in one step."""
    return lambda spec: {t: v for t, v in spec.items() if t not in tables}


def composite(table, **fields):
    """An edit: `table` with composite uniques, indexes or fks (Table fields)."""
    return lambda spec: {**spec, table: replace(spec[table], **fields)}


LONG = "t_" + "x" * 48  # 50 characters: its constraint names exceed PostgreSQL's 63, MariaDB's 64
NOT_NULL_DEFAULT = {"default": True, "nullable": False, "may_be_null": False, "repeated": True}
PARENT = Table({"a": Col("int"), "b": Col("string"), "c": Col("date")}, uniques=(("a", "b"), ("a", "c")))

CASES = {
    # SQLite: the batch rebuild lost the unique constraint recreated under the new name.
    "rename a unique column": (
        {"base": Table({"name": Col("string"), "code": Col("int", unique=True)})},
        lambda spec: renamed(spec, "base", "code", "ref")),
    "rename an indexed column": (
        {"base": Table({"name": Col("string"), "code": Col("int", index=True)})},
        lambda spec: renamed(spec, "base", "code", "ref")),
    # SQLite: the batch copy CAST the values to DATETIME (numeric affinity): 2020-01-01 -> 2020;
    # its downgrade CAST them to DATE.
    "date to datetime": (
        {"base": Table({"name": Col("string"), "day": Col("date")})},
        changed("base", "day", kind="datetime")),
    # Every backend: autogenerate did not compare CHECK constraints at all.
    "add and drop a check constraint": (
        {"base": Table({"name": Col("string"), "n": Col("int")})},
        changed("base", "n", check=True), changed("base", "n", check=False)),
    "a column with a check constraint": (
        {"base": Table({"name": Col("string")})},
        lambda spec: {"base": Table({**spec["base"].columns, "n": Col("numeric", check=True)})}),
    "rename a numeric column": (
        {"base": Table({"name": Col("string")}), "t1": Table({"c0": Col("numeric")})},
        lambda spec: renamed(spec, "t1", "c0", "r0")),
    # MariaDB: the index replaced the key's own one, and dropping it (the downgrade) failed.
    "index a foreign key column": (
        {"base": Table({"name": Col("string"), "c0": Col("int", fk=("base", None))})},
        changed("base", "c0", index=True)),
    "unindex a foreign key column": (
        {"base": Table({"name": Col("string"), "c0": Col("int", fk=("base", None), index=True)})},
        changed("base", "c0", index=False)),
    "boolean to integer": (
        {"base": Table({"name": Col("string"), "flag": Col("bool")})},
        changed("base", "flag", kind="int")),
    # A server default kept through String -> Text (MariaDB allows a literal default on TEXT).
    "string with a default to text": (
        {"base": Table({"name": Col("string", default=True, nullable=False, may_be_null=False)})},
        changed("base", "name", kind="text")),
    # Cross-backend (issue 13): each fails on some pair of (generating, applying) backends.
    "add an enum column": (
        {"base": Table({"name": Col("string")})}, added("base", e=Col("enum"))),
    "add an enum value": (
        {"base": Table({"name": Col("string"), "e": Col("enum")})},
        changed("base", "e", values=("a", "b", "v2"))),
    "drop an enum column (and its type)": (
        {"base": Table({"name": Col("string"), "e": Col("enum", default=True)})},
        lambda spec: {"base": Table({"name": Col("string")})}),
    "string to enum and back": (
        {"base": Table({"name": Col("string"), "code": Col("string", coded=True)})},
        changed("base", "code", kind="enum", coded=False),
        changed("base", "code", kind="string", coded=True)),
    "defaults of every kind": (
        {"base": Table({"name": Col("string")})},
        added("base", flag=Col("bool", **NOT_NULL_DEFAULT), price=Col("numeric", **NOT_NULL_DEFAULT),
              at=Col("datetime", **NOT_NULL_DEFAULT), at_tz=Col("datetimetz", **NOT_NULL_DEFAULT),
              doc=Col("json", **NOT_NULL_DEFAULT), label=Col("string", **NOT_NULL_DEFAULT),
              kind=Col("enum", **NOT_NULL_DEFAULT))),
    "composite uniques and indexes sharing a first column": (
        {"base": Table({"a": Col("int"), "b": Col("int"), "c": Col("int")})},
        composite("base", uniques=(("a", "b"), ("a", "c")), indexes=(("a", "b"), ("a", "c")))),
    "composite foreign keys sharing a first column": (
        {"parent": PARENT},
        lambda spec: {**spec, "child": Table(
            {"x": Col("int"), "y": Col("string"), "z": Col("date")},
            fks=((("x", "y"), "parent", ("a", "b"), None), (("x", "z"), "parent", ("a", "c"), "CASCADE")))},
        added("child", n=Col("int"))),  # with rows in child that satisfy both keys
    "create and drop related tables": (
        {"base": Table({"name": Col("string")})},
        lambda spec: {**spec, "n0": Table({"c0": Col("int"), "parent_id": Col("int", fk=("base", None))}),
                      "n1": Table({"c0": Col("int"), "parent_id": Col("int", fk=("n0", "CASCADE"))})},
        added("base", c1=Col("int")),  # rows in both
        dropped("n0", "n1")),
    "long names": (
        {"base": Table({"name": Col("string")})},
        added(LONG, **{"c_" + "y" * 18: Col("int", unique=True, index=True, fk=("base", None)),
                       "e": Col("enum"), "a": Col("int"), "b": Col("int")}),
        composite(LONG, uniques=(("a", "b"),), indexes=(("a", "b"),))),
    # sqlite->mysql (make fuzz): a CHECK whose name is cut for MariaDB was reported as
    # dropped and added by `db check` (alembic.ext.checkconstraint_byname compares full names).
    "a check constraint on a long-named table": (
        {"base": Table({"name": Col("string")})},
        added(LONG, parent_id=Col("int", check=True))),
    # sqlite->mysql (make fuzz): the downgrade of a rename dropped the column's default
    # (MariaDB's CHANGE COLUMN restates the column, and the default was not given).
    "rename a json column with a default": (
        {"base": Table({"name": Col("string"), "c0": Col("json", default=True, repeated=True)})},
        lambda spec: renamed(spec, "base", "c0", "r0")),
    # mysql->mysql (make test's fuzz): dropping a unique constraint that a foreign key's
    # columns lead failed on MariaDB (1553: the key needs it) in the downgrade.
    "a composite unique led by a foreign key column": (
        {"base": Table({"name": Col("string")}),
         "n": Table({"parent_id": Col("int", fk=("base", None)), "c0": Col("int")})},
        composite("n", uniques=(("parent_id", "c0"),))),
    # mysql->mysql, postgresql->mysql (make fuzz): the same on a long-named table, whose
    # unique's name MariaDB has cut: the key's index was not kept (1553 in the downgrade).
    "a composite unique led by a foreign key column of a long-named table": (
        {"base": Table({"name": Col("string")}),
         LONG: Table({"parent_id": Col("int", fk=("base", None)), "c0": Col("int")})},
        composite(LONG, uniques=(("parent_id", "c0"),))),
    # mysql->sqlite (make fuzz): the downgrade of the rename did not restore the schema.
    "rename a foreign key column of a long-named table": (
        {"base": Table({"name": Col("string")}),
         LONG: Table({"c0": Col("string"), "parent_id": Col("int", fk=("base", None))})},
        lambda spec: renamed(spec, LONG, "parent_id", "r0")),
    # mysql->postgresql (make fuzz): PostgreSQL keeps an Enum type's name cut to 63 bytes, and
    # `db check` then reported the column's type as changed; the rebuild's "<name>_old" was cut
    # back to the name itself.
    "an enum type name over postgresql's limit": (
        {"base": Table({"name": Col("string")})},
        added(LONG, **{"c_" + "y" * 18: Col("enum")}),
        changed(LONG, "c_" + "y" * 18, values=("a", "b", "v2")),
        changed(LONG, "c_" + "y" * 18, values=("b", "a", "v2"))),
    # mysql->mysql (make fuzz): a JSON column with a default made nullable; its downgrade.
    "a json column with a default made nullable": (
        {"base": Table({"name": Col("string"), "c0": Col("json", **NOT_NULL_DEFAULT)})},
        changed("base", "c0", nullable=True)),
    # postgresql->mysql (make fuzz): MariaDB kept the foreign key's own index beside a
    # composite unique its column leads.
    "a composite unique on a referenced table led by its foreign key": (
        {"base": Table({"name": Col("string")})},
        lambda spec: {**spec, "n0": Table({"c0": Col("string"), "parent_id": Col("int", fk=("base", None))}),
                      "n1": Table({"c0": Col("json"), "parent_id": Col("int", fk=("n0", None))})},
        composite("n0", uniques=(("parent_id", "c0"),)),
        dropped("n1")),
    # postgresql->postgresql (make fuzz): the default true compared with 0 by PostgreSQL
    # itself (Alembic's fallback): "operator does not exist: boolean = integer".
    "a boolean with a default to integer": (
        {"base": Table({"name": Col("string"), "flag": Col("bool", default=True)})},
        changed("base", "flag", kind="int")),
    # The fuzz generator's cycles of foreign keys (use_alter in the models, as SQLAlchemy asks):
    # autogenerate left a use_alter key out of create_table (Alembic #326), so `db check`
    # reported it missing and the downgrade could not drop the tables.
    "two new tables that refer to each other": (
        {"base": Table({"name": Col("string")})},
        lambda spec: {**spec, "n0": Table({"c0": Col("string"), "n1_id": Col("int", fk=("n1", None))}),
                      "n1": Table({"c0": Col("string"), "n0_id": Col("int", fk=("n0", "CASCADE"))})},
        dropped("n0", "n1")),
    "a foreign key that closes a cycle": (
        {"base": Table({"name": Col("string")}),
         "n0": Table({"c0": Col("string"), "base_id": Col("int", fk=("base", None))})},
        added("base", n0_id=Col("int", fk=("n0", None))),
        lambda spec: {**spec, "base": Table({"name": Col("string")})}),
}


@pytest.mark.parametrize("case", CASES)
def test_history(pair, tmp_path, case):
    start, *edits = CASES[case]
    with history(pair, tmp_path, start) as walk:
        for edit in edits:
            walk.step(edit(walk.spec), case)
