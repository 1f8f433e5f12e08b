"""bin/scaffold (make scaffold): a new app from the toolkit's template, with this project's
example domain (or --bare), that works out of the box and after the user's own model edits."""
import os
import re
import subprocess
import sys

import pytest

from .conftest import ROOT, edit, make, ok

SCAFFOLD = ROOT / "bin" / "scaffold"
NEW, OTHER = "blog", "shop"


def scaffold(*args, cwd=None):
    return subprocess.run([sys.executable, str(SCAFFOLD), *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=120)


def files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


def mentions_of_the_old_name(folder):
    """Paths and text lines under `folder` that say myapp, in any case (grep -ri)."""
    found = []
    for path in folder.rglob("*"):
        if re.search("myapp", str(path.relative_to(folder)), re.IGNORECASE):
            found.append(str(path))
        if path.is_file():
            found += [f"{path}: {line}" for line in path.read_bytes().decode("latin-1").splitlines()
                      if re.search("myapp", line, re.IGNORECASE)]
    return found


@pytest.mark.parametrize("name, why", [
    ("1blog", "not a valid Python package name"), ("my-blog", "not a valid Python package name"),
    ("class", "not a valid Python package name"), ("Blog", "lowercase"),
    ("flask", "installed package flask"), ("sqlalchemy", "installed package sqlalchemy"),
    ("email", "standard library module email"), ("test", "standard library module test"),
    ("json", "standard library module json"), ("tests", "a folder of the project"),
    ("myapp", "this project's own package name"),
])
def test_a_bad_name_writes_nothing(tmp_path, name, why):
    result = scaffold(name, tmp_path / NEW)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and why in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert files(tmp_path) == []


def test_a_name_that_contains_this_projects_own_is_fine(tmp_path):
    """Only the example domain's files are renamed: myapp_v2 is a package name like any other."""
    ok(scaffold("myapp_v2", tmp_path / "v2"))
    assert (tmp_path / "v2" / "myapp_v2" / "models" / "user.py").exists()
    assert "from myapp_v2 import create_app" in (tmp_path / "v2" / "bin" / "manage.py").read_text()


def test_a_bad_dest_writes_nothing(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    before = files(tmp_path)
    not_empty = "exists and is not an empty folder"
    for dest, why in [(taken, not_empty), (a_file, not_empty),
                      (ROOT / "var" / NEW, "inside this project"), (ROOT, "inside this project"),
                      (tmp_path / "no" / "such" / "parent", "does not exist")]:
        result = scaffold(NEW, dest)
        assert result.returncode == 1 and why in result.stderr, (dest, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert files(tmp_path) == before and (taken / "keep.txt").read_text() == "mine"
    assert not (ROOT / "var" / NEW).exists()


@pytest.mark.parametrize("args", [[], [NEW], [NEW, "a", "b"], [NEW, "x", "--barely"]])
def test_usage(tmp_path, args):
    result = scaffold(*args, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("Error: usage: scaffold NAME DEST")
    assert files(tmp_path) == []


def test_make_scaffold_needs_name_and_dest(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
    result = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "scaffold", f"NAME={NEW}"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "usage: make scaffold NAME=blog DEST=../blog" in result.stderr


def test_a_new_project_is_renamed_throughout_with_fresh_secrets(tmp_path):
    ok(scaffold(NEW, tmp_path / NEW))
    ok(scaffold(OTHER, tmp_path / OTHER))
    blog = tmp_path / NEW
    assert mentions_of_the_old_name(blog) == []
    assert (blog / NEW / "__init__.py").exists() and not (blog / "myapp").exists()
    assert f"from {NEW} import create_app" in (blog / "bin" / "manage.py").read_text()
    assert f'name="{NEW}"' in (blog / "setup.py").read_text()
    secrets_of = {}
    for project in (ROOT, blog, tmp_path / OTHER):
        for conf in ("dev.conf", "testing.conf"):
            text = (project / "etc" / "conf" / conf).read_text()
            secrets_of[project.name, conf] = re.search(r"^SECRET_KEY = (.*)$", text, re.M).group(1)
    assert len(set(secrets_of.values())) == len(secrets_of)  # every one fresh, none shared
    assert all(re.fullmatch(r'"[0-9a-f]{64}"', v) for (p, _), v in secrets_of.items() if p != ROOT.name)
    assert 'from_env("SECRET_KEY"' in (blog / "etc" / "conf" / "production.conf").read_text()
    # The example domain comes along, renamed; none of this project's tests or toolkit.
    assert (blog / NEW / "models" / "user.py").exists()
    assert sorted(p.name for p in (blog / NEW / "migrations" / "versions").glob("*.py")) == \
        sorted(p.name for p in (ROOT / "myapp" / "migrations" / "versions").glob("*.py"))
    assert sorted(p.name for p in (blog / "tests").iterdir()) == ["__init__.py", "conftest.py", "test_app.py",
                                                                   "test_migrations.py"]
    assert not (blog / "flask-safemigrate").exists() and not list(blog.rglob("migrate_tools"))
    log = subprocess.run(["git", "log", "--format=%s"], cwd=blog, capture_output=True, text=True)
    assert log.stdout.splitlines() == [f"New project: {NEW}"]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=blog, capture_output=True, text=True)
    assert status.stdout == ""


def test_this_apps_own_files_are_the_template_rendered(tmp_path):
    """myapp is an app like any other: what the template renders for it is what it holds."""
    ok(scaffold(NEW, tmp_path / NEW, "--bare"))
    blog = tmp_path / NEW
    for path in ["bin/manage.py", "etc/conf/production.conf", "{}/__init__.py", "{}/extensions.py",
                 "{}/views.py", "{}/migrations/env.py", "{}/migrations/alembic.ini",
                 "{}/migrations/script.py.mako"]:
        rendered = (blog / path.format(NEW)).read_text().replace(NEW, "myapp")
        assert rendered == (ROOT / path.format("myapp")).read_text(), path


@pytest.mark.parametrize("bare", [False, True])
def test_the_new_project_passes_make_db_and_make_test(tmp_path, bare):
    """`make db` and `make test` in the new project, with or without the example domain, on
    every backend (in this run's virtualenv: conftest's make)."""
    project = tmp_path / NEW
    ok(scaffold(NEW, project, *(["--bare"] if bare else [])))
    if bare:
        assert not (project / NEW / "models" / "user.py").exists()
        assert list((project / NEW / "migrations" / "versions").glob("*.py")) == []
    db = ok(make(project, "db"))
    assert ("starter data: none" in db) is bare
    test = make(project, "test")
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert re.search(r"\d+ passed", test.stdout)
    assert " failed" not in test.stdout.splitlines()[-1]


SHOP = '''"""Shops and their products: composite keys and foreign keys to the example models."""
from decimal import Decimal

from sqlalchemy import Column, Enum, ForeignKey, Numeric, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

product_tags = Table(
    "product_tags", db.metadata,
    Column("product_id", ForeignKey("product.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(40), primary_key=True),
)


class Shop(db.Model):
    __tablename__ = "shop"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    manager_role_id: Mapped[int | None] = mapped_column(ForeignKey("role.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(80), unique=True)


class Product(db.Model):
    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("shop_id", "sku"), UniqueConstraint("shop_id", "title"))
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    sku: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(Enum("draft", "live", name="product_status"), server_default="draft")
'''


def test_the_new_project_stays_green_through_the_users_model_edits(tmp_path):
    """New tables with composite keys and foreign keys to the example models, a rename, a
    dropped column of the example domain and a data migration, each by `make newmigration`
    (the data migration by `db revision`), then `make test` on every backend."""
    project = tmp_path / OTHER
    ok(scaffold(OTHER, project))
    models = project / OTHER / "models"
    (models / "shop.py").write_text(SHOP)
    with open(models / "__init__.py", "a") as f:
        f.write("from .shop import Product, Shop, product_tags  # noqa: E402,F401\n")
    ok(make(project, "newmigration", "MSG=add shops"))
    edit(models / "shop.py", 'title: Mapped[str] = mapped_column(String(120))',
         'name: Mapped[str] = mapped_column(String(120))')
    edit(models / "shop.py", 'UniqueConstraint("shop_id", "title")', 'UniqueConstraint("shop_id", "name")')
    assert "rename" in ok(make(project, "newmigration", "MSG=rename product title", "RENAMES=yes"))
    edit(models / "user.py", "    last_login_ip: Mapped[str | None] = mapped_column(String(45))\n", "")
    ok(make(project, "newmigration", "MSG=drop last login ip"))
    env = {**os.environ, "SETTINGS": str(project / "etc" / "conf" / "dev.conf"), "PYTHONPATH": str(project)}
    ok(subprocess.run([sys.executable, str(project / "bin" / "manage.py"), "db", "revision", "-m",
                       "lowercase emails"], cwd=project, env=env, capture_output=True, text=True))
    data = next((project / OTHER / "migrations" / "versions").glob("*_lowercase_emails.py"))
    edit(data, "def upgrade():\n    pass", "def upgrade():\n    user = sa.table(\"user\", sa.column(\"email\", sa.String))\n"
         "    op.execute(user.update().values(email=sa.func.lower(user.c.email)))")
    ok(make(project, "snapshot"))  # a migration written by hand: its schema.txt again
    ok(make(project, "db"))
    test = make(project, "test")
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert re.search(r"sqlite \d+ passed", test.stdout) and " failed" not in test.stdout.splitlines()[-1]
    assert "skipped" not in test.stdout.splitlines()[-1] or not os.environ.get("REQUIRE_BACKENDS")
