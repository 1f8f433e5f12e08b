"""The app's extensions: db (with a constraint naming convention) and migrate."""
from pathlib import Path

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from .migrate_tools.compare import compare_server_default

# Every constraint gets a predictable name, so any of them can be dropped later, and SQLite's
# batch mode can find them (Alembic's naming.rst). Names cover every column (column_0_N_name),
# so two composite constraints that share a first column never get the same name; a name too
# long for a backend is cut with a stable hash by SQLAlchemy, as create_all does.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
# Batch mode from the first migration on: SQLite needs no hand edits.
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True,
                  compare_server_default=compare_server_default)


def init_app(app):
    """Bind the extensions to the app."""
    db.init_app(app)
    migrate.init_app(app, db)
