"""Misuse and attack: credentials never printed, revision ids and names matched exactly,
checksums that see every byte, backups kept out of the code."""
import pytest
from sqlalchemy.engine import make_url

from flask_safemigrate.migrate_tools import journal
from flask_safemigrate.migrate_tools.checksum import file_checksum
from flask_safemigrate.migrate_tools.connection import migration_engine
from flask_safemigrate.migrate_tools.masking import masked

from .conftest import ROOT, add_migration, manage, query, server_url, write_conf
from .test_bad_input import assert_one_line_error

# --- credentials in the URL's query string -------------------------------------------------

# What the drivers take a credential from (PyMySQL's connect(); libpq's options, see below).
CREDENTIALS = ["password", "passwd", "ssl_key_password", "sslpassword", "oauth_client_secret",
               "scram_client_key", "scram_server_key", "conninfo", "dsn"]


def libpq_secret_options():
    """The options libpq itself marks as passwords (PQconndefaults' dispchar "*")."""
    from psycopg import pq

    return [o.keyword.decode() for o in pq.Conninfo.get_defaults() if o.dispchar == b"*"]


@pytest.mark.parametrize("name", sorted({*CREDENTIALS, *libpq_secret_options()}))
def test_every_credential_in_the_query_string_is_masked(name):
    url = f"postgresql+psycopg://bob:s3cret@db/x?sslmode=require&{name}=q-s3cret&{name}=again"
    shown = masked(url)
    assert "s3cret" not in shown and "again" not in shown
    assert shown.startswith("postgresql+psycopg://bob:***@db/x?") and f"{name}=***" in shown
    assert "sslmode=require" in shown  # what is no secret stays readable


def test_a_url_without_secrets_is_shown_as_it_is():
    url = "mysql+pymysql://bob@db/x?charset=utf8mb4"
    assert masked(url) == url


@pytest.mark.parametrize("command", [("current",), ("upgrade",), ("upgrade", "--sql"), ("check",),
                                     ("status",), ("journal",), ("downgrade", "--yes")])
def test_no_command_prints_a_password_from_the_query_string(tmp_path, server, command):
    """The banner, and the error of a database that does not exist, on a real server, for each
    command that names or reaches the database."""
    admin = server_url(server)
    key = {"postgresql": "password", "mysql": "passwd"}[server]
    url = make_url(admin).set(database="myapp_no_such_database").update_query_dict(
        {key: "q-s3cret"}).render_as_string(hide_password=False)
    result = manage("db", *command, settings=write_conf(tmp_path / "a.conf", url))
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert f"{key}=***" in result.stdout + result.stderr  # the banner names the database, masked


def test_database_errors_mask_query_passwords():
    from sqlalchemy.exc import OperationalError

    from flask_safemigrate.migrate_tools.errors import explain

    error = OperationalError("SELECT 1", {}, Exception("something odd"))
    line = explain(error, "mysql+pymysql://bob@db/shop?passwd=q-s3cret&ssl_key_password=k-s3cret")
    assert "s3cret" not in line and "passwd=***" in line and "ssl_key_password=***" in line


# --- db repair names one revision -------------------------------------------------------

@pytest.fixture
def stuck(database_url):
    """A journal with interrupted runs of two revisions that share a start, and a clean one."""
    engine = migration_engine(database_url)
    with engine.connect() as connection:
        journal.ensure(connection)
        journal.record(connection, "aaaa0001", "upgrade", "ok")
        journal.record(connection, "abcd0002", "upgrade", "failed")
        journal.record(connection, "abce0003", "upgrade", "running")
        journal.record(connection, "ffff0004", "downgrade", "failed")
        connection.commit()
    engine.dispose()
    return database_url


def statuses(url):
    return dict(query(url, "SELECT revision, status FROM migration_journal"
                           " WHERE direction IN ('upgrade', 'downgrade')"))


@pytest.mark.parametrize("given, error", [
    ("%", "no interrupted migration '%'"),
    ("_bcd0002", "no interrupted migration '_bcd0002'"),
    ("a", "several revisions in the journal (aaaa0001, abcd0002, abce0003)"),
    ("abc", "several revisions in the journal (abcd0002, abce0003)"),
    ("ABCD0002", "no interrupted migration 'ABCD0002'"),  # MariaDB's collation would match it
    ("abcd0002 ", "no interrupted migration 'abcd0002 '"),  # and this too
    ("aaaa0001", "no interrupted migration 'aaaa0001'"),  # in the journal, but not interrupted
    ("", "no interrupted migration ''"),
])
def test_repair_refuses_anything_but_one_interrupted_revision(tmp_path, stuck, given, error):
    before = statuses(stuck)
    result = manage("db", "repair", given, settings=write_conf(tmp_path / "a.conf", stuck))
    assert_one_line_error(result, error, "nothing was changed" if "no interrupted" in error else "")
    assert statuses(stuck) == before


@pytest.mark.parametrize("given", ["abcd0002", "abcd000", "abcd"])
def test_repair_takes_a_whole_id_or_a_unique_start(tmp_path, stuck, given):
    result = manage("db", "repair", given, settings=write_conf(tmp_path / "a.conf", stuck))
    assert result.returncode == 0, result.stderr
    assert "marked abcd0002 as resolved" in result.stdout
    assert statuses(stuck) == {"aaaa0001": "ok", "abcd0002": "resolved", "abce0003": "running",
                               "ffff0004": "failed"}


# --- revision ids are plain identifiers ---------------------------------------------------

@pytest.mark.parametrize("command", [["revision", "-m", "x"], ["migrate", "-m", "x"],
                                     ["merge", "-m", "x", "heads"]])
@pytest.mark.parametrize("rev_id", ["../../x", "{tmp}/abs", "a b", "x.py", "a" * 33, "", "é"])
def test_rev_id_must_be_a_plain_identifier(tmp_path, sqlite_url, migrations_copy, command, rev_id):
    conf = write_conf(tmp_path / "a.conf", sqlite_url)
    def files():  # the revision index under versions/__pycache__ is a cache, as Python's own there
        return sorted(p for p in tmp_path.rglob("*") if "__pycache__" not in p.parts)

    before = files()
    result = manage("db", "-d", str(migrations_copy), *command, "--rev-id",
                    rev_id.format(tmp=tmp_path), settings=conf)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Invalid value for '--rev-id'" in result.stderr and "not a plain revision id" in result.stderr
    assert files() == before  # nothing written, in versions/ or beside it


def test_a_plain_rev_id_is_taken(tmp_path, sqlite_url, migrations_copy):
    result = manage("db", "-d", str(migrations_copy), "revision", "-m", "by hand", "--rev-id",
                    "Manual_0001", settings=write_conf(tmp_path / "a.conf", sqlite_url))
    assert result.returncode == 0, result.stderr
    assert (migrations_copy / "versions" / "Manual_0001_by_hand.py").is_file()


# --- checksums see every byte, and UTF-8 text hashes as it always did ---------------------

def test_files_differing_only_in_bytes_that_are_not_utf8_differ(tmp_path):
    one, two = tmp_path / "one.py", tmp_path / "two.py"
    one.write_bytes(b'x = "\xff"\n')
    two.write_bytes(b'x = "\xfe"\n')
    assert file_checksum(one) != file_checksum(two)
    two.write_bytes(b'x = "\xff"   \r\n\r\n')  # the same bytes, other line endings and spaces
    assert file_checksum(one) == file_checksum(two)


def test_utf8_files_keep_the_checksums_journals_recorded(tmp_path):
    """Pinned: the value the journal of every existing database holds for this content."""
    path = tmp_path / "m.py"
    path.write_bytes('"""café"""  \r\nx = 1\t\u00a0\rprint(x)\u2003\n\n\n'.encode())
    assert file_checksum(path) == "34d541ee7ba1ea6bd8fc69f812d16fb6f76c2131be122f18a6bb2511626d0321"


# --- backups of a production SQLite database stay beside it -------------------------------

GOOD = '''def upgrade():
    op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("extra")
'''


@pytest.mark.parametrize("setting, folder", [(None, "data"), ("copies", "etc/copies"),
                                             ("{tmp}/elsewhere", "elsewhere")])
def test_backups_go_beside_the_database_never_into_the_code(tmp_path, migrations_copy, setting, folder):
    (tmp_path / "data").mkdir()
    (tmp_path / "etc").mkdir()
    url = f"sqlite:///{tmp_path / 'data' / 'prod.db'}"
    extra = "" if setting is None else f"MIGRATION_BACKUP_DIR = {setting.format(tmp=tmp_path)!r}\n"
    assert manage("db", "-d", str(migrations_copy), "upgrade",
                  settings=write_conf(tmp_path / "etc" / "dev.conf", url)).returncode == 0
    prod = write_conf(tmp_path / "etc" / "prod.conf", url, disposable=False, extra=extra)
    add_migration(migrations_copy, "iiii0001", GOOD)
    checkout = sorted((ROOT / "var").rglob("*"))  # where they went before
    result = manage("db", "-d", str(migrations_copy), "upgrade", settings=prod, cwd=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    copies = list((tmp_path / folder).glob("prod-*-before-upgrade.db"))
    assert len(copies) == 1 and f"backup: {copies[0]}\n" in result.stdout  # absolute, from any cwd
    assert sorted((ROOT / "var").rglob("*")) == checkout
