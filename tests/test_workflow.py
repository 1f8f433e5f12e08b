"""The seed's workflow end to end, through the real Makefile, in a copy of the project."""
import ast
import datetime
import re

import pytest

from .conftest import edit, insert, make, ok, snapshot


def test_make_help_lists_the_targets(project):
    out = ok(make(project, "help"))
    for target in ("db", "newmigration", "migrate", "server", "shell", "test", "clean", "help"):
        assert re.search(rf"^  make {target} +\S", out, re.M), target


def test_edit_model_newmigration_migrate_check_downgrade_upgrade(project, database_url):
    """On each backend, as the dev database (DEV_DATABASE_URL), with rows kept throughout."""
    versions = project / "myapp" / "migrations" / "versions"
    env = {"DEV_DATABASE_URL": database_url}

    # 1. make db: starter data, on the schema the migrations build (loaded from their snapshot).
    out = ok(make(project, "db", env=env))
    assert "  loaded myapp/migrations/schema.txt: the schema at" in out
    insert(database_url, "user", email="kept@example.com", password="x", active=True,
           confirmed_at=datetime.datetime(2020, 1, 1))
    insert(database_url, "role", name="Editor", description="kept")
    emails = sorted(u["email"] for u in snapshot(database_url)[1]["user"].values())
    assert len(emails) == 3

    def kept():
        schema, data, _ = snapshot(database_url)
        assert sorted(u["email"] for u in data["user"].values()) == emails
        assert "Editor" in {r["name"] for r in data["role"].values()}
        assert set(schema) == {"user", "role", "roles_users"}  # nothing half-done left behind
        return schema

    # 2. An unchanged model writes no file.
    before = sorted(versions.glob("*.py"))
    assert "No changes in the models" in ok(make(project, "newmigration", "MSG=nothing yet", env=env))
    assert sorted(versions.glob("*.py")) == before

    # 3. Edit the models: every operation the seed tells users to delete by hand on SQLite.
    user_py, role_py = project / "myapp/models/user.py", project / "myapp/models/role.py"
    edit(user_py, "    confirmed_at: Mapped[datetime | None]\n", "")                   # drop_column
    edit(user_py, "String(255), unique=True)", "String(255))")                         # drop_constraint
    edit(user_py, "last_login_ip: Mapped[str | None] = mapped_column(String(45))",
         "last_login_ip: Mapped[str | None] = mapped_column(String(100))")             # alter type
    edit(user_py, "password: Mapped[str | None]", "password: Mapped[str]")             # alter nullable
    edit(user_py, "    # login tracking\n",
         "    nickname: Mapped[str | None] = mapped_column(String(50))\n\n    # login tracking\n")
    edit(role_py, "from sqlalchemy import Column, ForeignKey, String, Table",
         "from sqlalchemy import Column, ForeignKey, Integer, String, Table")
    edit(role_py, "    description: Mapped[str | None] = mapped_column(String(255))\n",
         "    description: Mapped[str | None] = mapped_column(String(255))\n"
         "    owner_id = mapped_column(Integer, ForeignKey('user.id', ondelete='SET NULL'))\n")  # FK
    untouched = snapshot(database_url)

    out = ok(make(project, "newmigration", "MSG=Nicknames, owners & more", env=env))
    # MariaDB keeps a unique constraint as a unique index; it is written as the constraint it
    # is, so the file runs on the other backends too.
    drop_unique = "drop constraint"
    new = sorted(set(versions.glob("*.py")) - set(before))
    assert len(new) == 1 and re.fullmatch(r"[0-9a-f]{12}_nicknames_owners_more\.py", new[0].name)
    assert f"wrote myapp/migrations/versions/{new[0].name}" in out
    for line in ("add column user.nickname", "drop column user.confirmed_at",
                 "alter column user.last_login_ip: type VARCHAR(45) -> VARCHAR(100)",
                 "alter column user.password: NOT NULL",
                 f"{drop_unique} uq_user_email on user", "add column role.owner_id",
                 "create foreign key fk_role_owner_id_user on role"):
        assert f"  {line}\n" in out, line
    assert snapshot(database_url) == untouched  # newmigration never touches the dev database
    assert "batch_alter_table" in new[0].read_text()

    # 4. make migrate applies it, one line with its duration; rows are kept.
    out = ok(make(project, "migrate", env=env))
    revision = new[0].name[:12]
    assert re.search(rf"^  upgrade +{revision} +Nicknames, owners & more +\(\d+ ms\)$", out, re.M)
    schema = kept()
    assert "nickname" in schema["user"]["columns"] and "confirmed_at" not in schema["user"]["columns"]
    assert [fk[2] for fk in schema["role"]["fks"]] == ["user"]
    assert schema["user"]["uniques"] == []

    # 5. db check is clean; downgrade and upgrade again keep the rows.
    ok(make(project, "check", env=env))
    assert re.search(rf"^  downgrade {revision}", ok(make(project, "downgrade", env=env)), re.M)
    assert "confirmed_at" in kept()["user"]["columns"]
    ok(make(project, "migrate", env=env))
    kept()
    assert "nothing to do" in ok(make(project, "migrate", env=env))

    # 6. Nothing left to migrate: no file.
    assert "No changes in the models" in ok(make(project, "newmigration", "MSG=again", env=env))
    assert len(list(versions.glob("*.py"))) == len(before) + 1


def test_newmigration_passes_msg_through_untouched(project, tmp_path):
    """make expands nothing in MSG and the shell sees it as one word; the file's docstring keeps it."""
    versions = project / "myapp" / "migrations" / "versions"
    ok(make(project, "db"))
    edit(project / "myapp/models/user.py", "    # login tracking\n",
         "    nickname: Mapped[str | None] = mapped_column(String(50))\n\n    # login tracking\n")
    marker = tmp_path / "ran"
    for message in ["price in $USD", "it's \"quoted\" `touch {marker}` $$ and $(MSG)",
                    "$(shell touch {marker})", "${{HOME}} and $$(touch {marker}); touch {marker}",
                    "C:\\Users\\new \\N{{BULLET}} \\x41 and a trailing \\",
                    'say """hi""" and """" and "', "two\nlines", "# hash & amp | pipe > gt"]:
        message = message.format(marker=marker)
        before = set(versions.glob("*.py"))
        out = ok(make(project, "newmigration", f"MSG={message}"))
        [written] = set(versions.glob("*.py")) - before
        docstring = ast.get_docstring(ast.parse(written.read_text()), clean=False)
        assert docstring.startswith(f"{message}\n\nRevision ID: "), (message, docstring)
        assert f"wrote myapp/migrations/versions/{written.name}" in out
        written.unlink()
    refused = make(project, "newmigration", "MSG=x", f"RENAMES=$(shell touch {marker})")
    assert refused.returncode != 0 and "Invalid value for '--renames'" in refused.stderr
    assert not marker.exists()


def test_newmigration_without_msg_says_how(project):
    result = make(project, "newmigration")
    assert result.returncode != 0
    assert 'usage: make newmigration MSG="add login tracking"' in result.stderr


def test_a_mistake_in_a_model_is_one_line_naming_file_and_line(project):
    ok(make(project, "db"))
    edit(project / "myapp/models/role.py", "class Role(db.Model):", "class Role(db.Model:")
    result = make(project, "newmigration", "MSG=x")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = (project / "myapp/models/role.py").read_text().splitlines()
    line = lines.index("class Role(db.Model:") + 1
    assert f"Error: myapp/models/role.py:{line}: SyntaxError: " in result.stderr


def test_make_status_shows_model_drift_and_pending_lint_findings(project):
    ok(make(project, "db"))
    assert "models: match the migrations" in ok(make(project, "status"))
    edit(project / "myapp/models/user.py", "    confirmed_at: Mapped[datetime | None]\n", "")
    drift = make(project, "status")
    assert drift.returncode != 0 and "models: differ from the migrations" in drift.stdout
    written = ok(make(project, "newmigration", "MSG=drop confirmed"))
    assert "db lint found" in written and "  drop-column  " in written  # linted as written
    pending = make(project, "status")
    assert pending.returncode != 0 and "pending: 1 migration(s)" in pending.stdout
    assert "drop-column  " in pending.stdout and "models: match the migrations" in pending.stdout
