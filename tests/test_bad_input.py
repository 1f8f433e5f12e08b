"""Bad input: one line saying what is wrong, a non-zero exit, never a traceback."""
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from .conftest import manage, server_url, write_conf


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


@pytest.mark.example_domain
def test_multiple_heads(tmp_path, database_url, migrations_copy):
    conf = write_conf(tmp_path / "a.conf", database_url)
    base = ScriptDirectory(str(migrations_copy)).get_base()
    branch = manage("db", "-d", str(migrations_copy), "revision", "-m", "branch",
                    "--head", base, "--splice", settings=conf)
    assert branch.returncode == 0, branch.stderr
    for args in (["upgrade"], ["newmigration", "-m", "x"]):
        result = manage("db", "-d", str(migrations_copy), *args, settings=conf)
        assert_one_line_error(result, "ultiple head")


@pytest.mark.parametrize("body, fragment", [
    ("def upgrade():\n    op.add_column('user', sa.Column('x', sa.Integer()))\n    undefined_name\n",
     "NameError: name 'undefined_name' is not defined"),
    ("def upgrade(:\n    pass\n", "SyntaxError: "),
])
@pytest.mark.example_domain
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
