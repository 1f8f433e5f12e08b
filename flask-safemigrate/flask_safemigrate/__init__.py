"""Flask-SafeMigrate: safe database schema migrations for Flask apps, over Flask-Migrate and Alembic.

An app creates its SQLAlchemy `db` with NAMING_CONVENTION and binds SafeMigrate to it:

    db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
    migrations = SafeMigrate(directory=Path(__file__).parent / "migrations",
                             starter_data="blog.models:add_starter_data")

    def create_app(settings=None, overrides=None):
        app = Flask(__name__)
        load_config(app, settings, overrides)
        db.init_app(app)
        migrations.init_app(app, db)
        ...

SafeMigrate registers Flask-Migrate (batch mode, type and default comparison), the `db`
commands, `seed`, `runserver` and the pending-migrations page (DEBUG only).
"""
from importlib import import_module

from flask_migrate import Migrate

from .config import init_defaults, load as load_config
from .migrate_tools.compare import compare_server_default
from .migrate_tools.naming import NAMING_CONVENTION

__version__ = "0.1.0"

__all__ = ["NAMING_CONVENTION", "SafeMigrate", "configured_migrate", "load_config", "__version__"]


def configured_migrate(directory):
    """Flask-Migrate's Migrate as the toolkit runs it, for the migrations in `directory`."""
    from .migrating import hand_over_run_options

    # Batch mode from the first migration on: SQLite needs no hand edits.
    migrate = Migrate(directory=str(directory), render_as_batch=True, compare_type=True,
                      compare_server_default=compare_server_default)
    migrate.configure(hand_over_run_options)  # what a command wants of its run reaches env.py
    return migrate


def _no_starter_data(session):
    return "none"


class SafeMigrate:
    """The toolkit as a Flask extension: Flask-Migrate configured for safe migrations, plus our
    commands and the pending-migrations page. `starter_data` is a function (or "module:name")
    that adds the rows `db reset` puts in a fresh database and says what they are."""

    def __init__(self, app=None, db=None, directory="migrations", starter_data=None):
        self.starter_data = starter_data
        self.migrate = configured_migrate(directory)
        if app is not None:
            self.init_app(app, db)

    def init_app(self, app, db, **migrate_options):
        """Bind to `app` and its `db`; `migrate_options` are Flask-Migrate's Migrate.init_app
        arguments (directory, render_as_batch, ...), so an app's own call keeps working."""
        from . import commands, pending

        init_defaults(app)  # an app that loads its config its own way gets the toolkit's defaults
        self.migrate.init_app(app, db, **migrate_options)
        app.extensions["safemigrate"] = self
        pending.init_app(app)  # DEBUG only: a page instead of every page while migrations are pending
        commands.init_app(app)

    def add_starter_data(self, session):
        """Add the starter rows through the app's function; what they are, in words."""
        add = self.starter_data or _no_starter_data
        if isinstance(add, str):
            module, _, name = add.partition(":")
            add = getattr(import_module(module), name)
        return add(session)
