"""Rename detection in newmigration: answer one question, keep the data."""
import pytest

from .conftest import edit, insert, make, ok, snapshot

NOTE = '''"""Note: a table to rename."""
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Note(db.Model):
    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(200))
'''


def test_column_rename_keeps_every_row(project, database_url):
    env = {"DEV_DATABASE_URL": database_url}
    ok(make(project, "db", env=env))
    insert(database_url, "user", email="ip@example.com", password="x", active=True,
           last_login_ip="10.0.0.7")
    before = {u["email"]: u["last_login_ip"] for u in snapshot(database_url)[1]["user"].values()}
    edit(project / "myapp/models/user.py", "last_login_ip:", "last_seen_ip:")

    out = ok(make(project, "newmigration", "MSG=rename last login ip", "RENAMES=yes", env=env))
    assert "renaming user.last_login_ip to user.last_seen_ip: the data is kept" in out
    assert "  alter column user.last_login_ip: rename to last_seen_ip" in out
    assert "drop column" not in out and "add column" not in out
    ok(make(project, "migrate", env=env))
    after = {u["email"]: u["last_seen_ip"] for u in snapshot(database_url)[1]["user"].values()}
    assert after == before and after["ip@example.com"] == "10.0.0.7"
    ok(make(project, "check", env=env))
    ok(make(project, "downgrade", env=env))
    back = {u["email"]: u["last_login_ip"] for u in snapshot(database_url)[1]["user"].values()}
    assert back == before


def test_without_a_terminal_the_answer_is_no_with_a_hint(project, sqlite_url):
    env = {"DEV_DATABASE_URL": sqlite_url}
    ok(make(project, "db", env=env))
    edit(project / "myapp/models/user.py", "last_login_ip:", "last_seen_ip:")
    out = ok(make(project, "newmigration", "MSG=rename", env=env))
    assert "Did you rename user.last_login_ip to user.last_seen_ip? Taken as no" in out
    assert "RENAMES=yes" in out
    assert "  drop column user.last_login_ip" in out and "  add column user.last_seen_ip" in out


def _add_note(project, source, env):
    """Add the Note model (`source`) to the project, and migrate the database to it."""
    (project / "myapp/models/note.py").write_text(source)
    edit(project / "myapp/models/__init__.py", "from .user import User\n",
         "from .note import Note\nfrom .user import User\n")
    ok(make(project, "newmigration", "MSG=notes", env=env))
    ok(make(project, "migrate", env=env))


def test_table_rename_keeps_its_rows(project, database_url):
    env = {"DEV_DATABASE_URL": database_url}
    ok(make(project, "db", env=env))
    _add_note(project, NOTE, env)
    insert(database_url, "note", body="keep me")

    edit(project / "myapp/models/note.py", '__tablename__ = "note"', '__tablename__ = "memo"')
    out = ok(make(project, "newmigration", "MSG=notes become memos", "RENAMES=yes", env=env))
    assert "  rename table note to memo" in out
    ok(make(project, "migrate", env=env))
    schema, data, _ = snapshot(database_url)
    assert "note" not in schema and [r["body"] for r in data["memo"].values()] == ["keep me"]
    ok(make(project, "check", env=env))
    ok(make(project, "downgrade", env=env))
    assert [r["body"] for r in snapshot(database_url)[1]["note"].values()] == ["keep me"]


def test_in_a_terminal_newmigration_asks(project, sqlite_url):
    import os
    import pty
    import subprocess

    from .conftest import VENV

    env = {"DEV_DATABASE_URL": sqlite_url}
    ok(make(project, "db", env=env))
    edit(project / "myapp/models/user.py", "last_login_ip:", "last_seen_ip:")
    primary, secondary = pty.openpty()
    run = subprocess.Popen(["make", "--no-print-directory", "-C", str(project), f"VENV={VENV}", "-o",
                            f"{VENV}/.installed", "newmigration", "MSG=rename"],
                           stdin=secondary, stdout=secondary, stderr=secondary,
                           env={**os.environ, **env, "PYTHONPATH": str(project)})
    os.close(secondary)
    output = b""
    while b"[y/N]" not in output:
        output += os.read(primary, 1024)
    assert b"Did you rename user.last_login_ip to user.last_seen_ip? [y/N]" in output
    os.write(primary, b"y\n")
    while run.poll() is None:
        try:
            output += os.read(primary, 1024)
        except OSError:
            break
    run.wait(timeout=60)
    os.close(primary)
    assert run.returncode == 0 and b"rename to last_seen_ip" in output


CONSTRAINED_NOTE = '''"""Note: a table with a unique constraint, an index, a foreign key and a CHECK."""
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Note(db.Model):
    __tablename__ = "note"
    __table_args__ = (UniqueConstraint("body", "user_id"),
                      CheckConstraint("length(body) > 0", name="body_not_empty"))

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(200))
    tag: Mapped[str] = mapped_column(String(40), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
'''


def _names(schema, table):
    """The names of a table's unique constraints, indexes, foreign keys and CHECKs."""
    t = schema[table]
    uniques = {u[0] for u in t["uniques"]} | {i[0] for i in t["indexes"] if i[2]}  # MariaDB: an index
    fks = {fk[0] for fk in t["fks"]}
    indexes = {i[0] for i in t["indexes"] if not i[2] and i[0] not in fks}  # MariaDB: the FK's own
    return uniques, indexes, fks, set(t["checks"])


def test_table_rename_renames_its_constraints_and_indexes(project, database_url):
    env = {"DEV_DATABASE_URL": database_url}
    ok(make(project, "db", env=env))
    _add_note(project, CONSTRAINED_NOTE, env)
    user_id = next(iter(snapshot(database_url)[1]["user"].values()))["id"]
    insert(database_url, "note", body="keep me", tag="t", user_id=user_id)
    old = _names(snapshot(database_url)[0], "note")
    assert old == ({"uq_note_body_user_id"}, {"ix_note_tag"}, {"fk_note_user_id_user"},
                   {"ck_note_body_not_empty"}), old

    edit(project / "myapp/models/note.py", '__tablename__ = "note"', '__tablename__ = "memo"')
    out = ok(make(project, "newmigration", "MSG=notes become memos", "RENAMES=yes", env=env))
    assert "  rename table note to memo" in out
    for _ in range(2):  # upgrade, downgrade, and upgrade again
        ok(make(project, "migrate", env=env))
        schema, data, _ = snapshot(database_url)
        assert "note" not in schema and [r["body"] for r in data["memo"].values()] == ["keep me"]
        assert _names(schema, "memo") == ({"uq_memo_body_user_id"}, {"ix_memo_tag"}, {"fk_memo_user_id_user"},
                                          {"ck_memo_body_not_empty"})
        ok(make(project, "check", env=env))
        ok(make(project, "downgrade", env=env))
        schema, data, _ = snapshot(database_url)
        assert "memo" not in schema and [r["body"] for r in data["note"].values()] == ["keep me"]
        assert _names(schema, "note") == old



def _rename_questions(database_url, added_nullable):
    """{nullable or not: the questions rename detection asks} when a nullable column, and a
    table holding it, are dropped and one of the same type, of that nullability, is added: on a
    real backend, the dropped ones reflected from it as autogenerate has them."""
    from alembic.operations import ops
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine
    from sqlalchemy.pool import NullPool

    from flask_safemigrate.migrate_tools import renames

    engine = create_engine(database_url, poolclass=NullPool)
    asked = {}
    try:
        with engine.begin() as connection:
            Table("gadget", MetaData(), Column("id", Integer, primary_key=True),
                  Column("old_ip", String(45), nullable=True)).create(connection)
            reflected = Table("gadget", MetaData(), autoload_with=connection)
            impl = MigrationContext.configure(connection).impl
            for nullable in added_nullable:
                added = Column("new_ip", String(45), nullable=nullable)
                new_table = Table("widget", MetaData(), Column("id", Integer, primary_key=True),
                                  Column("old_ip", String(45), nullable=nullable))
                script = ops.MigrationScript("r1", ops.UpgradeOps([
                    ops.ModifyTableOps("gadget", [
                        ops.DropColumnOp.from_column_and_tablename(None, "gadget", reflected.c.old_ip),
                        ops.AddColumnOp.from_column_and_tablename(None, "gadget", added)]),
                    ops.DropTableOp.from_table(reflected), ops.CreateTableOp.from_table(new_table)]),
                    ops.DowngradeOps([]))
                asked[nullable] = []
                renames.detect(script, impl, lambda old, new: asked[nullable].append((old, new)) and False)
    finally:
        engine.dispose()
    return asked


def test_a_nullable_column_and_a_not_null_one_are_no_rename(database_url):
    # Same type, other nullability: not the same column, so no question (a yes would put the
    # old NULLs in a NOT NULL column, and the rename fail). The same nullability is asked.
    assert _rename_questions(database_url, [False, True]) == {
        False: [], True: [("gadget.old_ip", "gadget.new_ip"), ("gadget", "widget")]}
