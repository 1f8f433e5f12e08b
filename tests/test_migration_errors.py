"""A migration that fails names itself (revision, file:line, statement, cause) and is journaled."""
import pytest
from sqlalchemy.engine import make_url

from .conftest import add_migration, manage, query
from .test_bad_input import assert_one_line_error
from .test_safety import db  # noqa: F401 (a database at head, and its migrations and conf)

# Longer than the error shows: the statement is cut short, the error stays one line.
MISSING_TABLE = '''def upgrade():
    op.add_column("no_such_table", sa.Column("plan", sa.String(20), nullable=True, server_default="free"))


def downgrade():
    pass
'''
# The project writes batch blocks; a batch runs its operations when the block ends.
MISSING_TABLE_IN_A_BATCH = '''def upgrade():
    with op.batch_alter_table("no_such_table") as batch_op:
        batch_op.add_column(sa.Column("plan", sa.String(20)))
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
    lines = path.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip().startswith(statement))
    return manage("db", "-d", str(migrations), "upgrade", settings=conf, cwd=cwd), path, line


@pytest.mark.parametrize("body, start, statement", [
    (MISSING_TABLE, "op.add_column",
     "op.add_column('no_such_table', sa.Column('plan', sa.String(20), nullable=True..."),
    (MISSING_TABLE_IN_A_BATCH, "with",
     "no_such_table: batch_op.add_column(sa.Column('plan', sa.String(20)))"),
], ids=["op", "batch"])
def test_a_database_error_names_the_migration_line_and_statement(db, database_url, backend, tmp_path,
                                                                 body, start, statement):
    result, path, line = failing_upgrade(db, body, start, tmp_path)
    shown = path.relative_to(tmp_path)  # the file relative to the cwd
    masked = make_url(database_url).render_as_string(hide_password=True)
    assert_one_line_error(result, f"Error: migration aaaa0001 ({shown}:{line}: {statement})"
                                  f" failed on {masked}: ", DRIVER_MESSAGES[backend])


def test_an_error_with_no_message_is_named_and_journaled_as_it_was(db, database_url, backend):
    result, path, line = failing_upgrade(db, EMPTY_ASSERTION, "raise")
    assert_one_line_error(result, f"migration aaaa0001 ({path}:{line}: raise AssertionError()) failed:"
                                  " AssertionError")
    assert "IndexError" not in result.stderr
    # MariaDB: statements ran before it, so the row also says where it failed (for the
    # interrupted-migration message); elsewhere nothing is applied.
    status, error = ("failed", f"at line {line}: raise AssertionError(): AssertionError") \
        if backend == "mysql" else ("rolled_back", "AssertionError")
    [(direction, journaled, text)] = query(database_url, "SELECT direction, status, error FROM"
                                                         " migration_journal WHERE revision = 'aaaa0001'")
    assert (direction, journaled) == ("upgrade", status) and text.endswith(error), text
    assert backend != "mysql" or text.startswith("after "), text


def test_a_python_error_in_a_migration_names_its_file_and_line(db):
    result, path, line = failing_upgrade(db, NAME_ERROR, "undefined_name")
    assert_one_line_error(result, f"migration aaaa0001 ({path}:{line}: undefined_name) failed:"
                                  " NameError: name 'undefined_name' is not defined")
