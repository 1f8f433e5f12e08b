"""Readable lines for what autogenerate and `db check` find."""
import pytest
from sqlalchemy import (CheckConstraint, Column, Enum, ForeignKey, Index, Integer, MetaData, String,
                        Table, UniqueConstraint, text)
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import DefaultClause

from flask_safemigrate.migrate_tools.report import describe_difference, describe_differences

metadata = MetaData()
user = Table("user", metadata, Column("id", Integer, primary_key=True))
note = Table("note", metadata, Column("id", Integer, primary_key=True), Column("a", String(20)),
             Column("b", Integer), Column("user_id", ForeignKey("user.id", name="fk_note_user_id_user")),
             UniqueConstraint("a", "b", name="uq_note_a"),
             CheckConstraint("b > 0", name="ck_note_positive"))
index = Index("ix_note_b", note.c.b)
fk = next(iter(note.foreign_key_constraints))
uq, ck = (next(c for c in note.constraints if c.name == name) for name in ("uq_note_a", "ck_note_positive"))


@pytest.mark.parametrize("diff, line", [
    (("add_table", note), "table note: in the models, not in the migrations"),
    (("remove_column", None, "note", note.c.b), "column note.b: in the migrations, not in the models"),
    (("add_constraint", uq),
     "unique constraint uq_note_a on note(a, b): in the models, not in the migrations"),
    (("remove_constraint", ck),
     "check constraint ck_note_positive on note: in the migrations, not in the models"),
    (("add_fk", fk), "foreign key fk_note_user_id_user on note(user_id) -> user(id): in the models,"
                     " not in the migrations"),
    (("remove_index", index), "index ix_note_b on note(b): in the migrations, not in the models"),
    (("modify_type", None, "note", "a", {}, String(20), String(40)),
     "column note.a: type VARCHAR(20) in the migrations, VARCHAR(40) in the models"),
    (("modify_nullable", None, "note", "a", {}, True, False),
     "column note.a: NULL in the migrations, NOT NULL in the models"),
    (("modify_default", None, "note", "b", {}, DefaultClause(text("0")), None),
     "column note.b: default 0 in the migrations, none in the models"),
    (("modify_type", None, "note", "a", {}, Enum("x", "y", name="kind"), Enum("x", "y", "z", name="kind")),
     "column note.a: values ('x', 'y') in the migrations, ('x', 'y', 'z') in the models"),
    (("modify_type", None, "note", "a", {}, Enum("x", name="kind"), Enum("x", name="note_kind")),
     "column note.a: type name kind in the migrations, note_kind in the models"),
])
def test_each_difference_is_one_readable_line(diff, line):
    assert describe_difference(diff, postgresql.dialect()) == line


def test_a_changed_column_comes_as_a_list_of_differences():
    changed = [("modify_type", None, "note", "a", {}, String(20), String(40)),
               ("modify_nullable", None, "note", "a", {}, True, False)]
    assert describe_differences([("add_table", user), changed]) == [
        "table user: in the models, not in the migrations",
        "column note.a: type VARCHAR(20) in the migrations, VARCHAR(40) in the models",
        "column note.a: NULL in the migrations, NOT NULL in the models"]
