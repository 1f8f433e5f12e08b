"""The migration suite: every property a set of migrations must keep."""
import os
import sqlite3
import subprocess

import pytest
from alembic import command
from click.testing import CliRunner
from flask import current_app
from sqlalchemy.engine import make_url

from flask_safemigrate.testing import MigrationSuite

from .conftest import add_migration, cli, new_database, snapshot, write_conf


def alembic_config():
    config = current_app.extensions["migrate"].migrate.get_config()
    config.attributes["echo"] = lambda line: None
    return config


class TestMigrations(MigrationSuite):
    """The toolkit's migration suite over the example domain's history."""


def run_sql_with_client(url, sql):
    """Execute a SQL script with the backend's own client, as a DBA would."""
    parts = make_url(url)
    if parts.get_backend_name() == "sqlite":
        with sqlite3.connect(parts.database) as connection:
            connection.executescript(sql)
        return
    if parts.get_backend_name() == "postgresql":
        command_line = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        parts.set(drivername="postgresql").render_as_string(hide_password=False)]
        env = {**os.environ, "PGPASSWORD": parts.password or ""}
    else:
        command_line = ["mariadb", "-h", parts.host or "localhost", "-P", str(parts.port or 3306),
                        "-u", parts.username or "root", parts.database]
        env = {**os.environ, "MYSQL_PWD": parts.password or ""}
    result = subprocess.run(command_line, input=sql, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_offline_sql_builds_the_same_schema_as_online(app, backend, database_url, tmp_path):
    with app.app_context():
        command.upgrade(alembic_config(), "head")
    online = snapshot(database_url)

    (tmp_path / "offline").mkdir()
    empty_url, cleanup = new_database(backend, tmp_path / "offline")
    try:
        conf = write_conf(tmp_path / "offline.conf", empty_url)
        result = CliRunner().invoke(cli, ["db", "upgrade", "--sql"], env={"SETTINGS": str(conf)})
        assert result.exit_code == 0, result.output
        assert "CREATE TABLE" in result.stdout and "config " not in result.stdout
        run_sql_with_client(empty_url, result.stdout)
        offline = snapshot(empty_url)
    finally:
        cleanup()
    assert offline[0] == online[0]  # schema
    assert offline[2] == online[2]  # alembic_version


BATCH = '''def upgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("confirmed_at")
        batch_op.alter_column("password", existing_type=sa.String(255), nullable=False)
        batch_op.add_column(sa.Column("nickname", sa.String(50)))


def downgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("nickname")
        batch_op.alter_column("password", existing_type=sa.String(255), nullable=True)
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime()))
'''


def test_offline_sql_covers_batch_rebuilds_both_ways(backend, tmp_path, migrations_copy):
    """--sql up and down, batch table rebuilds included, run by the backend's own client."""
    add_migration(migrations_copy, "jjjj0001", BATCH)
    urls = {}
    try:
        for name in ("online", "offline"):
            (tmp_path / name).mkdir()
            urls[name] = new_database(backend, tmp_path / name)
        online, offline = urls["online"][0], urls["offline"][0]
        conf = {n: write_conf(tmp_path / f"{n}.conf", urls[n][0]) for n in urls}

        def cli_db(name, *args):
            result = CliRunner().invoke(cli, ["db", "-d", str(migrations_copy), *args],
                                        env={"SETTINGS": str(conf[name])})
            assert result.exit_code == 0, result.output
            return result.stdout

        cli_db("online", "upgrade")
        run_sql_with_client(offline, cli_db("offline", "upgrade", "--sql"))
        assert snapshot(offline)[0] == snapshot(online)[0]
        assert snapshot(offline)[2] == snapshot(online)[2] == [("jjjj0001",)]

        cli_db("online", "downgrade")
        run_sql_with_client(offline, cli_db("offline", "downgrade", "--sql", "jjjj0001:-1"))
        assert snapshot(offline)[0] == snapshot(online)[0]
        assert snapshot(offline)[2] == snapshot(online)[2]
    finally:
        for _, cleanup in urls.values():
            cleanup()
