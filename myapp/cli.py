"""bin/manage.py's FlaskGroup: known failures become one-line errors, never tracebacks."""
import os
import sys

import click
from alembic.util import CommandError
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from . import create_app
from .config import ConfigError


def error_message(exc):
    """One line saying what went wrong, for the errors a user can cause and fix."""
    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return f"database error: {reason}"
    return str(exc).strip().splitlines()[0]


USER_ERRORS = (ConfigError, CommandError, DBAPIError, ArgumentError, NoSuchModuleError, OSError)


class ManageGroup(FlaskGroup):
    """Flask's CLI over create_app, with readable errors."""

    def list_commands(self, ctx):
        # Flask prints a traceback when the app cannot load; a config error is one line.
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except ConfigError as e:
            click.secho(f"Error: {e}\n", err=True, fg="red")
            return sorted(self.commands)
        return super().list_commands(ctx)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`db upgrade --sql | head`): stop quietly, like other tools.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except USER_ERRORS as e:
            raise click.ClickException(error_message(e)) from None


cli = ManageGroup(create_app=create_app, help="myapp's commands; `db help` lists the db commands.")
