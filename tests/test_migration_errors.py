"""A migration that fails names itself (revision, file:line, statement, cause) and is journaled."""
import pytest

from .conftest import add_migration, manage, query
from .test_bad_input import assert_one_line_error
from .test_safety import db  # noqa: F401 (a database at head, and its migrations and conf)

# Longer than the error line shows: the statement is cut, the line stays one line.
MISSING_TABLE = '''def upgrade():
    op.add_column("no_such_table", sa.Column("plan", sa.String(20), nullable=True, server_default="free"))


def downgrade():
    pass
'''
DRIVER_MESSAGES = {"sqlite": "no such table: no_such_table",
                   "postgresql": 'relation "no_such_table" does not exist',
                   "mysql": "no_such_table' doesn't exist"}

EMPTY_ASSERTION = '''def upgrade():
    op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True))
    raise AssertionError()
'''

NAME_ERROR = '''def upgrade():
    op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True))
    undefined_name


def downgrade():
    op.drop_table("extra")
'''


def failing_upgrade(db, body, statement, cwd=None):
    """Add a migration with `body` and upgrade: (result, its path, the line of `statement`)."""
    migrations, conf = db
    path = add_migration(migrations, "aaaa0001", body)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith(statement))
    return manage("db", "-d", str(migrations), "upgrade", settings=conf, cwd=cwd), path, line


def error_line(result):
    return next(line for line in result.stderr.splitlines() if line.startswith("Error:"))


@pytest.mark.example_domain
def test_a_database_error_names_the_migration_its_line_and_statement(db, database_url, backend, tmp_path):
    result, path, line = failing_upgrade(db, MISSING_TABLE, "op.add_column", cwd=tmp_path)
    shown = path.relative_to(tmp_path)  # relative to the cwd, as the user typed it
    assert_one_line_error(result, f"Error: migration aaaa0001 ({shown}:{line}: op.add_column('no_such_table',",
                          "...)", DRIVER_MESSAGES[backend])
    assert f"failed on {database_url.split('://')[0]}" in error_line(result)
    assert "server_default='free'" not in result.stderr


@pytest.mark.example_domain
def test_an_error_with_no_message_is_named_and_journaled_as_it_was(db, database_url, backend):
    result, path, line = failing_upgrade(db, EMPTY_ASSERTION, "raise")
    assert_one_line_error(result, f"migration aaaa0001 ({path}:{line}: raise AssertionError()) failed:"
                                  " AssertionError")
    assert "IndexError" not in result.stderr
    status = "failed" if backend == "mysql" else "rolled_back"
    assert query(database_url, "SELECT direction, status, error FROM migration_journal"
                               " WHERE revision = 'aaaa0001'") == [("upgrade", status, "AssertionError")]


@pytest.mark.example_domain
def test_a_python_error_in_a_migration_names_its_file_and_line(db, backend):
    result, path, line = failing_upgrade(db, NAME_ERROR, "undefined_name")
    assert_one_line_error(result, f"migration aaaa0001 ({path}:{line}: undefined_name) failed:"
                                  " NameError: name 'undefined_name' is not defined")
