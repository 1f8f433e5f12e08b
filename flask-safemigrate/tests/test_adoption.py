"""Adopting an existing Flask-Migrate app: its history, made by stock Flask-Migrate, runs
unchanged under the toolkit, with the constraint names stock gave it.

stock_history/ is a small app's history written by stock Flask-Migrate 4 (`flask db migrate`,
render_as_batch, no naming convention), edited by hand only as its authors would: unnamed
unique, composite unique and foreign-key constraints, an index, an Enum, a data migration, and
a later migration that drops a unique constraint by each backend's default name."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import TOOLKIT, insert, new_database, query, snapshot

STOCK = Path(__file__).resolve().parent / "stock_history"
README = TOOLKIT.parent / "README.md"
HEAD, MIDDLE = "82b745a8dd51", "12206f86acde"
HISTORY = ["721a221390eb", "12206f86acde", "ba1d9bc44021", "4a78c9fb9443", "82b745a8dd51"]


def readme_section():
    text = README.read_text()
    return text[text.index("## Adopting an existing Flask-Migrate app"):].split("\n## ")[0]


def readme_blocks(language):
    return [textwrap.dedent(b) for b in re.findall(rf"```{language}\n(.*?)```", readme_section(), re.S)]


def project(tmp_path, name):
    """A copy of the stock app and its migrations."""
    return Path(shutil.copytree(STOCK, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__")))


def flask(root, *args, url):
    """`flask --app stockapp ARGS` in the project, on the database at `url`."""
    environ = {k: v for k, v in os.environ.items() if k not in ("SETTINGS", "FLASK_APP")}
    environ.update(DATABASE_URL=url, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-m", "flask", "--app", "stockapp", *args], cwd=root,
                          env=environ, capture_output=True, text=True, timeout=300)


def ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result.stdout + result.stderr


def apply_readme_diff(root):
    """Step 2 of the README section, as written: its diff applied to the app's __init__.py."""
    (diff,) = readme_blocks("diff")
    path = root / "stockapp" / "__init__.py"
    source = path.read_text()
    for removed, added in re.findall(r"((?:^-.*\n)+)((?:^\+.*\n)+)", diff, re.M):
        old = "".join(line[1:] + "\n" for line in removed.splitlines())
        assert old in source, f"the README's diff does not fit a stock app: {old!r}"
        source = source.replace(old, "".join(line[1:] + "\n" for line in added.splitlines()))
    path.write_text(source)


def readme_commands():
    """Step 3 of the README section: its commands, for this app."""
    (install, commands) = readme_blocks("sh")
    assert install.split() == ["pip", "install", '"Flask-SafeMigrate[postgresql,mysql]"']
    return [line.replace("yourapp", "stockapp").split()[4:] for line in commands.splitlines()
            if line.startswith("flask --app yourapp db ")]


def adopted(tmp_path, name="adopted"):
    root = project(tmp_path, name)
    apply_readme_diff(root)
    return root


def versions_digest(root):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "migrations" / "versions").glob("*.py"))}


@pytest.fixture
def other_database(backend, tmp_path):
    """A second fresh database on the same backend, for what stock builds."""
    folder = tmp_path / "other"
    folder.mkdir()
    url, cleanup = new_database(backend, folder)
    yield url
    cleanup()


def journal(url):
    return query(url, "SELECT revision, direction, status, checksum FROM migration_journal ORDER BY id")


def add_rows(url):
    insert(url, "users", id=1, email="a@example.org", name="Ann", role="admin")
    insert(url, "teams", id=1, name="Red")
    insert(url, "memberships", id=1, user_id=1, team_id=1)


def test_the_readme_section_adopts_a_database_stock_built(tmp_path, database_url):
    stock = project(tmp_path, "stock")
    ok(flask(stock, "db", "upgrade", url=database_url))
    add_rows(database_url)
    root = adopted(tmp_path)
    before = versions_digest(root)
    outputs = [ok(flask(root, "db", *command, url=database_url)) for command in readme_commands()]
    assert [c[0] for c in readme_commands()] == ["adopt", "check", "upgrade"]
    adopt_output, check_output, upgrade_output = outputs
    assert f"safemigrate_adopted_at = {HEAD}" in (root / "migrations" / "alembic.ini").read_text()
    assert (root / "migrations" / "env.py.orig").read_text() == (stock / "migrations" / "env.py").read_text()
    assert "No new upgrade operations detected" in check_output
    assert f"nothing to do: the database is at {HEAD}" in upgrade_output
    assert versions_digest(root) == before  # the old files, byte for byte
    # The applied migrations are recorded with the checksums of their files, as baselines.
    rows = journal(database_url)
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted((rev, "baseline", "ok") for rev in HISTORY)
    assert all(r[3] for r in rows)
    assert query(database_url, "SELECT name FROM users") == [("Ann",)]
    # Adopting again changes nothing.
    assert "already adopted" in ok(flask(root, "db", "adopt", url=database_url))
    assert versions_digest(root) == before


def test_an_adopted_history_runs_from_empty_with_the_names_stock_gives(tmp_path, database_url, other_database):
    stock = project(tmp_path, "stock")
    ok(flask(stock, "db", "upgrade", url=other_database))
    root = adopted(tmp_path)
    ok(flask(root, "db", "adopt", url=database_url))
    ok(flask(root, "db", "upgrade", url=database_url))
    # The same schema as stock builds, constraint and index names included (the history's
    # last file drops users.email's unique constraint by the backend's default name).
    assert snapshot(database_url)[0] == snapshot(other_database)[0]
    ok(flask(root, "db", "check", url=database_url))
    assert [(r[0], r[1], r[2]) for r in journal(database_url)] == [(rev, "upgrade", "ok") for rev in HISTORY]
    add_rows(database_url)
    ok(flask(root, "db", "downgrade", "base", "--yes", url=database_url))
    assert query(database_url, "SELECT version_num FROM alembic_version") == []
    ok(flask(root, "db", "upgrade", url=database_url))
    ok(flask(root, "db", "check", url=database_url))
    assert snapshot(database_url)[0] == snapshot(other_database)[0]


def test_adopting_a_database_stock_built_to_a_middle_revision(tmp_path, database_url, other_database):
    stock = project(tmp_path, "stock")
    ok(flask(stock, "db", "upgrade", MIDDLE, url=database_url))
    add_rows(database_url)
    ok(flask(stock, "db", "upgrade", url=other_database))
    root = adopted(tmp_path)
    ok(flask(root, "db", "adopt", url=database_url))
    # Stock and the toolkit give the same verdict on a database behind its history.
    stock_check, our_check = flask(stock, "db", "check", url=database_url), flask(root, "db", "check", url=database_url)
    assert stock_check.returncode != 0 and our_check.returncode != 0
    assert "Target database is not up to date" in stock_check.stderr
    assert "not up to date" in our_check.stderr
    ok(flask(root, "db", "upgrade", url=database_url))
    rows = [(r[0], r[1], r[2]) for r in journal(database_url)]
    assert sorted(rows[:2]) == sorted((r, "baseline", "ok") for r in HISTORY[:2])  # newest first
    assert rows[2:] == [(r, "upgrade", "ok") for r in HISTORY[2:]]
    assert snapshot(database_url)[0] == snapshot(other_database)[0]
    assert query(database_url, "SELECT slug FROM teams") == [("red",)]  # the data migration ran
    ok(flask(root, "db", "check", url=database_url))


def test_check_reports_what_stock_reports_when_the_models_changed(tmp_path, database_url):
    stock = project(tmp_path, "stock")
    ok(flask(stock, "db", "upgrade", url=database_url))
    root = adopted(tmp_path)
    ok(flask(root, "db", "adopt", url=database_url))
    for app in (stock, root):
        models = app / "stockapp" / "models.py"
        models.write_text(models.read_text().replace(
            '    name = db.Column(db.String(80), nullable=False)\n',
            '    name = db.Column(db.String(80), nullable=False)\n    motto = db.Column(db.String(200))\n'))
        # The database's default that the models no longer declare: stock does not compare
        # server defaults, and neither does an adopted app (it reported one difference more).
        models.write_text(models.read_text().replace('server_default="member",', ""))
    stock_check, our_check = flask(stock, "db", "check", url=database_url), flask(root, "db", "check", url=database_url)
    assert stock_check.returncode != 0 and our_check.returncode != 0, our_check.stderr
    stock_ops = re.findall(r"(?:\[|, )\('(\w+)', ", stock_check.stderr)
    assert stock_ops == ["add_column"] and "motto" in stock_check.stderr
    assert "(1 difference)" in our_check.stderr and "teams.motto" in our_check.stderr
    # The advice is for this app, which has no make targets: its own command line.
    assert 'write a migration: flask --app stockapp db newmigration -m "..."' in our_check.stderr
    refused = flask(root, "db", "migrate", url=database_url)
    assert refused.returncode != 0 and "make" not in refused.stderr, refused.stderr
    assert 'flask --app stockapp db newmigration -m "..."' in refused.stderr
    assert "flask --app stockapp db upgrade" in refused.stderr


def test_adopt_takes_the_directory_and_advice_names_the_app_as_typed(tmp_path, database_url):
    """`db --directory DIR adopt` adopted ./migrations (or refused, naming an option adopt does
    not take); advice named the app by its import name, not as `flask --app` was given it."""
    root = adopted(tmp_path)
    shutil.move(root / "migrations", root / "elsewhere")
    app = ["--app", "stockapp:create_app()"]
    environ = {k: v for k, v in os.environ.items() if k not in ("SETTINGS", "FLASK_APP")}
    environ.update(DATABASE_URL=database_url, PYTHONPATH=str(root))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "flask", *app, "db", "--directory", "elsewhere", *args],
                              cwd=root, env=environ, capture_output=True, text=True, timeout=300)

    out = ok(run("adopt"))
    assert "safemigrate_adopted_at = 82b745a8dd51" in (root / "elsewhere" / "alembic.ini").read_text(), out
    assert (root / "elsewhere" / "env.py.orig").is_file()
    refused = run("migrate")
    assert refused.returncode != 0
    assert "flask --app 'stockapp:create_app()' db newmigration -m" in refused.stderr, refused.stderr


def test_newmigration_and_status_agree_with_check_after_a_column_restated(tmp_path, database_url):
    """A stock migration that changes only a column's nullability, naming VARCHAR as its existing
    type, turns an Enum into a VARCHAR on MariaDB (MODIFY restates the column): `db check` saw it,
    while newmigration (on a scratch database that kept the declared Enum) wrote nothing."""
    root = adopted(tmp_path)
    (root / "migrations" / "versions" / "0ld2_role_nullable.py").write_text(
        '"""role nullable"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
        f"revision = '0ld2'\ndown_revision = {HEAD!r}\n\n\n"
        "def upgrade():\n    with op.batch_alter_table('users') as batch_op:\n"
        "        batch_op.alter_column('role', existing_type=sa.VARCHAR(length=6), nullable=True,"
        " existing_server_default=sa.text(\"'member'\"))\n\n\n"
        "def downgrade():\n    pass\n")
    models = root / "stockapp" / "models.py"
    models.write_text(models.read_text().replace("        nullable=False,\n        server_default", "        nullable=True,\n        server_default"))
    ok(flask(root, "db", "adopt", url=database_url))
    ok(flask(root, "db", "upgrade", url=database_url))
    check = flask(root, "db", "check", url=database_url)
    status = flask(root, "db", "status", url=database_url)
    written = flask(root, "db", "newmigration", "-m", "role again", url=database_url)
    assert written.returncode == 0, written.stderr
    if check.returncode == 0:  # PostgreSQL and SQLite keep the type
        assert "No changes in the models" in written.stdout and "match the migrations" in status.stdout
    else:  # MariaDB: the column is VARCHAR now, and the new migration makes it the Enum again
        assert "users.role" in check.stderr and "users.role" in status.stdout + status.stderr, status.stdout
        assert "wrote " in written.stdout, written.stdout
        ok(flask(root, "db", "upgrade", url=database_url))
        ok(flask(root, "db", "check", url=database_url))


def test_a_history_that_does_not_load_is_not_adopted_half_way(tmp_path, database_url):
    """The toolkit's env.py was put in place before the history was read; a version file that
    did not import then left env.py swapped with no adoption record, and the old files would
    have run under the naming convention."""
    root = adopted(tmp_path)
    (root / "migrations" / "versions" / "0ld1_broken.py").write_text(
        "from oldapp.models import db  # noqa\nrevision = '0ld1'\ndown_revision = '82b745a8dd51'\n")
    before = {p.name: p.read_bytes() for p in (root / "migrations").iterdir() if p.is_file()}
    result = flask(root, "db", "adopt", url=database_url)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("Error:")]
    assert "0ld1_broken.py:1: ModuleNotFoundError" in line and "it imports 'oldapp'" in line, line
    assert {p.name: p.read_bytes() for p in (root / "migrations").iterdir() if p.is_file()} == before


def test_migrations_written_after_adoption_get_the_toolkits_names(tmp_path, database_url):
    root = adopted(tmp_path)
    dev = f"sqlite:///{tmp_path / 'dev.db'}"
    ok(flask(root, "db", "adopt", url=dev))
    ok(flask(root, "db", "upgrade", url=dev))
    models = root / "stockapp" / "models.py"
    models.write_text(models.read_text() + '''

class Project(db.Model):
    __tablename__ = "projects"
    id = db.Column(db.Integer, primary_key=True)
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id"), nullable=False)
    title = db.Column(db.String(80), nullable=False)
    __table_args__ = (db.UniqueConstraint("team_id", "title"),)
''')
    ok(flask(root, "db", "newmigration", "-m", "projects", url=dev))
    (written,) = set(versions_digest(root)) - set(versions_digest(project(tmp_path, "stock")))
    text = (root / "migrations" / "versions" / written).read_text()
    assert "uq_projects_team_id_title" in text and "fk_projects_team_id_teams" in text
    # Written on SQLite, it runs on every backend after the adopted history, with its names.
    ok(flask(root, "db", "upgrade", url=database_url))
    ok(flask(root, "db", "check", url=database_url))
    schema = snapshot(database_url)[0]["projects"]
    assert [u[0] for u in schema["uniques"] if u[1] == ("team_id", "title")] == ["uq_projects_team_id_title"] or \
        ("uq_projects_team_id_title", ("team_id", "title"), True) in schema["indexes"]
    assert [fk[0] for fk in schema["fks"]] == ["fk_projects_team_id_teams"]
    ok(flask(root, "db", "downgrade", HEAD, "--yes", url=database_url))
    assert "projects" not in snapshot(database_url)[0]


@pytest.mark.parametrize("written_on", ["sqlite", "backend"])
def test_constraints_made_before_adoption_are_dropped_on_every_backend(tmp_path, database_url, written_on):
    """Constraints stock Alembic made without names have a name of each backend's own (none on
    SQLite): a migration written on one backend that drops them must find them on the others."""
    root = adopted(tmp_path)
    dev = f"sqlite:///{tmp_path / 'dev.db'}"
    for url in (dev, database_url):
        ok(flask(root, "db", "adopt", url=url))
        ok(flask(root, "db", "upgrade", url=url))
    add_rows(database_url)
    models = root / "stockapp" / "models.py"
    source = models.read_text()
    for old, new in (('    __table_args__ = (db.UniqueConstraint("user_id", "team_id"),)\n', ""),
                     ('db.Column(db.Integer, db.ForeignKey("teams.id"))', "db.Column(db.Integer)")):
        assert old in source
        source = source.replace(old, new)
    models.write_text(source)
    drift = flask(root, "db", "check", url=dev if written_on == "sqlite" else database_url)
    assert drift.returncode != 0 and "memberships(user_id, team_id)" in drift.stderr, drift.stderr
    assert "memberships(team_id)" in drift.stderr and "<" not in drift.stderr, drift.stderr
    assert "uq_memberships" not in drift.stderr  # it has no such name in the database
    out = ok(flask(root, "db", "newmigration", "-m", "loose memberships",
                   url=dev if written_on == "sqlite" else database_url))
    (written,) = set(versions_digest(root)) - set(versions_digest(project(tmp_path, "stock")))
    text = (root / "migrations" / "versions" / written).read_text()
    assert "drop_constraint(None" not in text and "drop_constraint_by_columns" in text, text
    assert "memberships(user_id, team_id)" in out and "memberships(team_id)" in out, out
    for url in (dev, database_url):
        ok(flask(root, "db", "upgrade", url=url))
        ok(flask(root, "db", "check", url=url))
        insert(url, "memberships", id=2, user_id=1, team_id=1)  # the pair is no longer unique
        insert(url, "memberships", id=3, user_id=1, team_id=99)  # nor is team_id a team's
    assert query(database_url, "SELECT count(*) FROM memberships") == [(3,)]
    # The downgrade puts them back, under the convention's names, on rows that fit them.
    query(database_url, "DELETE FROM memberships WHERE id > 1", autocommit=True)
    ok(flask(root, "db", "downgrade", HEAD, "--yes", url=database_url))
    schema = snapshot(database_url)[0]["memberships"]
    assert ("uq_memberships_user_id_team_id", ("user_id", "team_id")) in schema["uniques"] or \
        ("uq_memberships_user_id_team_id", ("user_id", "team_id"), True) in schema["indexes"], schema
    assert ("fk_memberships_team_id_teams", ("team_id",), "teams", None) in schema["fks"], schema
    ok(flask(root, "db", "upgrade", url=database_url))
    ok(flask(root, "db", "check", url=database_url))


# What a migration written for an older app meets, and the one line that says what to change.
OLD_IDIOMS = {
    "old-package import": ("from oldapp.models import db  # noqa\n", "def upgrade():\n    pass",
                           "upgrade", r":4: ModuleNotFoundError: No module named 'oldapp'; it imports 'oldapp'"),
    "raw SQL string": ("", "def upgrade():\n    op.get_bind().execute('UPDATE teams SET slug = name')",
                       "upgrade", r":\d+: op.get_bind\(\).execute\(.*wrap it in sa.text"),
    "select of a list": ("", "def upgrade():\n    op.get_bind().execute(sa.select([sa.column('id')]))",
                         "upgrade", r":\d+: .*select\(\) takes its columns as arguments"),
    "drop_constraint(None)": ("", "def upgrade():\n    pass\n\n\ndef downgrade():\n"
                              "    op.drop_constraint(None, 'teams', type_='unique')",
                              "downgrade", r":\d+: op.drop_constraint\(None, 'teams'.*give it the name the database has"),
}


@pytest.mark.parametrize("idiom", OLD_IDIOMS)
def test_old_idioms_get_one_line_naming_the_file_line_and_fix(tmp_path, database_url, idiom):
    imports, body, direction, expected = OLD_IDIOMS[idiom]
    root = adopted(tmp_path)
    ok(flask(root, "db", "adopt", url=database_url))
    ok(flask(root, "db", "upgrade", url=database_url))
    if "def downgrade" not in body:
        body += "\n\n\ndef downgrade():\n    pass"
    path = root / "migrations" / "versions" / "0ld1_old_idiom.py"
    path.write_text(f'"""old idiom"""\nfrom alembic import op\nimport sqlalchemy as sa\n{imports}\n'
                    f"revision = '0ld1'\ndown_revision = {HEAD!r}\n\n\n{body}\n")
    if direction == "downgrade":
        ok(flask(root, "db", "upgrade", url=database_url))
        result = flask(root, "db", "downgrade", HEAD, "--yes", url=database_url)
    else:
        result = flask(root, "db", "upgrade", url=database_url)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("Error:")]
    assert re.search(r"migrations/versions/0ld1_old_idiom.py" + expected, line), line
    # Nothing half-done: the database is where it was.
    at = "0ld1" if direction == "downgrade" else HEAD
    assert query(database_url, "SELECT version_num FROM alembic_version") == [(at,)]


def test_adopt_cli_writes_bin_manage_and_make_targets_without_touching_the_app(tmp_path, database_url):
    root = adopted(tmp_path)
    app_code = {p: p.read_text() for p in (root / "stockapp").glob("*.py")}
    out = ok(flask(root, "db", "adopt", "--cli", url=database_url))
    assert f"wrote {root / 'bin' / 'manage.py'}" in out and f"wrote {root / 'Makefile'}" in out
    assert {p: p.read_text() for p in (root / "stockapp").glob("*.py")} == app_code
    environ = {**{k: v for k, v in os.environ.items() if k not in ("SETTINGS", "FLASK_APP", "MAKEFLAGS")},
               "DATABASE_URL": database_url}
    make = [shutil.which("make"), "--no-print-directory", "-C", str(root), f"SAFEMIGRATE_PYTHON={sys.executable}"]
    assert "upgrade   82b745a8dd51" in ok(subprocess.run(make + ["migrate"], env=environ, capture_output=True,
                                                          text=True, timeout=300))
    assert "No new upgrade operations detected" in ok(subprocess.run(
        make + ["check"], env=environ, capture_output=True, text=True, timeout=300))
    journal_out = ok(subprocess.run([sys.executable, "bin/manage.py", "db", "journal"], cwd=root, env=environ,
                                    capture_output=True, text=True, timeout=300))
    assert journal_out.count("upgrade ") == len(HISTORY)
    # Run again, it leaves what is there.
    assert "left " + str(root / "bin" / "manage.py") + " as it is" in ok(
        flask(root, "db", "adopt", "--cli", url=database_url))


def test_adopt_cli_writes_to_the_project_root_when_the_migrations_are_in_the_package(tmp_path, database_url):
    """The files went beside the migrations folder: inside the package, where `make` then ran
    bin/manage.py from a folder the app does not import from."""
    root = adopted(tmp_path)
    shutil.move(root / "migrations", root / "stockapp" / "migrations")
    init = root / "stockapp" / "__init__.py"
    init.write_text(init.read_text().replace(
        "migrate.init_app(app, db,", 'migrate.init_app(app, db, directory=os.path.join(BASE_DIR, "stockapp", "migrations"),'))
    out = ok(flask(root, "db", "adopt", "--cli", url=database_url))
    assert (root / "bin" / "manage.py").is_file() and (root / "Makefile").is_file(), out
    assert not (root / "stockapp" / "bin").exists()
    environ = {**{k: v for k, v in os.environ.items() if k not in ("SETTINGS", "FLASK_APP", "MAKEFLAGS")},
               "DATABASE_URL": database_url}
    # A project's PYTHON (ihatemoney's is `uv tool run/python3`) is its own tools'.
    make = [shutil.which("make"), "--no-print-directory", "-C", str(root), f"SAFEMIGRATE_PYTHON={sys.executable}",
            "PYTHON=/nonexistent/python3"]
    assert "upgrade   82b745a8dd51" in ok(subprocess.run(make + ["migrate"], env=environ, capture_output=True,
                                                          text=True, timeout=300))
