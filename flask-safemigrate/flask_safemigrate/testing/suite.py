"""The migration suite an app's tests inherit: its own history, whatever it holds.

    from flask_safemigrate.testing import MigrationSuite

    class TestMigrations(MigrationSuite):
        row_values = {}  # {(table, column): [values]} for columns a CHECK constrains

Each test runs on every backend (the plugin's `app` fixture), on a database of its own.
"""
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from flask import current_app

from ..migrate_tools import history, snapshot, squash
from ..migrate_tools.declared import DeclaredTypes
from ..migrate_tools.reset import empty_database
from . import dbstate


def _config():
    config = current_app.extensions["migrate"].migrate.get_config()
    config.attributes["echo"] = lambda line: None
    return config


def _scripts():
    """The app's migrations, oldest first."""
    return list(reversed(list(ScriptDirectory.from_config(_config()).walk_revisions())))


def _engine():
    return current_app.extensions["migrate"].db.engine


# A migration that runs SQL or queries may change rows on purpose (a data migration): for it
# the stairway checks that no row is lost, not that values stay (squash.changes_data).


def _within(rows, schema):
    """`rows` in the tables and columns of `schema` only (what a revision kept)."""
    return {table: {pk: {c: v for c, v in row.items() if c in schema[table]["columns"]}
                    for pk, row in table_rows.items()}
            for table, table_rows in rows.items() if table in schema}


def _lost(before, after, values):
    """Rows of `before` missing from `after` (and, with `values`, rows whose values changed),
    in the tables `after` still has."""
    if values:
        return [m for m in dbstate.kept(before, after) if m[0] in after]
    return [(table, pk) for table, rows in before.items() if table in after
            for pk in rows if pk not in after[table]]


class MigrationSuite:
    """Single head, upgrade from empty, models match the migrations, and a stairway with rows."""

    # Values the stairway's rows take in turn, {(table, column): [values]}, for columns whose
    # made-up values the database refuses (a CHECK constraint, a trigger).
    row_values = {}

    def test_single_head(self, app):
        with app.app_context():
            directory = ScriptDirectory.from_config(_config())
            heads = directory.get_heads()
            why = history.branched(directory, heads, 'make merge MSG="merge heads"') if len(heads) > 1 else ""
        assert len(heads) <= 1, why

    def test_snapshot_matches_history(self, app):
        """migrations/schema.txt is the schema the history builds here: the same text, and the
        same tables, columns, types, defaults, constraint and index names when it is loaded."""
        with app.app_context():
            config, engine = _config(), _engine()
            directory = ScriptDirectory.from_config(config)
            files = list(history.migration_files(directory))
            found = snapshot.read(directory.dir)
            if not files and found is None:
                return  # no history, no snapshot: nothing to describe
            again = "write it again with `make snapshot` (bin/manage.py db snapshot) and commit it"
            assert found is not None, f"{snapshot.path(directory.dir)} is missing: {again}"
            assert found.is_for(files), \
                f"{snapshot.path(directory.dir)} was written for other migration files, or edited: {again}"
            declared = DeclaredTypes()
            config.attributes["declared_types"] = declared
            command.upgrade(config, "heads")
            naming = current_app.extensions["migrate"].db.metadata.naming_convention
            with engine.connect() as connection:
                built = snapshot.from_database(connection, declared, naming)
                replayed = dbstate.schema(connection), dbstate.enum_types(connection)
            assert built == found.body, f"{snapshot.path(directory.dir)} differs from what the history builds: {again}"
            empty_database(engine.url.render_as_string(hide_password=False))
            with engine.begin() as connection:
                found.metadata(naming).create_all(connection)
            with engine.connect() as connection:
                loaded = dbstate.schema(connection), dbstate.enum_types(connection)
        assert loaded == replayed, "the snapshot, loaded, builds another schema than the history"

    def test_squashed_baselines_build_what_they_replaced(self, app):
        """Each baseline `db squash` wrote builds, on this backend, the schema the migrations it
        replaced (kept in migrations/squashed/REV/) build up to REV: names, types, defaults, enum types."""
        from ..migrating import configured_for, reflected_schema

        with app.app_context():
            directory = ScriptDirectory.from_config(_config())
            url = _engine().url.render_as_string(hide_password=False)
            for revision, folder in squash.squashed_folders(directory):
                baseline = directory.get_revision(revision)
                built = {}
                for side, files in (("history", sorted(folder.glob("*.py"))), ("baseline", [baseline.path])):
                    with squash.staging_folder(directory.dir, files) as staging:
                        config = configured_for(staging)
                        config.attributes["echo"] = lambda line: None
                        command.upgrade(config, revision)
                        built[side] = reflected_schema(url)
                    empty_database(url)
                assert built["history"] == built["baseline"], \
                    f"the baseline {revision} ({baseline.path}) differs from the history it replaced: " + \
                    "; ".join(squash.differences(built["history"], built["baseline"])[:3])

    def test_upgrade_from_empty_to_head(self, app):
        with app.app_context():
            scripts = _scripts()
            command.upgrade(_config(), "head")
            with _engine().connect() as connection:
                tables = set(dbstate.schema(connection))
                version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() \
                    if scripts else None
            metadata = current_app.extensions["migrate"].db.metadata
        assert tables == set(metadata.tables)
        assert version == (scripts[-1].revision if scripts else None)

    def test_models_match_migrations(self, app):
        with app.app_context():
            config = _config()
            command.upgrade(config, "head")
            command.check(config)  # raises AutogenerateDiffsDetected on any difference

    def test_stairway_keeps_rows(self, app):
        """Each revision upgrades (keeping the rows before it), gets rows in every table,
        downgrades to exactly the schema before it (rows kept), and upgrades again."""
        with app.app_context():
            config, engine = _config(), _engine()
            for script in _scripts():
                with engine.connect() as connection:
                    schema_before, rows_before = dbstate.schema(connection), dbstate.rows(connection)

                values = not squash.changes_data(script)
                command.upgrade(config, script.revision)
                with engine.connect() as connection:
                    assert _lost(rows_before, dbstate.rows(connection), values) == [], script.revision
                    # what the revision keeps of the rows before it: a dropped column's values go
                    kept_before = _within(rows_before, dbstate.schema(connection))
                try:
                    with engine.begin() as connection:
                        dbstate.fill(connection, choices=self.row_values)  # rows for what follows
                except dbstate.FillError as e:
                    pytest.skip(f"stairway stopped at {script.revision}: cannot make rows for {e}; give"
                                f" the refused columns values in row_values, {{({e.table!r}, column):"
                                " [values]}")
                with engine.connect() as connection:
                    rows_up = dbstate.rows(connection)

                command.downgrade(config, script.down_revision or "base")
                with engine.connect() as connection:
                    assert dbstate.schema(connection) == schema_before, f"downgrade of {script.revision}"
                    assert _lost(kept_before, dbstate.rows(connection), values) == [], script.revision

                command.upgrade(config, script.revision)
                with engine.connect() as connection:
                    rows_again = dbstate.rows(connection)
                assert _lost(kept_before, rows_again, values) == [], script.revision
                # Rows added at this revision survive the round trip in the columns that existed
                # before it (a column the revision adds is dropped by its downgrade, values and all).
                assert _lost(_within(rows_up, schema_before), rows_again, values) == [], script.revision
