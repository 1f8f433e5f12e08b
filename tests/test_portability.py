"""Develop on one backend, deploy to another: the README's workflow across backends.

Migrations are written by `make newmigration` against the dev database of one backend, then
applied with `bin/manage.py db upgrade` to a non-disposable database of another backend that
holds rows; after each step `db check` is clean there and the schema is the one create_all
gives the models on that backend. At the end everything is downgraded and upgraded again.
"""
import os
import subprocess
import sys

import pytest

from flask_safemigrate.testing import dbstate
from .conftest import (PAIRS, edit, insert, make, new_database, ok, pair_id, snapshot, use_backend,
                       write_conf)

CROSS = [pair for pair in PAIRS if pair[0] != pair[1]]

SHOP = '''"""Shops and their items: composite constraints that share a first column."""
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Shop(db.Model):
    __tablename__ = "shop"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class Item(db.Model):
    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("shop_id", "sku"), UniqueConstraint("shop_id", "title"),
                      Index(None, "shop_id", "price"))

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(40), server_default="standard")
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="1.50")
    kind: Mapped[str] = mapped_column(String(10), server_default="plain")
'''


@pytest.fixture(params=CROSS, ids=pair_id)
def dev_and_production(request, tmp_path):
    """(a dev database to generate on, a production database of another backend), each new."""
    generate, apply = request.param
    use_backend(request, apply, needs=[generate])
    made = []
    for backend in request.param:
        (tmp_path / backend).mkdir()
        made.append(new_database(backend, tmp_path / backend))
    yield tuple(url for url, _ in made)
    for _, cleanup in made:
        cleanup()


def production(project, conf, *args):
    """bin/manage.py of the project copy on the production config, as a deploy would run it."""
    env = {**{k: v for k, v in os.environ.items() if k not in ("SETTINGS", "DEV_DATABASE_URL")},
           "SETTINGS": str(conf), "PYTHONPATH": str(project)}
    return subprocess.run([sys.executable, str(project / "bin" / "manage.py"), *args], cwd=project,
                          env=env, capture_output=True, text=True, timeout=300)


def models_schema(project, url):
    """The schema create_all gives the project's models on `url` (an empty database)."""
    code = ("import sys; from myapp import create_app; from myapp.extensions import db\n"
            "app = create_app(sys.argv[1], {'SQLALCHEMY_DATABASE_URI': sys.argv[2]})\n"
            "with app.app_context(): db.create_all(); db.engine.dispose()\n")
    conf = write_conf(project / "etc" / "conf" / "reference.conf", url)
    result = subprocess.run([sys.executable, "-c", code, str(conf), url], cwd=project,
                            env={**os.environ, "PYTHONPATH": str(project)}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return snapshot(url)[0]


def enum_values(url):
    """{type or column: values} of the Enums the database holds (PostgreSQL: its types)."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            insp = inspect(connection)
            if engine.dialect.name == "postgresql":
                return {e["name"]: e["labels"] for e in insp.get_enums()}
            return {f"{t}.{c['name']}": list(c["type"].enums) for t in insp.get_table_names()
                    for c in insp.get_columns(t) if hasattr(c["type"], "enums")}
    finally:
        engine.dispose()


def test_generate_on_one_backend_deploy_to_another(project, dev_and_production, tmp_path):
    dev_url, prod_url = dev_and_production
    env = {"DEV_DATABASE_URL": dev_url}
    conf = write_conf(tmp_path / "production.conf", prod_url, disposable=False)
    ok(make(project, "db", env=env))
    ok(production(project, conf, "db", "upgrade"))
    insert(prod_url, "user", email="kept@example.com", password="x", active=True)
    base_schema = snapshot(prod_url)[0]
    user_py, models = project / "myapp/models/user.py", project / "myapp/models/__init__.py"
    reference = tmp_path / "reference"
    reference.mkdir()
    reference_url, drop_reference = new_database(pair_backend(prod_url), reference)

    def step(message, *expected, renames=False):
        out = ok(make(project, "newmigration", f"MSG={message}", *(["RENAMES=yes"] if renames else []),
                      env=env))
        for line in expected:
            assert f"  {line}" in out, (line, out)
        ok(make(project, "migrate", env=env))
        ok(make(project, "check", env=env))
        applied = production(project, conf, "db", "upgrade")
        assert applied.returncode == 0 and "Traceback" not in applied.stderr, applied.stderr
        ok(production(project, conf, "db", "check"))
        schema = snapshot(prod_url)[0]
        from flask_safemigrate.migrate_tools.reset import empty_database
        empty_database(reference_url)
        assert schema == models_schema(project, reference_url), message
        return schema

    try:
        # 1. An Enum column, a Boolean default, a timezone-aware DateTime default, a JSON default.
        edit(user_py, "from sqlalchemy import String", "from sqlalchemy import JSON, DateTime, Enum, String, func, true")
        edit(user_py, "    active: Mapped[bool] = mapped_column(default=True)\n",
             "    active: Mapped[bool] = mapped_column(default=True)\n"
             "    plan = mapped_column(Enum('free', 'pro', name='plan'))\n"
             "    vip: Mapped[bool] = mapped_column(server_default=true())\n"
             "    seen_at = mapped_column(DateTime(timezone=True), server_default=func.now())\n"
             "    settings = mapped_column(JSON, server_default='{}')\n")
        step("add plan", "create enum type plan (free, pro)", "add column user.plan")
        insert(prod_url, "user", email="pro@example.com", password="x", active=True, plan="pro")

        # 2. Related tables with composite unique constraints sharing their first column.
        (project / "myapp/models/shop.py").write_text(SHOP)
        edit(models, "from .user import User\n", "from .shop import Item, Shop\nfrom .user import User\n")
        schema = step("add shops", "create table shop", "create table item")
        assert [u[0] for u in schema["item"]["uniques"] or schema["item"]["indexes"]
                if u[0].startswith("uq_")] == ["uq_item_shop_id_sku", "uq_item_shop_id_title"]
        insert(prod_url, "shop", name="corner")
        shop_id = next(iter(snapshot(prod_url)[1]["shop"]))[0]
        insert(prod_url, "item", shop_id=shop_id, sku="A1", title="first", kind="plain")
        insert(prod_url, "item", shop_id=shop_id, sku="A2", title="second", kind="plain")

        # 3. A value added to the Enum: PostgreSQL's type gets it too.
        edit(user_py, "Enum('free', 'pro', name='plan')", "Enum('free', 'pro', 'team', name='plan')")
        step("team plan", "alter enum type plan (free, pro -> free, pro, team)")
        insert(prod_url, "user", email="team@example.com", password="x", active=True, plan="team")
        if not prod_url.startswith("sqlite"):  # SQLite keeps no values (a VARCHAR)
            values = enum_values(prod_url)
            assert values.get("plan", values.get("user.plan")) == ["free", "pro", "team"]

        # 4. A String column becomes an Enum (the rows hold its values), default kept.
        edit(project / "myapp/models/shop.py", 'kind: Mapped[str] = mapped_column(String(10), server_default="plain")',
             'kind: Mapped[str] = mapped_column(Enum("plain", "fancy", name="item_kind"),'
             ' server_default="plain")')
        edit(project / "myapp/models/shop.py", "from sqlalchemy import ForeignKey,", "from sqlalchemy import Enum, ForeignKey,")
        step("item kinds", "create enum type item_kind (plain, fancy)")
        kept = snapshot(prod_url)[1]
        assert sorted(i["kind"] for i in kept["item"].values()) == ["plain", "plain"]

        # 5. A table renamed (answering yes): its constraints and the key to it follow its name.
        shop_py = project / "myapp/models/shop.py"
        edit(shop_py, '__tablename__ = "shop"', '__tablename__ = "store"')
        edit(shop_py, 'ForeignKey("shop.id"', 'ForeignKey("store.id"')
        schema = step("rename shops to stores", "rename table shop to store", renames=True)
        assert schema["store"]["pk"] == ("id",) and "shop" not in schema
        assert [fk[0] for fk in schema["item"]["fks"]] == ["fk_item_shop_id_store"]
        assert len(snapshot(prod_url)[1]["store"]) == 1 and len(snapshot(prod_url)[1]["item"]) == 2

        # 6. Both related tables dropped in one step, and the Enum column dropped.
        (project / "myapp/models/shop.py").unlink()
        edit(models, "from .shop import Item, Shop\n", "")
        edit(user_py, "    plan = mapped_column(Enum('free', 'pro', 'team', name='plan'))\n", "")
        schema = step("drop stores and plans", "drop table item", "drop table store")
        assert "store" not in schema and "item" not in schema
        assert enum_values(prod_url) == {}

        # Every step down again, then up: same schema, rows kept (in the columns that stayed).
        before = snapshot(prod_url)
        base_columns = set(base_schema["user"]["columns"])
        before_rows = {"user": {pk: {c: v for c, v in row.items() if c in base_columns}
                                for pk, row in before[1]["user"].items()}}
        down = production(project, conf, "db", "downgrade", "--yes", "26e8359e75a0")
        assert down.returncode == 0 and "Traceback" not in down.stderr, down.stderr
        assert "plan" not in snapshot(prod_url)[0]["user"]["columns"]
        ok(production(project, conf, "db", "upgrade"))
        ok(production(project, conf, "db", "check"))
        after = snapshot(prod_url)
        assert after[0] == before[0]
        assert dbstate.kept(before_rows, after[1]) == []
    finally:
        drop_reference()


def pair_backend(url):
    return "sqlite" if url.startswith("sqlite") else "postgresql" if url.startswith("postgresql") else "mysql"
