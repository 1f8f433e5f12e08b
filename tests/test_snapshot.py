"""The schema snapshot (migrations/schema.txt) and what is built on it: newmigration keeps it,
`make db` loads it, `db status` compares a live database with it (drift), on every backend."""
import re

from .conftest import add_migration, edit, make, manage, ok, query, snapshot as snapshot_of, write_conf

NICKNAME = "    nickname: Mapped[str | None] = mapped_column(String(40), server_default=\"x\")\n"


def run(migrations, conf, *args):
    return manage("db", "-d", str(migrations), *args, settings=conf)


def test_newmigration_writes_the_snapshot_the_history_builds_on_every_backend(project, database_url):
    """The snapshot newmigration writes (from the scratch database, on this backend) is the text
    `db snapshot` writes by replaying the whole history, and a review shows the new column."""
    env = {"DEV_DATABASE_URL": database_url}
    schema = project / "myapp" / "migrations" / "schema.txt"
    before = schema.read_text()
    user = project / "myapp" / "models" / "user.py"
    edit(user, "    login_count: Mapped[int | None]\n", "    login_count: Mapped[int | None]\n" + NICKNAME)
    out = ok(make(project, "newmigration", "MSG=add nickname", env=env))
    assert "wrote myapp/migrations/schema.txt (the schema after it, for review)" in out
    written = schema.read_text()
    new = set(written.splitlines()) - set(before.splitlines())
    revision = re.search(r"versions/(\w+?)_add_nickname\.py", out).group(1)
    assert f"# heads: {revision}" in new
    assert "    column('nickname', sa.String(length=40), server_default='x')" in new
    assert len(new) == 3  # and the digest of the files
    ok(make(project, "snapshot", env=env))
    assert schema.read_text() == written  # replayed, the same text
    assert "No changes in the models" in ok(make(project, "newmigration", "MSG=again", env=env))


def test_make_db_loads_the_snapshot_and_replay_runs_the_history(tmp_path, database_url, migrations_copy):
    conf = write_conf(tmp_path / "a.conf", database_url)
    head = re.search(r"^# heads: (\w+)", (migrations_copy / "schema.txt").read_text(), re.M).group(1)
    loaded = run(migrations_copy, conf, "reset")
    assert loaded.returncode == 0, loaded.stderr
    assert f"loaded {migrations_copy / 'schema.txt'}: the schema at {head}" in loaded.stdout
    journal = run(migrations_copy, conf, "journal").stdout
    assert re.search(rf"load +{head} +ok", journal) and "upgrade" not in journal
    assert run(migrations_copy, conf, "status").returncode == 0
    history = run(migrations_copy, conf, "history", "--applied").stdout.splitlines()
    assert history[-1].startswith(f"[X] {head}") and "loaded from schema.txt" in history[-1]

    replayed = run(migrations_copy, conf, "reset", "--replay")
    assert replayed.returncode == 0 and "loaded" not in replayed.stdout
    assert re.search(rf"upgrade +{head}", run(migrations_copy, conf, "journal").stdout)


def test_a_snapshot_out_of_date_is_not_used_and_status_says_so(tmp_path, database_url, migrations_copy):
    """A migration added without its snapshot (a merge, a hand-written file): the history is
    replayed, and the database is not compared with a schema that is not its own."""
    conf = write_conf(tmp_path / "a.conf", database_url)
    add_migration(migrations_copy, "snap0001", 'def upgrade():\n    op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True))\n\n\ndef downgrade():\n    op.drop_table("extra")\n')
    reset = run(migrations_copy, conf, "reset", "--no-seed")
    assert reset.returncode == 0 and "loaded" not in reset.stdout, reset.stderr
    status = run(migrations_copy, conf, "status")
    assert "database: not compared with its migrations: migrations/schema.txt is missing or out of date: write it again: make snapshot" \
        in status.stdout
    assert "table extra: in the migrations, not in the models" in status.stdout and status.returncode == 1


def test_status_reports_a_change_made_by_hand(tmp_path, database_url, migrations_copy):
    conf = write_conf(tmp_path / "a.conf", database_url)
    assert run(migrations_copy, conf, "reset", "--no-seed").returncode == 0
    query(database_url, "ALTER TABLE role ADD nickname VARCHAR(20)", autocommit=True)
    query(database_url, "CREATE INDEX ix_by_hand ON role (description)", autocommit=True)
    status = run(migrations_copy, conf, "status")
    assert status.returncode == 1
    assert "database: differs from the schema its migrations built (2 differences)" in status.stdout
    assert "  column role.nickname: in the database, not in the migrations" in status.stdout
    assert "  index ix_by_hand on role(description): in the database, not in the migrations" in status.stdout
    assert "models: match the migrations" in status.stdout


def test_status_in_production_builds_no_scratch_database_and_gives_no_make_advice(
        tmp_path, database_url, migrations_copy, backend):
    """A config that is not disposable: at head, the live database is compared with the snapshot
    and the models with the database; with a migration pending, on a server, neither is compared
    (that would need a scratch database on the production server)."""
    dev = write_conf(tmp_path / "dev.conf", database_url)
    production = write_conf(tmp_path / "production.conf", database_url, disposable=False)
    assert run(migrations_copy, dev, "reset", "--no-seed").returncode == 0
    query(database_url, "ALTER TABLE role ADD nickname VARCHAR(20)", autocommit=True)
    at_head = run(migrations_copy, production, "status")
    assert at_head.returncode == 1
    assert "  column role.nickname: in the database, not in the migrations" in at_head.stdout
    assert "make " not in at_head.stdout + at_head.stderr
    query(database_url, "ALTER TABLE role DROP COLUMN nickname", autocommit=True)
    assert run(migrations_copy, production, "status").returncode == 0

    add_migration(migrations_copy, "prod0001", 'def upgrade():\n    op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True))\n\n\ndef downgrade():\n    op.drop_table("extra")\n')
    pending = run(migrations_copy, production, "status")
    assert pending.returncode == 1 and "pending: 1 migration(s)" in pending.stdout
    assert "make " not in pending.stdout + pending.stderr
    if backend == "sqlite":  # a temporary file: the models are compared
        assert "table extra: in the migrations, not in the models" in pending.stdout
        assert "write a migration: in development, then deploy it" in pending.stdout
    else:
        assert ("models: not compared with the migrations: no scratch database on a server that is"
                " not disposable: set SCRATCH_DATABASE_URL") in pending.stdout


def test_a_snapshot_edited_by_hand_is_not_trusted(tmp_path, database_url, migrations_copy, backend):
    """A line taken out of schema.txt (or a head changed) without its seal: make db replays the
    history, and newmigration does not write the column back as a new one."""
    conf = write_conf(tmp_path / "a.conf", database_url)
    schema = migrations_copy / "schema.txt"
    schema.write_text(schema.read_text().replace("    column('login_count', sa.Integer())\n", ""))
    reset = run(migrations_copy, conf, "reset", "--no-seed")
    assert reset.returncode == 0 and "loaded" not in reset.stdout, reset.stderr
    assert "login_count" in snapshot_of(database_url)[0]["user"]["columns"]  # the history's schema
    written = run(migrations_copy, conf, "newmigration", "-m", "nothing")
    assert written.returncode == 0 and "No changes in the models" in written.stdout, written.stdout + written.stderr
    production = write_conf(tmp_path / "p.conf", database_url, disposable=False)
    refused = run(migrations_copy, production, "newmigration", "-m", "x")
    if backend == "sqlite":
        assert refused.returncode == 0, refused.stderr
    else:
        assert refused.returncode == 1 and "which is not made on the server of a config that is not disposable" \
            in refused.stderr and "nothing was written" in refused.stderr
