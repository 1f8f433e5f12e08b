"""Autogenerate is right on every backend: types, server defaults, constraints, enums."""
import pytest
from sqlalchemy import inspect

from flask_safemigrate.migrate_tools.connection import temporary_engine

from .conftest import edit, insert, make, ok, query, snapshot

GADGET = '''"""Gadget: a model that exercises the column kinds autogenerate must get right."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Integer, Numeric, String, func, text, true
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Gadget(db.Model):
    __tablename__ = "gadget"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")
    stock: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    label: Mapped[str] = mapped_column(String(10), server_default="new")
    size: Mapped[str] = mapped_column(Enum("small", "large", name="gadget_size"),
                                      server_default="small")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                                 index=True)
'''


def enums(url):
    with temporary_engine(url) as engine:
        with engine.connect() as connection:
            return [e["name"] for e in inspect(connection).get_enums()] \
                if engine.dialect.name == "postgresql" else []


def generate_and_apply(project, env, message, *expected):
    out = ok(make(project, "newmigration", f"MSG={message}", env=env))
    assert "wrote " in out, out
    for line in expected:
        assert f"  {line}" in out, (line, out)
    ok(make(project, "migrate", env=env))
    ok(make(project, "check", env=env))  # no false positives afterwards
    return out


def test_types_defaults_constraints_and_enums(project, database_url, backend):
    env = {"DEV_DATABASE_URL": database_url}
    ok(make(project, "db", env=env))
    (project / "myapp/models/gadget.py").write_text(GADGET)
    edit(project / "myapp/models/__init__.py", "from .user import User\n",
         "from .gadget import Gadget\nfrom .user import User\n")

    generate_and_apply(project, env, "add gadgets", "create table gadget",
                       "create index ix_gadget_owner_id on gadget")
    insert(database_url, "gadget", name="first")
    row = next(iter(snapshot(database_url)[1]["gadget"].values()))
    assert (row["stock"], row["label"], row["size"], bool(row["active"])) == (0, "new", "small", True)
    assert row["created_at"] is not None
    if backend == "postgresql":
        assert "gadget_size" in enums(database_url)

    gadget = project / "myapp/models/gadget.py"
    edit(gadget, "String(20), unique=True", "String(40), unique=True")
    edit(gadget, "Numeric(10, 2)", "Numeric(12, 4)")
    edit(gadget, 'mapped_column(Integer, server_default=text("0"))',
         'mapped_column(BigInteger, server_default=text("0"))')
    edit(gadget, "from sqlalchemy import Enum,", "from sqlalchemy import BigInteger, Enum,")
    edit(gadget, 'String(10), server_default="new"', 'String(10), server_default="fresh"')
    edit(gadget, 'Enum("small", "large", name="gadget_size")',
         'Enum("small", "large", "huge", name="gadget_size")')
    # A new enum type on an existing table:
    color = 'Enum("red", "blue", name="gadget_color")'
    edit(gadget, "    owner_id:", f"    color: Mapped[str | None] = mapped_column({color})\n    owner_id:")
    out = generate_and_apply(project, env, "grow gadgets", "alter column gadget.label: server default",
                             "add column gadget.color")
    if backend == "postgresql":
        assert sorted(enums(database_url)) == ["gadget_color", "gadget_size"]
    changes = {line.split(":")[0].split(".")[-1]: line for line in out.splitlines()
               if line.startswith("  alter column gadget.")}
    assert "-> VARCHAR(40)" in changes["name"]
    assert "-> NUMERIC(12, 4)" in changes["price"] or "-> DECIMAL(12, 4)" in changes["price"]
    assert "-> BIGINT" in changes["stock"]
    # Portable operations on every backend, no PostgreSQL SQL in the file (it runs elsewhere too).
    assert "  alter enum type gadget_size (small, large -> small, large, huge)" in out
    assert "  create enum type gadget_color (red, blue)" in out
    written = next(project.glob("myapp/migrations/versions/*grow_gadgets.py")).read_text()
    assert "op.execute" not in written and "DO $$" not in written
    insert(database_url, "gadget", name="x" * 40, size="huge", stock=2**40, color="blue")
    assert len(snapshot(database_url)[1]["gadget"]) == 2

    # Both downgrade, the enum type goes with its table, and upgrading again works.
    query(database_url, "DELETE FROM gadget WHERE size = 'huge'", autocommit=True)
    ok(make(project, "downgrade", env=env))
    ok(make(project, "downgrade", env=env))
    assert "gadget" not in snapshot(database_url)[0]
    assert enums(database_url) == []
    ok(make(project, "migrate", env=env))
    ok(make(project, "check", env=env))

