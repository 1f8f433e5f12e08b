"""The db commands we add (reset, newmigration, help), the banner, and the guards."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from alembic.script import ScriptDirectory
from werkzeug.security import check_password_hash


from .conftest import cli
from myapp.extensions import MIGRATIONS_DIR

from .conftest import ROOT, add_migration, manage, snapshot, write_conf


def run(cli_runner, settings, *args):
    return cli_runner.invoke(cli, list(args), env={"SETTINGS": str(settings)})


@pytest.fixture
def conf(tmp_path, database_url):
    return write_conf(tmp_path / "app.conf", database_url)


@pytest.mark.parametrize("how", ["snapshot", "--replay"])
def test_reset_builds_from_migrations_with_starter_data(cli_runner, conf, database_url, how):
    for _ in range(2):  # running it twice works
        result = run(cli_runner, conf, "db", "reset", *([how] if how != "snapshot" else []))
        assert result.exit_code == 0, result.output
    if how == "snapshot":
        assert "loaded " in result.output and "schema.txt: the schema at" in result.output
    else:
        assert "upgrade" in result.output and "ms)" in result.output  # one line per migration
    _, data, version = snapshot(database_url)
    roles = {r["id"]: r["name"] for r in data["role"].values()}
    users = {u["id"]: u for u in data["user"].values()}
    assert sorted(roles.values()) == ["Admin", "User"]
    assert sorted(u["email"] for u in users.values()) == ["admin@example.com", "guest@example.com"]
    password = {u["email"]: u["password"] for u in users.values()}
    assert check_password_hash(password["guest@example.com"], "guest")
    assert not password["admin@example.com"].startswith("admin")  # hashed, not plain
    assert sorted((users[ur["user_id"]]["email"], roles[ur["role_id"]])
                  for ur in data["roles_users"].values()) == [
        ("admin@example.com", "Admin"), ("guest@example.com", "User")]
    assert version == [(ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head(),)]


def test_reset_refuses_a_config_that_is_not_disposable(cli_runner, tmp_path, database_url):
    ok = write_conf(tmp_path / "ok.conf", database_url)
    assert run(cli_runner, ok, "db", "reset").exit_code == 0
    before = snapshot(database_url)
    prod = write_conf(tmp_path / "prod.conf", database_url, disposable=False)
    result = run(cli_runner, prod, "db", "reset")
    assert result.exit_code == 1
    assert "not marked disposable" in result.output and "Traceback" not in result.output
    assert snapshot(database_url) == before  # nothing touched


def test_downgrade_needs_yes_on_a_config_that_is_not_disposable(cli_runner, tmp_path, database_url):
    assert run(cli_runner, write_conf(tmp_path / "ok.conf", database_url), "db", "upgrade").exit_code == 0
    prod = write_conf(tmp_path / "prod.conf", database_url, disposable=False)
    refused = run(cli_runner, prod, "db", "downgrade")
    assert refused.exit_code == 1 and "--yes" in refused.output and "without confirmation" in refused.output
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert f"will revert, in this order:\n  {head}  add login tracking\n" in refused.output
    assert "user: batch_op.drop_column('login_count')" in refused.output
    assert snapshot(database_url)[2] == [(ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head(),)]
    first = ScriptDirectory(str(MIGRATIONS_DIR)).get_base()
    preview = run(cli_runner, prod, "db", "downgrade", "--sql", f"{first}:base")
    assert preview.exit_code == 0 and "DROP TABLE" in preview.stdout, preview.output
    done = run(cli_runner, prod, "db", "downgrade", "--yes")
    assert done.exit_code == 0, done.output
    assert "downgrade" in done.output


GADGET = '''def upgrade():
    op.create_table("gadget", sa.Column("id", sa.Integer, primary_key=True), sa.Column("nick", sa.String(20)))


def downgrade():
    with op.batch_alter_table("gadget") as b:
        b.drop_column("nick")
    op.drop_table("gadget")
'''


def test_the_downgrade_guard_follows_the_name_a_batch_binds(cli_runner, tmp_path, database_url,
                                                             migrations_copy):
    add_migration(migrations_copy, "g0000001", GADGET)
    upgraded = run(cli_runner, write_conf(tmp_path / "ok.conf", database_url), "db", "-d",
                   str(migrations_copy), "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    before = snapshot(database_url)
    prod = write_conf(tmp_path / "prod.conf", database_url, disposable=False)
    refused = run(cli_runner, prod, "db", "-d", str(migrations_copy), "downgrade")
    assert refused.exit_code == 1 and "without confirmation" in refused.output, refused.output
    # each destructive call of the downgrade, in the order it runs, batch calls with their table
    assert "  g0000001  g0000001\n      gadget: b.drop_column('nick')\n      op.drop_table('gadget')\n" \
        in refused.output, refused.output
    assert snapshot(database_url) == before


def test_db_migrate_and_revision_autogenerate_refuse_naming_newmigration(cli_runner, conf, migrations_copy):
    before = sorted(p.name for p in (migrations_copy / "versions").glob("*.py"))
    for command in (["migrate", "-m", "x"], ["migrate"], ["revision", "--autogenerate", "-m", "x"]):
        result = run(cli_runner, conf, "db", "-d", str(migrations_copy), *command)
        assert result.exit_code == 1, result.output
        error = result.stderr.strip().splitlines()[-1]
        assert error.startswith("Error: db ") and "autogenerate" in error, result.stderr
        assert 'make newmigration MSG="..."' in error and "nothing was written" in error
        assert "Traceback" not in result.output
    assert sorted(p.name for p in (migrations_copy / "versions").glob("*.py")) == before
    by_hand = run(cli_runner, conf, "db", "-d", str(migrations_copy), "revision", "-m", "by hand")
    assert by_hand.exit_code == 0, by_hand.output  # an empty migration to write by hand is fine
    assert len(list((migrations_copy / "versions").glob("*by_hand.py"))) == 1


def test_db_help_explains_make_migrate_and_db_migrate(cli_runner, conf):
    result = run(cli_runner, conf, "db", "help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "`make migrate` runs `db upgrade`" in text, text
    assert "`db migrate` is Flask-Migrate's autogenerate" in text
    assert "migrate Refused: use newmigration" in text


def test_banner_names_config_and_database_with_password_masked(cli_runner, tmp_path):
    conf = write_conf(tmp_path / "pg.conf", "postgresql+psycopg://bob:s3cret@localhost/x")
    result = run(cli_runner, conf, "db", "heads")  # needs no connection
    assert result.exit_code == 0, result.output
    assert f"config {conf}, database postgresql+psycopg://bob:***@localhost/x" in result.stderr
    assert "s3cret" not in result.output


def test_db_help_lists_the_commands(cli_runner, conf):
    result = run(cli_runner, conf, "db", "help")
    assert result.exit_code == 0
    for name in ("upgrade", "downgrade", "migrate", "revision", "history", "current", "heads",
                 "show", "stamp", "merge", "branches", "check", "edit", "reset", "newmigration"):
        assert f"\n  {name} " in result.stdout, name


def test_newmigration_without_changes_writes_nothing(cli_runner, conf, migrations_copy, database_url):
    before = sorted(p.name for p in (migrations_copy / "versions").glob("*.py"))
    result = run(cli_runner, conf, "db", "-d", str(migrations_copy), "newmigration", "-m", "nothing")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output
    assert sorted(p.name for p in (migrations_copy / "versions").glob("*.py")) == before


def test_newmigration_leaves_the_target_database_alone(cli_runner, conf, migrations_copy, database_url):
    assert run(cli_runner, conf, "db", "reset").exit_code == 0
    assert run(cli_runner, conf, "db", "downgrade").exit_code == 0  # behind, with rows
    before = snapshot(database_url)
    result = run(cli_runner, conf, "db", "-d", str(migrations_copy), "newmigration", "-m", "x")
    assert result.exit_code == 0, result.output
    assert snapshot(database_url) == before


def test_newmigration_needs_a_message(cli_runner, conf):
    result = run(cli_runner, conf, "db", "newmigration", "-m", "  ")
    assert result.exit_code == 2 and "give a summary" in result.output


def test_manage_py_runs_from_any_directory(tmp_path, conf):
    result = manage("db", "current", settings=conf.name, cwd=conf.parent)
    assert result.returncode == 0, result.stderr
    assert f"config {conf}" in result.stderr
    assert manage("db", "help", settings=ROOT / "etc/conf/dev.conf", cwd="/").returncode == 0


def test_app_commands_are_listed():
    result = manage("--help", settings=ROOT / "etc/conf/dev.conf")
    for name in ("db", "shell", "runserver", "publicserver", "seed"):
        assert f"  {name}" in result.stdout, name


def test_shell_preloads_app_db_and_models(app):
    with app.app_context():
        context = app.make_shell_context()
    assert context["app"] is app
    assert {"db", "User", "Role"} <= set(context)


@pytest.mark.parametrize("debug", [True, False])
def test_runserver_serves_on_the_configured_port_in_the_configs_debug_mode(tmp_path, sqlite_url, debug):
    """The config's DEBUG rules (not FLASK_DEBUG): with it, pending migrations get their page."""
    with socket.socket() as s:  # a free port for this test
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = write_conf(tmp_path / "s.conf", sqlite_url, extra=f"PORT = {port}\nDEBUG = {debug}\n")
    env = {**{k: v for k, v in os.environ.items() if k != "FLASK_DEBUG"}, "SETTINGS": str(conf)}
    # A session of its own: with DEBUG the reloader runs the server in a child process.
    server = subprocess.Popen([sys.executable, str(ROOT / "bin/manage.py"), "runserver"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.load(r)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert body["status"] == "pending" and body["revision"] is None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                status, page = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, page = e.code, e.read().decode()
        assert (status, "migrations pending" in page) == ((503, True) if debug else (200, False))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


@pytest.mark.parametrize("answer, reverted", [("y", True), ("n", False)])
def test_downgrade_asks_in_a_terminal(tmp_path, sqlite_url, answer, reverted):
    """A non-disposable config in a real terminal: the plan, then a question."""
    import pty

    assert manage("db", "upgrade", settings=write_conf(tmp_path / "ok.conf", sqlite_url)).returncode == 0
    prod = write_conf(tmp_path / "prod.conf", sqlite_url, disposable=False)
    primary, secondary = pty.openpty()
    run = subprocess.Popen([sys.executable, str(ROOT / "bin/manage.py"), "db", "downgrade"],
                           stdin=secondary, stdout=secondary, stderr=secondary,
                           env={**os.environ, "SETTINGS": str(prod)})
    os.close(secondary)
    output = b""
    while b"[y/N]" not in output:
        output += os.read(primary, 1024)
    os.write(primary, answer.encode() + b"\n")
    run.wait(timeout=60)
    os.close(primary)
    assert b"will revert" in output
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    now = snapshot(sqlite_url)[2]
    assert (now != [(head,)]) is reverted and run.returncode == (0 if reverted else 1)


def test_db_status_exit_codes(cli_runner, conf, database_url):
    first = ScriptDirectory(str(MIGRATIONS_DIR)).get_base()
    empty = run(cli_runner, conf, "db", "status")
    assert empty.exit_code == 1 and "current: none (empty database)" in empty.stdout
    assert "pending: 2 migration(s)" in empty.stdout
    assert run(cli_runner, conf, "db", "upgrade", first).exit_code == 0
    partway = run(cli_runner, conf, "db", "status")
    assert partway.exit_code == 1 and f"current: {first}" in partway.stdout
    assert "add login tracking" in partway.stdout and f"upgrade {first}  ok  by " in partway.stdout
    assert run(cli_runner, conf, "db", "upgrade").exit_code == 0
    done = run(cli_runner, conf, "db", "status")
    assert done.exit_code == 0, done.output
    assert "pending: none" in done.stdout and "models: match the migrations" in done.stdout


DRIFT = '''def upgrade():
    with op.batch_alter_table("role") as batch_op:
        batch_op.drop_constraint("uq_role_name", type_="unique")
        batch_op.alter_column("description", type_=sa.String(100), existing_type=sa.String(255),
                              nullable=False)
        batch_op.add_column(sa.Column("extra", sa.Integer()))
        batch_op.create_index("ix_role_description", ["description"])
    op.create_table("scratchpad", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    pass
'''

READABLE = ["unique constraint uq_role_name on role(name): in the models, not in the migrations",
            "column role.description: type VARCHAR(100) in the migrations, VARCHAR(255) in the models",
            "column role.description: NOT NULL in the migrations, NULL in the models",
            "column role.extra: in the migrations, not in the models",
            "index ix_role_description on role(description): in the migrations, not in the models",
            "table scratchpad: in the migrations, not in the models"]


def _assert_readable(output):
    for line in READABLE:
        assert f"\n  {line}\n" in output, line
    for repr_ in ("Column(", "UniqueConstraint(", "Table(", "Index(", "VARCHAR(length="):
        assert repr_ not in output, repr_


def test_check_and_status_print_each_difference_as_a_line(cli_runner, conf, migrations_copy):
    add_migration(migrations_copy, "drift", DRIFT)
    assert run(cli_runner, conf, "db", "-d", str(migrations_copy), "upgrade").exit_code == 0
    summary = (f"the models differ from the migrations ({len(READABLE)} differences);"
               " write a migration: make newmigration MSG=\"...\"")

    check = run(cli_runner, conf, "db", "-d", str(migrations_copy), "check")
    assert check.exit_code == 1
    assert check.stderr.splitlines()[1] == f"Error: {summary}", check.stderr  # after the banner
    _assert_readable(check.stderr + "\n")

    status = run(cli_runner, conf, "db", "-d", str(migrations_copy), "status")
    assert status.exit_code == 1
    assert f"\nmodels: {summary.removeprefix('the models ')}\n" in status.stdout, status.stdout
    _assert_readable(status.stdout)
