"""db lint: each rule flags a migration written to trigger it, and not its clean twin."""
import re

import pytest
from click.testing import CliRunner

from sqlalchemy.engine import make_url

from .conftest import cli

from .conftest import add_migration, manage, query, snapshot, write_conf

URLS = {"sqlite": "sqlite:////nonexistent/lint.db", "postgresql": "postgresql://u@localhost/lint",
        "mysql": "mysql://u@localhost/lint", "mariadb": "mariadb://u@localhost/lint"}
B = "with op.batch_alter_table(\"user\") as batch_op:\n        "

# rule, backend, upgrade() body that triggers it, a clean body
CASES = [
    ("drop-table", "sqlite", 'op.drop_table("roles_users")',
     'op.create_table("t2", sa.Column("id", sa.Integer, primary_key=True))'),
    ("drop-column", "sqlite", B + 'batch_op.drop_column("legacy")',
     B + 'batch_op.add_column(sa.Column("nick", sa.String(20)))'),
    ("narrowing-type", "sqlite",
     B + 'batch_op.alter_column("email", existing_type=sa.String(255), type_=sa.String(100))',
     B + 'batch_op.alter_column("email", existing_type=sa.String(255), type_=sa.String(300))'),
    ("enum-values-removed", "sqlite",
     'op.alter_column("user", "size", existing_type=sa.Enum("s", "l", name="e"),'
     ' type_=sa.Enum("s", name="e"))',
     'op.alter_column("user", "size", existing_type=sa.Enum("s", name="e"),'
     ' type_=sa.Enum("s", "l", name="e"))'),
    ("breaks-running-release", "sqlite", 'op.alter_column("user", "email", new_column_name="mail")',
     'op.alter_column("user", "email", existing_type=sa.String(255), comment="the address")'),
    ("not-null-without-default", "sqlite",
     'op.add_column("user", sa.Column("plan", sa.String(20), nullable=False))',
     'op.add_column("user", sa.Column("plan", sa.String(20), nullable=False, server_default="free"))'),
    ("pg-index-not-concurrent", "postgresql", 'op.create_index("ix_user_active", "user", ["active"])',
     'safe.create_index("ix_user_active", "user", ["active"])'),
    ("pg-drop-index-not-concurrent", "postgresql", 'op.drop_index("ix_user_active", table_name="user")',
     'with op.get_context().autocommit_block():\n        op.drop_index("ix_user_active", table_name="user",'
     ' postgresql_concurrently=True, if_exists=True)'),
    ("pg-unique-constraint", "postgresql", 'op.create_unique_constraint("uq_user_a", "user", ["active"])',
     'safe.create_index("uq_user_a", "user", ["active"], unique=True)'),
    ("pg-volatile-default", "postgresql",
     'op.add_column("user", sa.Column("token", sa.String(36), server_default=sa.text("gen_random_uuid()")))',
     'op.add_column("user", sa.Column("token", sa.String(36), server_default="none"))'),
    ("pg-type-rewrite", "postgresql",
     'op.alter_column("user", "login_count", existing_type=sa.Integer(), type_=sa.BigInteger())',
     'op.alter_column("user", "last_login_ip", existing_type=sa.String(45), type_=sa.String(100))'),
    ("pg-set-not-null", "postgresql",
     'op.alter_column("user", "password", existing_type=sa.String(255), nullable=False)',
     'safe.add_not_null_column("user", sa.Column("plan", sa.String(20)), backfill="\'free\'")'),
    ("pg-constraint-not-valid", "postgresql",
     'op.create_foreign_key("fk_user_login_count_role", "user", "role", ["login_count"], ["id"])',
     'safe.add_foreign_key("fk_user_login_count_role", "user", "role", ["login_count"], ["id"])'),
    ("unrunnable-operation", "sqlite", B + 'batch_op.drop_constraint(None, type_="foreignkey")',
     B + 'batch_op.drop_constraint("fk_user_login_count_role", type_="foreignkey")'),
    ("unnamed-constraint", "sqlite", B + 'batch_op.create_unique_constraint(None, ["login_count"])',
     B + 'batch_op.create_unique_constraint("uq_user_login_count", ["login_count"])'),
    ("foreign-dialect-sql", "sqlite", 'op.execute("SELECT id::text FROM role")',
     'op.execute("SELECT \'a::b\' FROM role")'),
    ("mysql-copy-alter", "mysql",
     'op.alter_column("user", "login_count", existing_type=sa.Integer(), type_=sa.BigInteger())',
     'op.alter_column("user", "last_login_ip", existing_type=sa.String(45), type_=sa.String(100))'),
    ("mysql-text-key", "mysql",
     'op.create_table("note", sa.Column("id", sa.Integer, primary_key=True),'
     ' sa.Column("body", sa.Text(), unique=True))',
     'op.create_table("note", sa.Column("id", sa.Integer, primary_key=True),'
     ' sa.Column("body", sa.String(200), unique=True))'),
    ("mysql-data-with-schema", "mysql",
     'op.execute("UPDATE user SET active = 1 WHERE id = 1")\n    op.add_column("user", sa.Column("x", sa.Integer()))',
     'op.execute("UPDATE user SET active = 1 WHERE id = 1")'),
]


def lint(tmp_path, migrations, backend, body, revision, downgrade='op.execute("SELECT 1")'):
    add_migration(migrations, revision, f"def upgrade():\n    {body}\n\n\ndef downgrade():\n    {downgrade}\n"
                  .replace("import time\n", "import time\n\nfrom flask_safemigrate.migrate_tools import safe\n"))
    conf = write_conf(tmp_path / f"{backend}.conf", URLS[backend])
    return CliRunner().invoke(cli, ["db", "-d", str(migrations), "lint", revision],
                              env={"SETTINGS": str(conf)})


def lint_on_each(tmp_path, migrations, body, prefix, backends=("sqlite", "postgresql", "mysql")):
    """{backend: the rules db lint finds in `body` there}, as revisions `prefix`0000000, ..."""
    return {b: _rules(lint(tmp_path, migrations, b, body, f"{prefix}{n:07d}").stdout)
            for n, b in enumerate(backends)}


@pytest.mark.parametrize("rule, backend, trigger, clean", CASES, ids=[c[0] for c in CASES])
def test_rule_flags_its_trigger_and_not_the_clean_form(tmp_path, migrations_copy, rule, backend,
                                                       trigger, clean):
    flagged = lint(tmp_path, migrations_copy, backend, trigger, "a0000001")
    assert flagged.exit_code == 1, flagged.output
    assert _rules(flagged.stdout) == [rule], flagged.stdout
    line = next(x for x in flagged.stdout.splitlines() if x.startswith(rule + "  "))
    assert "a0000001_test.py:" in line
    assert "    why: " in flagged.stdout and "    instead: " in flagged.stdout

    acknowledged = lint(tmp_path, migrations_copy, backend,
                        trigger.replace("\n", f"  # lint: {rule}\n", 1) if "\n" in trigger
                        else f"{trigger}  # lint: {rule}", "a0000002",)
    assert _rules(acknowledged.stdout) == [rule], acknowledged.stdout  # its trigger alone
    assert acknowledged.exit_code == 0 and "(acknowledged)" in acknowledged.stdout

    clean_result = lint(tmp_path, migrations_copy, backend, clean, "a0000003")
    assert clean_result.exit_code == 0 and _rules(clean_result.stdout) == [], clean_result.stdout


def _rules(output):
    """The rules db lint reports in `output`; it must have run to the end (its summary line), so
    that a rule's absence never passes for a lint that crashed or printed nothing."""
    assert re.search(r"^\d+ migration\(s\) checked: \d+ finding\(s\)", output, re.M), output
    return [line.split()[0] for line in output.splitlines() if line and not line.startswith(" ")
            and "  " in line and not re.match(r"\d+ migration", line)]


@pytest.mark.parametrize("rule, backend, trigger", [(r, b, t) for r, b, t, _ in CASES if b != "sqlite"])
def test_backend_rules_stay_quiet_on_sqlite(tmp_path, migrations_copy, rule, backend, trigger):
    result = lint(tmp_path, migrations_copy, "sqlite", trigger, "b0000001")
    assert result.exit_code == 0 and _rules(result.stdout) == [], result.output  # lint ran, found nothing
    assert "1 migration(s) checked: 0 finding(s)" in result.stdout


def test_empty_or_missing_downgrade(tmp_path, migrations_copy):
    result = lint(tmp_path, migrations_copy, "sqlite", 'op.execute("SELECT 1")', "c0000001",
                  downgrade="pass")
    assert result.exit_code == 1 and _rules(result.stdout) == ["empty-downgrade"]


def test_the_drop_of_a_mapped_column_breaks_the_running_release(tmp_path, migrations_copy):
    result = lint(tmp_path, migrations_copy, "sqlite", B + 'batch_op.drop_column("email")', "d0000001")
    assert sorted(_rules(result.stdout)) == ["breaks-running-release", "drop-column"]


HELPERS = '''def upgrade():
    safe.add_not_null_column("user", sa.Column("plan", sa.String(20)), backfill="'free'")
    safe.create_index("ix_user_plan", "user", ["plan"])
    safe.add_foreign_key("fk_user_login_count_role", "user", "role", ["login_count"], ["id"])


def downgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_constraint("fk_user_login_count_role", type_="foreignkey")
        batch_op.drop_index("ix_user_plan")
        batch_op.drop_column("plan")
'''


def test_safe_helpers_work_on_every_backend_and_lint_clean(tmp_path, database_url, migrations_copy):
    conf = write_conf(tmp_path / "h.conf", database_url)
    assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
    add_migration(migrations_copy, "e0000001", HELPERS.replace("def upgrade", "from flask_safemigrate.migrate_tools "
                                                                "import safe\n\n\ndef upgrade", 1))
    assert manage("db", "-d", str(migrations_copy), "lint", settings=conf).returncode == 0
    result = manage("db", "-d", str(migrations_copy), "upgrade", settings=conf)
    assert result.returncode == 0, result.stderr
    schema, data, _ = snapshot(database_url)
    assert schema["user"]["columns"]["plan"][1] is False  # NOT NULL
    assert {u["plan"] for u in data["user"].values()} == {"free"}  # existing rows backfilled
    assert any(i[0] == "ix_user_plan" for i in schema["user"]["indexes"])
    assert any(fk[0] == "fk_user_login_count_role" for fk in schema["user"]["fks"])
    assert manage("db", "-d", str(migrations_copy), "downgrade", settings=conf).returncode == 0


def test_a_text_column_keyed_later_in_the_migration(tmp_path, migrations_copy):
    body = ('op.add_column("user", sa.Column("bio", sa.Text()))\n'
            '    op.create_index("ix_user_bio", "user", ["bio"])')
    assert "mysql-text-key" in _rules(lint(tmp_path, migrations_copy, "mysql", body, "a0000001").stdout)
    prefix = body.replace('["bio"])', '["bio"], mysql_length=100)')
    assert "mysql-text-key" not in _rules(lint(tmp_path, migrations_copy, "mysql", prefix, "a0000002").stdout)
    assert "mysql-text-key" not in _rules(lint(tmp_path, migrations_copy, "sqlite", body, "a0000003").stdout)


def test_an_index_on_a_table_the_migration_creates_needs_no_concurrently(tmp_path, migrations_copy):
    body = ('op.create_table("note", sa.Column("id", sa.Integer, primary_key=True),'
            ' sa.Column("a", sa.Integer))\n'
            '    op.create_index("ix_note_a", "note", ["a"])')  # the table, not the index name, is new
    assert _rules(lint(tmp_path, migrations_copy, "postgresql", body, "a0000001").stdout) == []


# a test of the backend in a migration, and the backends where it holds
BACKEND_TESTS = [
    ('op.get_bind().dialect.name == "postgresql"', {"postgresql"}),
    ('op.get_bind().dialect.name != "postgresql"', {"sqlite", "mysql"}),
    ('op.get_context().dialect.name in ("mysql", "mariadb")', {"mysql"}),
    ('"mariadb" == dialect', {"mysql"}),
    ('dialect not in SERVERS', {"sqlite"}),
    ('bind.dialect.name == "sqlite"', {"sqlite"}),
    ('context.get_context().dialect.name == "postgresql"', {"postgresql"}),
    ('not (is_pg or dialect == "sqlite")', {"mysql"}),
]


@pytest.mark.parametrize("test, holds", BACKEND_TESTS, ids=[t for t, _ in BACKEND_TESTS])
def test_code_under_a_backend_test_is_judged_only_for_that_backend(tmp_path, migrations_copy, test, holds):
    body = ("from alembic import context\n    bind = op.get_bind()\n    dialect = bind.dialect.name\n"
            '    is_pg = dialect == "postgresql"\n    SERVERS = ("postgresql", "mysql")\n'
            f'    if {test}:\n        op.drop_table("roles_users")\n'
            '    else:\n        op.drop_column("user", "legacy")')
    found = lint_on_each(tmp_path, migrations_copy, body, "f", URLS)
    assert found == {b: ["drop-table"] if b.replace("mariadb", "mysql") in holds else ["drop-column"]
                     for b in URLS}


def test_code_after_an_early_return_runs_only_where_the_test_fails(tmp_path, migrations_copy):
    body = 'if op.get_bind().dialect.name != "postgresql":\n        return\n    op.drop_table("roles_users")'
    assert lint_on_each(tmp_path, migrations_copy, body, "g", URLS) == \
        {"sqlite": [], "postgresql": ["drop-table"], "mysql": [], "mariadb": []}


# operations named None, in op.* and batch_op.* forms, and the rule each breaks
NAMED_NONE = [
    ('op.drop_constraint(None, "user", type_="unique")', ["unrunnable-operation"]),
    ('op.drop_constraint(constraint_name=None, table_name="user")', ["unrunnable-operation"]),
    ('op.drop_index(None, table_name="user")', ["unrunnable-operation"]),
    (B + "batch_op.drop_index(None)", ["unrunnable-operation"]),
    ('op.create_index(None, "user", ["active"])', ["unnamed-constraint"]),
    (B + 'batch_op.create_index(None, ["active"])', ["unnamed-constraint"]),
    ('op.create_foreign_key(None, "user", "role", ["login_count"], ["id"])', ["unnamed-constraint"]),
    (B + 'batch_op.create_foreign_key(None, "role", ["login_count"], ["id"])', ["unnamed-constraint"]),
    (B + 'batch_op.create_check_constraint(None, "login_count >= 0")', ["unnamed-constraint"]),
    ('op.create_primary_key(None, "roles_users", ["user_id", "role_id"])', ["unnamed-constraint"]),
    ('op.drop_index("ix_user_active", None)', []),  # a None table is no None name
    (B + 'batch_op.create_foreign_key("fk_user_login_count_role", "role", ["login_count"], ["id"])', []),
]


@pytest.mark.parametrize("body, rules", NAMED_NONE, ids=[b.replace(B, "batch: ") for b, _ in NAMED_NONE])
def test_operations_named_none(tmp_path, migrations_copy, body, rules):
    assert _rules(lint(tmp_path, migrations_copy, "sqlite", body, "h0000001").stdout) == rules


# raw SQL for some backends only, and the backends that run it
RAW_SQL = [
    ("SELECT id::text FROM role", {"postgresql"}),
    ('sa.text("SELECT id :: TEXT FROM role")', {"postgresql"}),
    ("DO $$ BEGIN PERFORM 1; END $$", {"postgresql"}),
    ("ALTER TYPE mood ADD VALUE 'sad'", {"postgresql"}),
    ("CREATE INDEX CONCURRENTLY ix_role_name ON role (name)", {"postgresql"}),
    ("SELECT id FROM role WHERE name ILIKE 'a%'", {"postgresql"}),
    ("SELECT `name` FROM role", {"mysql", "sqlite"}),
    ("ALTER TABLE role ENGINE=InnoDB", {"mysql"}),
    ("ALTER TABLE role MODIFY COLUMN name VARCHAR(80), ALGORITHM=INPLACE, LOCK=NONE", {"mysql"}),
    ("PRAGMA foreign_keys = ON", {"sqlite"}),
    ("SELECT name FROM sqlite_master", {"sqlite"}),
    ("SELECT 'a::b', 'PRAGMA x', \"x`y\" FROM role -- ILIKE", {"sqlite", "postgresql", "mysql"}),
]


@pytest.mark.parametrize("sql, runs_on", RAW_SQL, ids=[s for s, _ in RAW_SQL])
def test_raw_sql_for_another_backend(tmp_path, migrations_copy, sql, runs_on):
    statement = f"op.execute({sql if sql.startswith('sa.') else repr(sql)})"
    guarded = f"if op.get_bind().dialect.name in {tuple(sorted(runs_on))!r}:\n        {statement}"
    assert lint_on_each(tmp_path, migrations_copy, statement, "i") == \
        {b: [] if b in runs_on else ["foreign-dialect-sql"] for b in ("sqlite", "postgresql", "mysql")}
    assert lint_on_each(tmp_path, migrations_copy, guarded, "j") == \
        {"sqlite": [], "postgresql": [], "mysql": []}


def test_a_primary_key_added_to_an_existing_table(tmp_path, migrations_copy):
    body = 'op.create_primary_key("pk_roles_users", "roles_users", ["user_id", "role_id"])'
    assert lint_on_each(tmp_path, migrations_copy, body, "k") == \
        {"sqlite": [], "postgresql": ["pg-unique-constraint"], "mysql": ["mysql-copy-alter"]}
    new = 'op.create_table("t", sa.Column("id", sa.Integer))\n    ' + body.replace('"roles_users", ', '"t", ')
    assert _rules(lint(tmp_path, migrations_copy, "postgresql", new, "k9000001").stdout) == []


PG_PATTERNS = '''def upgrade():
    safe.create_index("ix_user_email_copy", "user", ["email"], unique=True)
    op.execute('ALTER TABLE "user" ADD CONSTRAINT uq_user_email_copy UNIQUE USING INDEX ix_user_email_copy')
    safe.create_index("ix_user_active", "user", ["active"])
    with op.get_context().autocommit_block():
        op.drop_index("ix_user_active", table_name="user", postgresql_concurrently=True, if_exists=True)


def downgrade():
    op.drop_constraint("uq_user_email_copy", "user", type_="unique")
'''


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_postgresql_patterns_lint_recommends_run_and_lint_clean(tmp_path, database_url, migrations_copy):
    conf = write_conf(tmp_path / "pg.conf", database_url)
    assert manage("db", "-d", str(migrations_copy), "reset", settings=conf).returncode == 0
    add_migration(migrations_copy, "l0000001", "from flask_safemigrate.migrate_tools import safe\n\n\n" + PG_PATTERNS)
    linted = manage("db", "-d", str(migrations_copy), "lint", settings=conf)
    assert linted.returncode == 0, linted.stdout
    result = manage("db", "-d", str(migrations_copy), "upgrade", settings=conf)
    assert result.returncode == 0, result.stderr
    schema, _, _ = snapshot(database_url)
    assert ("uq_user_email_copy", ("email",)) in schema["user"]["uniques"]
    assert not any(i[0] == "ix_user_active" for i in schema["user"]["indexes"])
    assert manage("db", "-d", str(migrations_copy), "downgrade", settings=conf).returncode == 0


# --- guards on every spelling ---------------------------------------------------------------

@pytest.mark.parametrize("alias", ["batch_op", "b", "user_table"])
def test_a_batch_is_followed_by_the_name_its_with_binds(tmp_path, migrations_copy, alias):
    body = (f'with op.batch_alter_table("user") as {alias}:\n        {alias}.drop_column("legacy")\n'
            f'    with op.batch_alter_table("role") as r, op.batch_alter_table("user") as {alias}2:\n'
            f'        {alias}2.add_column(sa.Column("plan", sa.String(20), nullable=False))')
    result = lint(tmp_path, migrations_copy, "sqlite", body, "m0000001")
    assert result.exit_code == 1, result.output
    assert _rules(result.stdout) == ["drop-column", "not-null-without-default"], result.stdout
    assert f"user: {alias}.drop_column('legacy')" in result.stdout  # its batch's table named


def test_a_migration_that_does_nothing_needs_no_downgrade(tmp_path, migrations_copy):
    result = lint(tmp_path, migrations_copy, "sqlite", '"""Nothing to do here."""\n    pass', "n0000001",
                  downgrade="pass")
    assert result.exit_code == 0 and _rules(result.stdout) == [], result.stdout
    assert "1 migration(s) checked: 0 finding(s)" in result.stdout


def test_a_type_lint_cannot_read_is_a_note_not_a_guess(tmp_path, migrations_copy):
    body = 'length = 80\n    op.alter_column("user", "email", existing_type=sa.String(255), type_=sa.String(length))'
    for backend in ("sqlite", "postgresql", "mysql"):
        result = lint(tmp_path, migrations_copy, backend, body, f"o000000{len(backend)}")
        assert result.exit_code == 0, result.output  # a note asks for a look; it fails nothing
        assert _rules(result.stdout) == ["cannot-judge"], result.stdout
        assert "(note)" in result.stdout and "0 finding(s), 1 note(s) to check by hand" in result.stdout


def test_an_apps_type_that_cannot_be_imported_is_a_note_not_a_guess(tmp_path, migrations_copy):
    """A type from a module lint cannot import (not installed where lint runs) is not judged:
    no rule fires on it, and a note says so, naming the migration."""
    body = ('from nosuchapp.types import UTCDateTime\n    op.alter_column("user", "email",'
            ' existing_type=sa.String(255), type_=UTCDateTime())')
    for backend in ("sqlite", "postgresql", "mysql"):
        revision = f"q000000{len(backend)}"
        result = lint(tmp_path, migrations_copy, backend, body, revision)
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
        assert _rules(result.stdout) == ["cannot-judge"], result.stdout
        assert f"{revision}_test.py:" in result.stdout and "(note)" in result.stdout


UTC_TYPES = '''"""The app's own column types, in a package lint knows nothing of."""
import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes: TIMESTAMP WITH TIME ZONE on PostgreSQL, DATETIME on MariaDB."""
    impl = sa.DateTime(timezone=True)
    cache_ok = True
'''
EVENT = '''def upgrade():
    op.create_table("event", sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.DateTime()))


def downgrade():
    op.drop_table("event")
'''
# the app's type imported at the top of the file, in the function, and as autogenerate writes it
TO_UTC = [("from lintapp.types import UTCDateTime\n\n\n", "", "UTCDateTime()"),
          ("", "from lintapp.types import UTCDateTime\n    ", "UTCDateTime()"),
          ("import lintapp.types\n\n\n", "", "lintapp.types.UTCDateTime()")]


def _alter(header, local, old, new):
    return (f'{header}def upgrade():\n    {local}op.alter_column("event", "at", existing_type={old}, type_={new})'
            f'\n\n\ndef downgrade():\n    {local}op.alter_column("event", "at", existing_type={new},'
            f' type_={old})\n')


def _on_server(tmp_path, database_url, migrations, monkeypatch):
    """A config on the real server, the app's types importable, and the event table built."""
    package = tmp_path / "app" / "lintapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "types.py").write_text(UTC_TYPES)
    monkeypatch.syspath_prepend(str(tmp_path / "app"))
    conf = write_conf(tmp_path / "server.conf", database_url)
    add_migration(migrations, "p0000001", EVENT)
    upgraded = CliRunner().invoke(cli, ["db", "-d", str(migrations), "upgrade"], env={"SETTINGS": str(conf)})
    assert upgraded.exit_code == 0, upgraded.output
    return conf


def _pending_lint(migrations, conf):
    """db lint of the pending migrations, as db status and newmigration see them."""
    result = CliRunner().invoke(cli, ["db", "-d", str(migrations), "lint"], env={"SETTINGS": str(conf)})
    assert "1 migration(s) checked" in result.stdout, result.output
    return result


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("header, local, utc", TO_UTC, ids=["imported", "imported-in-upgrade", "module-path"])
def test_timestamp_to_timestamptz_through_the_apps_type_rewrites_on_postgresql(
        tmp_path, database_url, migrations_copy, monkeypatch, header, local, utc):
    conf = _on_server(tmp_path, database_url, migrations_copy, monkeypatch)
    column = "SELECT data_type FROM information_schema.columns WHERE table_name = 'event' AND column_name = 'at'"
    for n, (old, new, becomes) in enumerate([("sa.DateTime()", utc, "timestamp with time zone"),
                                             (utc, "sa.DateTime()", "timestamp without time zone")]):
        add_migration(migrations_copy, f"p000001{n}", _alter(header, local, old, new))
        result = _pending_lint(migrations_copy, conf)
        assert result.exit_code == 1 and _rules(result.stdout) == ["pg-type-rewrite"], result.stdout
        upgraded = CliRunner().invoke(cli, ["db", "-d", str(migrations_copy), "upgrade"],
                                      env={"SETTINGS": str(conf)})
        assert upgraded.exit_code == 0, upgraded.output
        # the type did change, as lint read it (PostgreSQL skips the rewrite only in a UTC session)
        assert query(database_url, column) == [(becomes,)]


@pytest.mark.parametrize("backend", ["mysql"], indirect=True)
@pytest.mark.parametrize("header, local, utc", TO_UTC, ids=["imported", "imported-in-upgrade", "module-path"])
def test_datetime_to_the_same_datetime_through_the_apps_type_is_no_copy_on_mariadb(
        tmp_path, database_url, migrations_copy, monkeypatch, header, local, utc):
    conf = _on_server(tmp_path, database_url, migrations_copy, monkeypatch)
    name = make_url(database_url).database
    table_id = f"SELECT table_id FROM information_schema.innodb_sys_tables WHERE name = '{name}/event'"
    before = query(database_url, table_id)
    assert before
    for n, (old, new) in enumerate([("sa.DateTime()", utc), (utc, "sa.DateTime()")]):
        add_migration(migrations_copy, f"p000001{n}", _alter(header, local, old, new))
        result = _pending_lint(migrations_copy, conf)
        assert result.exit_code == 0 and _rules(result.stdout) == [], result.stdout
        upgraded = CliRunner().invoke(cli, ["db", "-d", str(migrations_copy), "upgrade"],
                                      env={"SETTINGS": str(conf)})
        assert upgraded.exit_code == 0, upgraded.output
        assert query(database_url, table_id) == before  # the same table: not copied, as lint said
    add_migration(migrations_copy, "p0000012", _alter(header, local, utc, "sa.BigInteger()"))
    assert _rules(_pending_lint(migrations_copy, conf).stdout) == ["mysql-copy-alter"]
    upgraded = CliRunner().invoke(cli, ["db", "-d", str(migrations_copy), "upgrade"], env={"SETTINGS": str(conf)})
    assert upgraded.exit_code == 0, upgraded.output
    assert query(database_url, table_id) != before  # a real type change copies the table


@pytest.mark.parametrize("backend", ["mysql"], indirect=True)
@pytest.mark.parametrize("statement", [
    'batch_op.execute(groups.update().where(groups.c.id > 0).values(active=1))',
    'op.execute(sa.update(groups).where(groups.c.id > 0).values(active=1))',
    'op.execute(sa.delete(groups).where(groups.c.id < 0))',
    'op.execute(groups.delete().where(groups.c.id < 0))',
])
def test_a_built_data_change_beside_schema_ops_on_mariadb(tmp_path, database_url, migrations_copy,
                                                           monkeypatch, statement):
    conf = _on_server(tmp_path, database_url, migrations_copy, monkeypatch)
    body = ('groups = sa.table("event", sa.column("id"), sa.column("active"))\n'
            '    with op.batch_alter_table("event") as batch_op:\n'
            '        batch_op.add_column(sa.Column("active", sa.Integer()))\n'
            f'        {statement}\n')
    first = add_migration(migrations_copy, "q0000001", f"def upgrade():\n    {body}\n\ndef downgrade():\n"
                  '    op.drop_column("event", "active")\n')
    result = _pending_lint(migrations_copy, conf)
    assert result.exit_code == 1 and _rules(result.stdout) == ["mysql-data-with-schema"], result.stdout
    alone = body.replace("batch_op.add_column", "# batch_op.add_column")  # the data change alone
    first.unlink()
    add_migration(migrations_copy, "q0000002", f"def upgrade():\n    {alone}\n\ndef downgrade():\n"
                  '    op.execute("SELECT 1")\n', down="p0000001")
    result = _pending_lint(migrations_copy, conf)
    assert result.exit_code == 0 and _rules(result.stdout) == [], result.stdout
