"""myapp: a Flask application scaffold whose heart is safe database schema migration."""
from flask import Flask


def create_app(settings=None, overrides=None):
    """Create the app from the config file `settings` (default: $SETTINGS), then `overrides`."""
    from . import commands, config, extensions, pending, views

    app = Flask(__name__)
    config.load(app, settings, overrides)
    extensions.init_app(app)
    from . import models  # noqa: F401  (register the models on db.metadata)

    app.register_blueprint(views.bp)
    pending.init_app(app)  # DEBUG only: a page instead of every page while migrations are pending
    commands.init_app(app)
    return app
