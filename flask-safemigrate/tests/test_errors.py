"""Database errors are explained by cause, with the fix, never with the password."""
import pytest
from sqlalchemy.exc import OperationalError

from flask_safemigrate.migrate_tools.errors import explain


def error(message):
    return OperationalError("SELECT 1", {}, Exception(message))


@pytest.mark.parametrize("message, expected", [
    ('connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  password '
     'authentication failed for user "bob"', "refused the login of user 'bob'"),
    ("(1045, \"Access denied for user 'bob'@'10.0.0.9' (using password: YES)\")",
     "refused the login of user 'bob'"),
    ('connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  database '
     '"shop" does not exist', "database 'shop' does not exist on 10.0.0.5:5432: create it"),
    ("(1049, \"Unknown database 'shop'\")", "database 'shop' does not exist"),
    ("(2003, \"Can't connect to MySQL server on '10.0.0.5' ([Errno 111] Connection refused)\")",
     "cannot reach the database server at 10.0.0.5:5432"),
])
def test_cause_and_fix(message, expected):
    line = explain(error(message), "postgresql+psycopg://bob:s3cret@10.0.0.5:5432/shop")
    assert expected in line and "s3cret" not in line and "\n" not in line


def test_unknown_errors_name_the_database_with_the_password_masked():
    line = explain(error("something odd\nmore"), "mysql+pymysql://bob:s3cret@db/shop")
    assert line == "database error on mysql+pymysql://bob:***@db/shop: something odd"
