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
}


@pytest.mark.parametrize("case", CASES)
def test_history(pair, tmp_path, case):
    start, *edits = CASES[case]
    with history(pair, tmp_path, start) as walk:
        for edit in edits:
            walk.step(edit(walk.spec), case)
