"""The app's extensions: db (with the toolkit's constraint naming convention) and migrations."""
from pathlib import Path

from flask_safemigrate import NAMING_CONVENTION, SafeMigrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrations = SafeMigrate(directory=MIGRATIONS_DIR, starter_data="__app__.models:add_starter_data")


def init_app(app):
    """Bind the extensions to the app."""
    db.init_app(app)
    migrations.init_app(app, db)
