"""myapp: a Flask app whose schema follows its models through Flask-SafeMigrate."""
from flask import Flask


def create_app(settings=None, overrides=None):
    """Create the app from the config file `settings` (default: $SETTINGS), then `overrides`."""
    from flask_safemigrate import load_config

    from . import extensions, views

    app = Flask(__name__)
    load_config(app, settings, overrides)
    extensions.init_app(app)  # the db commands and the pending-migrations page come with it
    from . import models  # noqa: F401  (register the models on db.metadata)

    app.register_blueprint(views.bp)
    return app
