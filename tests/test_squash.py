"""`db squash REV`: one proved baseline for the history up to REV; databases before, at and after
REV, and a fresh one, on every backend."""
import os
import subprocess
import sys

from alembic.script import ScriptDirectory

from flask_safemigrate.migrate_tools.squash import differences
from flask_safemigrate.testing.plugin import new_database, run_manage

from .conftest import add_migration, edit, manage, query, snapshot, write_conf
from .test_bad_input import assert_one_line_error

LOOKUP = '''def upgrade():
    op.create_table("colour", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(20), nullable=False, server_default="red"),
                    sa.Column("kind", sa.Enum("warm", "cold", name="colour_kind"), nullable=True))
    op.create_index("ix_colour_name", "colour", ["name"], unique=True)
    op.execute("INSERT INTO colour (id, name) VALUES (1, 'red')")


def downgrade():
    op.drop_index("ix_colour_name", "colour")
    op.drop_table("colour")
    sa.Enum(name="colour_kind").drop(op.get_bind(), checkfirst=True)
'''

AFTER = '''def upgrade():
    with op.batch_alter_table("colour") as batch_op:
        batch_op.add_column(sa.Column("hex", sa.String(7), nullable=True))


def downgrade():
    with op.batch_alter_table("colour") as batch_op:
        batch_op.drop_column("hex")
'''


def run(migrations, conf, *args):
    return manage("db", "-d", str(migrations), *args, settings=conf)


def test_squash_keeps_every_database_working_or_says_what_to_do(tmp_path, database_url, migrations_copy, backend):
    first = ScriptDirectory(str(migrations_copy)).get_base()
    add_migration(migrations_copy, "sqsh0001", LOOKUP)
    add_migration(migrations_copy, "sqsh0002", AFTER)
    versions = migrations_copy / "versions"
    databases = {"at": database_url}
    cleanups = []
    for name in ("before", "after", "fresh"):
        (tmp_path / name).mkdir()
        url, cleanup = new_database(backend, tmp_path / name)
        databases[name] = url
        cleanups.append(cleanup)
    try:
        conf = {name: write_conf(tmp_path / f"{name}.conf", url) for name, url in databases.items()}
        for name, revision in (("before", first), ("at", "sqsh0001"), ("after", "heads")):
            assert run(migrations_copy, conf[name], "upgrade", revision).returncode == 0
        old_files = sorted(p.name for p in versions.glob("*.py"))

        squashed = run(migrations_copy, conf["at"], "squash", "sqsh0001", "-m", "baseline one")
        assert squashed.returncode == 0, squashed.stderr
        assert "one baseline for 3 migrations" in squashed.stdout and "proved on a scratch database" in squashed.stdout
        assert "these squashed migrations change rows" in squashed.stdout
        assert "  sqsh0001  sqsh0001  (" in squashed.stdout  # the data migration, named
        folder = migrations_copy / "squashed" / "sqsh0001"
        assert sorted(p.name for p in folder.glob("*.py")) == [n for n in old_files if n != "sqsh0002_test.py"]
        assert sorted(p.name for p in versions.glob("*.py")) == ["sqsh0001_baseline_one.py", "sqsh0002_test.py"]
        assert "down_revision = None" in (versions / "sqsh0001_baseline_one.py").read_text()

        at = run(migrations_copy, conf["at"], "upgrade")  # its journal's checksum of sqsh0001 holds
        assert at.returncode == 0 and "upgrade   sqsh0002" in at.stdout, at.stderr
        after = run(migrations_copy, conf["after"], "upgrade")
        assert after.returncode == 0 and "nothing to do" in after.stdout, after.stderr
        status = run(migrations_copy, conf["after"], "status")
        assert "pending: none" in status.stdout and "blocked" not in status.stdout, status.stdout + status.stderr
        fresh = run(migrations_copy, conf["fresh"], "upgrade")
        assert fresh.returncode == 0 and "upgrade   sqsh0001  baseline one" in fresh.stdout, fresh.stderr
        assert snapshot(databases["fresh"])[0] == snapshot(databases["after"])[0]
        assert query(databases["fresh"], "SELECT count(*) FROM colour") == [(0,)]  # no data migration

        kept = snapshot(databases["before"])
        before = run(migrations_copy, conf["before"], "upgrade")
        assert_one_line_error(before, f"the database is at {first}, which `db squash` folded into the"
                              " baseline sqsh0001", "a release from before the squash", "nothing was changed")
        assert snapshot(databases["before"]) == kept

        again = run(migrations_copy, conf["fresh"], "squash", "sqsh0001")
        assert_one_line_error(again, "sqsh0001 is the first migration: there is nothing to squash")
        unknown = run(migrations_copy, conf["fresh"], "squash", "nope")
        assert_one_line_error(unknown, "cannot squash at 'nope'")
    finally:
        for cleanup in cleanups:
            cleanup()


def test_a_difference_between_history_and_baseline_is_named():
    history = {"tables": {"user": {"columns": {"email": ("VARCHAR(255)", False, None, ())}, "pk": ("id",)}},
               "enum types": []}
    baseline = {"tables": {"user": {"columns": {"email": ("VARCHAR(80)", False, None, ())}, "pk": ("id",)},
                           "extra": {}}, "enum types": [("kind", ("a",))]}
    assert differences(history, baseline) == [
        "enum types: [] from the history, [('kind', ('a',))] from the baseline",
        "tables extra: built by the baseline, not by the history",
        "tables user columns email: ('VARCHAR(255)', False, None, ()) from the history,"
        " ('VARCHAR(80)', False, None, ()) from the baseline"]


def test_the_migration_suite_proves_each_baseline_on_every_backend(project):
    """The app's migration suite builds each squashed history and its baseline on every backend
    and fails, naming the difference, when they differ."""
    migrations = project / "myapp" / "migrations"
    add_migration(migrations, "sqsh0001", LOOKUP)
    env = {"PYTHONPATH": str(project)}
    squashed = run_manage(project, "db", "squash", "sqsh0001", settings=project / "etc/conf/dev.conf", env=env)
    assert squashed.returncode == 0, squashed.stderr

    def suite():
        return subprocess.run([sys.executable, "-m", "pytest", "tests/test_migrations.py", "-p", "no:cacheprovider",
                               "-k", "squashed_baselines"], cwd=project, capture_output=True, text=True,
                              env={**os.environ, **env, "SETTINGS": str(project / "etc/conf/testing.conf")})
    proved = suite()
    assert proved.returncode == 0, proved.stdout
    assert "sqlite 1 passed; postgresql 1 passed; mysql 1 passed" in proved.stdout
    baseline = next((migrations / "versions").glob("sqsh0001_*.py"))
    edit(baseline, "sa.String(length=20)", "sa.String(length=30)")
    broken = suite()
    assert broken.returncode == 1
    assert "the baseline sqsh0001" in broken.stdout and "differs from the history it replaced" in broken.stdout
    assert "columns name" in broken.stdout
