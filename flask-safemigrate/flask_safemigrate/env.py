"""What an app's migrations/env.py calls: run Alembic's migrations through the toolkit."""
import logging.config

from alembic import context
from flask import current_app

from .migrate_tools.runner import run_migrations


def run():
    """Run the migrations of the current Alembic command on the current app's database."""
    if context.config.config_file_name:
        logging.config.fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    migrate = current_app.extensions["migrate"]
    config = current_app.config
    run_migrations(
        context,
        url=config["SQLALCHEMY_DATABASE_URI"],
        target_metadata=migrate.db.metadata,
        configure_args=migrate.configure_args,
        lock_timeout=config["MIGRATION_LOCK_TIMEOUT"],
        wait_timeout=config["MIGRATION_WAIT_TIMEOUT"],
    )
