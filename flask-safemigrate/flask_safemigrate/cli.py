"""An app's bin/manage.py: a FlaskGroup whose failures become one-line errors, never tracebacks."""
import contextlib
import os
import sys
import traceback
from pathlib import Path

import click
from alembic.util import CommandError
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy.exc import DBAPIError

from .config import shown
from .migrate_tools.errors import ToolkitError, advice, explain, first_line, named

CLICK_FLOW = (click.ClickException, click.exceptions.Exit, click.Abort)


def error_message(exc, app=None):
    """One line saying what went wrong and where."""
    if isinstance(exc, ToolkitError):  # the toolkit's own errors, config's included
        return exc.describe(lambda path: shown(Path(path)))
    if isinstance(exc, DBAPIError) and app is not None:
        return explain(exc, app.config["SQLALCHEMY_DATABASE_URI"])
    if isinstance(exc, CommandError):  # Alembic's
        return first_line(exc)
    # Anything else is most often a mistake in a file the user edits (a model, a migration):
    # name that file and line.
    if isinstance(exc, SyntaxError) and exc.msg:
        return f"{_where(exc)}{type(exc).__name__}: {exc.msg}"
    hint = advice(exc)
    return f"{_where(exc)}{named(exc)}" + (f"; {hint}" if hint else "")


def _where(exc):
    """'path:line: ' of the innermost frame outside Python and its packages, if any."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{shown(Path(exc.filename))}:{exc.lineno}: "
    installed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not any(Path(f.filename).resolve().is_relative_to(p) for p in installed)
              and not f.filename.startswith("<")]
    return f"{shown(Path(frames[-1].filename))}:{frames[-1].lineno}: " if frames else ""


@contextlib.contextmanager
def one_line_errors(ctx):
    """A command's failure as one line and exit 1 (SAFEMIGRATE_TRACEBACK=1 shows tracebacks):
    bin/manage.py's group, and the db group under plain `flask` (an adopted app)."""
    try:
        yield
    except CLICK_FLOW:
        raise
    except BrokenPipeError:
        # The reader went away (`db upgrade --sql | head`): stop quietly, like other tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as e:
        if os.environ.get("SAFEMIGRATE_TRACEBACK"):
            raise
        info = ctx.find_object(ScriptInfo)
        raise click.ClickException(error_message(e, info._loaded_app if info else None)) from None


class ManageGroup(FlaskGroup):
    """Flask's CLI over create_app, with one-line errors (SAFEMIGRATE_TRACEBACK=1 shows tracebacks)."""

    def list_commands(self, ctx):
        # Flask prints a traceback when the app cannot load; here it is one line.
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except Exception as e:
            click.secho(f"Error: {error_message(e)}\n", err=True, fg="red")
            return sorted(self.commands)
        return super().list_commands(ctx)

    def invoke(self, ctx):
        try:
            with one_line_errors(ctx):
                return super().invoke(ctx)
        finally:
            _close_connections(ctx.ensure_object(ScriptInfo)._loaded_app)


def _close_connections(app):
    """A command is over: close the app's pooled connections rather than leave them to exit."""
    if app is not None and "sqlalchemy" in app.extensions:
        with app.app_context():
            for engine in app.extensions["sqlalchemy"].engines.values():
                engine.dispose()


def manage_group(create_app, name):
    """The command line of the app `name` made by `create_app`: bin/manage.py calls it."""
    # set_debug_flag=False: the config's DEBUG decides, not FLASK_DEBUG (FlaskGroup would set
    # app.debug from it, so DEBUG = True in dev.conf had no effect on `make server`).
    return ManageGroup(create_app=create_app, set_debug_flag=False,
                       help=f"{name}'s commands; `db help` lists the db commands.")
