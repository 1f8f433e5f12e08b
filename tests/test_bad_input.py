"""Bad input: one line saying what is wrong, a non-zero exit, never a traceback."""
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from .conftest import add_migration, manage, query, server_url, snapshot, write_conf


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_settings_unset():
    result = manage("db", "current")
    assert_one_line_error(result, "SETTINGS is not set", "dev.conf", "production.conf", "SETTINGS=")


def test_settings_unset_in_help_lists_builtin_commands():
    result = manage("--help")
    assert "Traceback" not in result.stderr and "SETTINGS is not set" in result.stderr
    assert "shell" in result.stdout


def test_missing_settings_file(tmp_path):
    assert_one_line_error(manage("db", "current", settings=tmp_path / "none.conf"),
                          "none.conf does not exist")


def test_syntax_error_in_settings(tmp_path):
    conf = tmp_path / "broken.conf"
    conf.write_text("SECRET_KEY = 'x'\nSQLALCHEMY_DATABASE_URI = 'sqlite://\n")
    assert_one_line_error(manage("db", "upgrade", settings=conf), f"{conf}:2", "syntax error")


@pytest.mark.parametrize("url, fragments", [
    ("sqlite:////nonexistent-dir/sub/app.db", ["cannot open the SQLite file", "folder exist"]),
    ("postgresql://bob:s3cret@127.0.0.1:9/app", ["cannot reach the database server at 127.0.0.1:9",
                                                  "is it running", "Connection refused"]),
    ("mysql://bob:s3cret@127.0.0.1:9/app", ["cannot reach the database server at 127.0.0.1:9"]),
])
def test_unreachable_database(tmp_path, url, fragments):
    result = manage("db", "upgrade", settings=write_conf(tmp_path / "a.conf", url))
    assert_one_line_error(result, *fragments)
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize("url, fragments", [
    ("postgresql+psycopg2://u:s3cret@localhost/x", ["driver for postgresql+psycopg2 is not installed",
                                                    "postgresql+psycopg://"]),
    ("oracle+nothing://u:s3cret@localhost/x", ["unknown database kind 'oracle+nothing'"]),
])
def test_missing_driver(tmp_path, url, fragments):
    result = manage("db", "current", settings=write_conf(tmp_path / "a.conf", url))
    assert_one_line_error(result, *fragments)
    assert "s3cret" not in result.stderr + result.stdout


def test_unknown_revision(tmp_path, database_url):
    result = manage("db", "upgrade", "abc123", settings=write_conf(tmp_path / "a.conf", database_url))
    assert_one_line_error(result, "Can't locate revision identified by 'abc123'")


def test_multiple_heads_are_named_with_the_merge_that_joins_them(tmp_path, database_url, migrations_copy):
    conf = write_conf(tmp_path / "a.conf", database_url)
    directory = ScriptDirectory(str(migrations_copy))
    head, base = directory.get_current_head(), directory.get_base()
    doc = directory.get_revision(head).doc
    branch = manage("db", "-d", str(migrations_copy), "revision", "-m", "branch", "--rev-id", "bbbb0001",
                    "--head", base, "--splice", settings=conf)
    assert branch.returncode == 0, branch.stderr
    versions = migrations_copy / "versions"
    explained = ["the migrations have 2 heads", f'{head} "{doc}" ({versions / head}_',
                 f'bbbb0001 "branch" ({versions / "bbbb0001_branch.py"})',
                 f"each was written after {base} without the others",
                 'join them with `make merge MSG="merge heads"`']
    for args in (["upgrade"], ["newmigration", "-m", "x"], ["stamp", "head"], ["reset", "--no-seed"],
                 ["check"], ["status"]):
        result = manage("db", "-d", str(migrations_copy), *args, settings=conf)
        assert_one_line_error(result, *explained)
    production = write_conf(tmp_path / "p.conf", database_url, disposable=False)
    result = manage("db", "-d", str(migrations_copy), "upgrade", settings=production)
    assert_one_line_error(result, f'`SETTINGS={production} bin/manage.py db merge -m "merge heads" heads`')
    merged = manage("db", "-d", str(migrations_copy), "merge", "-m", "merge heads", "heads", settings=conf)
    assert merged.returncode == 0, merged.stderr
    assert f"wrote {migrations_copy / 'schema.txt'}: the schema of the joined history" in merged.stdout
    assert manage("db", "-d", str(migrations_copy), "upgrade", settings=conf).returncode == 0
    status = manage("db", "-d", str(migrations_copy), "status", settings=conf)
    assert "database: matches its migrations" in status.stdout, status.stdout


def history_conf(tmp_path, database_url, migrations):
    """A conf, and a migration aaaa0001 applied to the database (the files' history, on any project)."""
    conf = write_conf(tmp_path / "a.conf", database_url)
    path = add_migration(migrations, "aaaa0001", GOOD_MIGRATION)
    result = manage("db", "-d", str(migrations), "upgrade", settings=conf)
    assert result.returncode == 0, result.stderr
    return conf, path


GOOD_MIGRATION = '''def upgrade():
    op.create_table("kept", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO kept (id) VALUES (1)")


def downgrade():
    op.drop_table("kept")
'''


@pytest.mark.parametrize("how", ["file deleted", "row written by hand"])
def test_a_database_at_a_revision_no_file_has_is_refused_before_anything_is_touched(
        tmp_path, database_url, migrations_copy, how):
    """`make migrate`, `check`, `downgrade`, `status` failed with internal errors; `make db` threw the
    database away first. Each names the revision and the fix, and changes nothing."""
    conf, path = history_conf(tmp_path, database_url, migrations_copy)
    if how == "file deleted":
        path.unlink()
        unknown = "aaaa0001"
    else:
        query(database_url, "UPDATE alembic_version SET version_num = 'fff0000fff00'", autocommit=True)
        unknown = "fff0000fff00"
    before = snapshot(database_url)
    for args in (["upgrade"], ["check"], ["downgrade"], ["status"], ["reset", "--no-seed"],
                 ["current"], ["stamp", "head"]):
        result = manage("db", "-d", str(migrations_copy), *args, settings=conf)
        assert_one_line_error(result, f"the database is at {unknown}, but no migration file has it:"
                                      f" restore it from git, or `SETTINGS={conf} bin/manage.py db stamp --purge")
        assert snapshot(database_url) == before, args

    # The fix the message gives works: stamp the revision the schema is at.
    directory = ScriptDirectory(str(migrations_copy))
    at = directory.get_current_head() or "base"
    stamp = manage("db", "-d", str(migrations_copy), "stamp", "--purge", at, settings=conf)
    assert stamp.returncode == 0, stamp.stderr
    assert manage("db", "-d", str(migrations_copy), "upgrade", settings=conf).returncode == 0


@pytest.mark.parametrize("write, fragments", [
    (lambda versions: (versions / "aaaa0001_test.py").write_text(
        (versions / "aaaa0001_test.py").read_text().replace("down_revision =", "previous =")),
     ["aaaa0001_test.py has no down_revision: set it to the revision this migration follows"]),
    (lambda versions: (versions / "zzzz_copy.py").write_text((versions / "aaaa0001_test.py").read_text()),
     ["aaaa0001_test.py and ", "zzzz_copy.py both have revision 'aaaa0001': give one of them"]),
    (lambda versions: (versions / "aaaa0002_next.py").write_text(
        "revision = 'aaaa0002'\ndown_revision = 'aaaa0009'\n\n\ndef upgrade():\n    pass\n"),
     ["aaaa0002_next.py follows revision 'aaaa0009' (its down_revision), but no migration file has it:"
      " restore that file from git"]),
], ids=["no down_revision", "duplicate revision", "unknown down_revision"])
def test_a_broken_migration_history_names_the_file_and_the_fix(tmp_path, sqlite_url, migrations_copy,
                                                               write, fragments):
    """Alembic warns, then fails inside our code (AttributeError, KeyError), or keeps one of two
    files silently while `db heads` exits 0. Reading the history: one line, nothing applied."""
    conf, _ = history_conf(tmp_path, sqlite_url, migrations_copy)
    write(migrations_copy / "versions")
    before = snapshot(sqlite_url)
    for args in (["upgrade"], ["heads"], ["history"], ["reset", "--no-seed"]):
        result = manage("db", "-d", str(migrations_copy), *args, settings=conf)
        assert_one_line_error(result, *fragments)
        assert "Warning" not in result.stderr
    assert snapshot(sqlite_url) == before


def test_a_journal_row_that_cannot_be_read_is_named(tmp_path, database_url, backend, migrations_copy):
    """A date written as text on SQLite, a zero date on MariaDB: `Invalid isoformat string` and
    the like, from wherever the journal was read. Now: the row, the column, and the fix."""
    if backend == "postgresql":
        pytest.skip("PostgreSQL stores only valid timestamps")
    conf, _ = history_conf(tmp_path, database_url, migrations_copy)
    row = query(database_url, "SELECT max(id) FROM migration_journal")[0][0]
    if backend == "sqlite":
        query(database_url, f"UPDATE migration_journal SET started_at = 'garbage' WHERE id = {row}",
              autocommit=True)
        shown = "'garbage'"
    else:
        query(database_url, "SET STATEMENT sql_mode = '' FOR UPDATE migration_journal"
                            f" SET started_at = '0000-00-00 00:00:00' WHERE id = {row}", autocommit=True)
        shown = "'0000-00-00 00:00:00'"
    for args in (["upgrade"], ["status"], ["journal"], ["downgrade"]):
        result = manage("db", "-d", str(migrations_copy), *args, settings=conf)
        assert_one_line_error(result, f"row {row} of migration_journal has started_at = {shown}, which is"
                                      " not a date and time: correct that row by hand, or delete it")


@pytest.mark.parametrize("command", [["newmigration", "-m", "x"], ["status"]])
def test_a_failure_building_the_scratch_database_names_the_migration(tmp_path, database_url, backend,
                                                                    migrations_copy, command):
    """Not the target database's URL: the scratch database, the migration, its line, the cause."""
    from .test_migration_errors import DRIVER_MESSAGES, MISSING_TABLE

    conf = write_conf(tmp_path / "a.conf", database_url)
    path = add_migration(migrations_copy, "aaaa0001", MISSING_TABLE)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "op.add_column" in text)
    result = manage("db", "-d", str(migrations_copy), *command, settings=conf)
    assert_one_line_error(result, "Error: building the scratch database from the migrations failed at"
                                  f" aaaa0001 ({path}:{line}: op.add_column('no_such_table'",
                          DRIVER_MESSAGES[backend])
    assert make_url(database_url).render_as_string(hide_password=True) not in result.stderr.split("Error:")[1]


@pytest.mark.parametrize("body, fragment", [
    ("def upgrade():\n    op.add_column('user', sa.Column('x', sa.Integer()))\n    undefined_name\n",
     "NameError: name 'undefined_name' is not defined"),
    ("def upgrade(:\n    pass\n", "SyntaxError: "),
])
def test_broken_migration_file_names_file_and_line(tmp_path, database_url, migrations_copy,
                                                    body, fragment):
    conf = write_conf(tmp_path / "a.conf", database_url)
    head = ScriptDirectory(str(migrations_copy)).get_current_head()
    broken = migrations_copy / "versions" / "0000broken_x.py"
    broken.write_text(f"from alembic import op\nimport sqlalchemy as sa\nrevision = '0000broken'\n"
                      f"down_revision = {head!r}\n{body}\ndef downgrade():\n    pass\n")
    result = manage("db", "-d", str(migrations_copy), "upgrade", settings=conf)
    assert_one_line_error(result, f"{broken}:", fragment)


def test_missing_database_on_a_real_server(server, tmp_path):
    url = make_url(server_url(server)).set(database="myapp_no_such_database_xyz")
    result = manage("db", "upgrade", settings=write_conf(tmp_path / "a.conf", url.render_as_string(False)))
    assert_one_line_error(result, "database 'myapp_no_such_database_xyz' does not exist", "create it")


def test_refused_login_on_a_real_server(server, tmp_path):
    """A wrong password on MariaDB, an unknown role on PostgreSQL (trust auth here): never printed."""
    url = make_url(server_url(server))
    url = url.set(password="wrong-s3cret") if server == "mysql" else \
        url.set(username="myapp_no_such_role", password="wrong-s3cret")
    result = manage("db", "upgrade", settings=write_conf(tmp_path / "a.conf", url.render_as_string(False)))
    assert_one_line_error(result, "refused the login", "check the user name and password")
    assert "wrong-s3cret" not in result.stderr + result.stdout
