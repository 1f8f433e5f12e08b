"""App commands (starter data, servers) and the db commands that Flask-Migrate lacks."""
import contextlib
import sys
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.script import ScriptDirectory
from flask import current_app, g
from flask.cli import run_command, with_appcontext
from flask_migrate import cli as migrate_cli
from sqlalchemy.engine import make_url

from .config import masked, shown
from .extensions import db
from .migrate_tools import journal, lint, plan
from .migrate_tools.backup import backup_sqlite
from .migrate_tools.connection import migration_engine
from .migrate_tools.report import describe_operations
from .migrate_tools.reset import empty_database
from .migrate_tools.scratch import scratch_database

STARTER_ROLES = {"Admin": "Administrators", "User": "Signed-up users"}
# Development accounts only: `db reset` refuses to run on non-disposable configs.
STARTER_USERS = [("guest@example.com", "guest", "User"), ("admin@example.com", "admin", "Admin")]


def _announce(directory, x_arg):
    """Flask-Migrate's group callback, then one line naming the config and database."""
    migrate_cli.db.callback(directory=directory, x_arg=x_arg)
    cfg = current_app.config
    click.echo(f"config {cfg['SETTINGS_FILE']}, database {masked(cfg['SQLALCHEMY_DATABASE_URI'])}",
               err=True)


def _alembic_config(autogenerate=False):
    """Flask-Migrate's Alembic config for this app (honours `db -d DIRECTORY`)."""
    opts = ["autogenerate"] if autogenerate else None
    return current_app.extensions["migrate"].migrate.get_config(g.get("directory"), opts=opts)


def require_disposable(action):
    """Refuse `action` unless the config is marked disposable (ALLOW_DB_RESET = True)."""
    cfg = current_app.config
    if not cfg["ALLOW_DB_RESET"]:
        raise click.ClickException(
            f"refusing to {action}: {cfg['SETTINGS_FILE']} is not marked disposable"
            " (ALLOW_DB_RESET = True); nothing was changed")


def _script_directory():
    return ScriptDirectory.from_config(_alembic_config())


@contextlib.contextmanager
def _migration_connection():
    """A connection of the migration toolkit's own to the app's database."""
    engine = migration_engine(current_app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _safeguarded(migrate_command, upgrade):
    """Flask-Migrate's upgrade or downgrade, with our safeguards first.

    On a non-disposable config, downgrade lists what it will revert and drop, then asks
    (--yes answers for scripts; without a terminal it refuses), and a SQLite database is
    backed up before anything runs. `upgrade --dry-run` runs and rolls back (see env.py)."""

    def callback(yes=False, dry_run=False, **kwargs):
        cfg = current_app.config
        if dry_run:
            kwargs["x_arg"] = (*kwargs.get("x_arg", ()), "dry-run=true")
        if kwargs.get("sql"):  # env.py renders SQLite previews itself, and needs to know which way
            kwargs["x_arg"] = (*kwargs.get("x_arg", ()), f"direction={'upgrade' if upgrade else 'downgrade'}")
        destination = kwargs.get("revision") or ("head" if upgrade else "-1")
        if not (kwargs.get("sql") or dry_run or cfg["ALLOW_DB_RESET"]):
            scripts = _planned(destination, upgrade)
            if not upgrade:
                _confirm_downgrade(scripts, destination, yes)
            if scripts and cfg["MIGRATION_BACKUPS"]:
                direction = "upgrade" if upgrade else "downgrade"
                copy = backup_sqlite(cfg["SQLALCHEMY_DATABASE_URI"], cfg["MIGRATION_BACKUP_DIR"],
                                     f"before-{direction}")
                if copy:
                    click.echo(f"backup: {shown(copy)}")
        return migrate_command.callback(**kwargs)

    extra = [click.Option(["--yes"], is_flag=True, help="Revert without asking (for scripts).")] \
        if not upgrade else [click.Option(["--dry-run"], is_flag=True, help=(
            "Run the pending migrations in a transaction, print each statement with its time,"
            " and roll back (PostgreSQL, SQLite)."))]
    return click.Command(migrate_command.name, callback=callback, help=migrate_command.help,
                         params=[*migrate_command.params, *extra])


def _planned(destination, upgrade):
    with _migration_connection() as connection:
        heads = plan.current_heads(connection)
    return plan.planned(_script_directory(), heads, destination, upgrade)


def _confirm_downgrade(scripts, destination, yes):
    if not scripts:
        return
    click.echo(f"db downgrade to {destination} will revert, in this order:")
    for script in scripts:
        click.echo(f"  {script.revision}  {script.doc}")
        for call in plan.operation_calls(script, "downgrade", plan.DESTRUCTIVE):
            click.echo(f"      {call}")
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.ClickException(
            f"refusing to downgrade {current_app.config['SETTINGS_FILE']} (not disposable)"
            " without confirmation: run it in a terminal, or pass --yes; nothing was changed")
    if not click.confirm("Revert these migrations? Data in what they drop is lost", default=False):
        raise click.ClickException("downgrade cancelled; nothing was changed")


# Flask-Migrate's db group, extended: its commands are reused as they are, never copied.
db_group = click.Group(
    "db",
    help="Perform database migrations (`db help` lists the commands).",
    params=migrate_cli.db.params,
    callback=with_appcontext(_announce),
    commands={**migrate_cli.db.commands,
              "upgrade": _safeguarded(migrate_cli.upgrade, upgrade=True),
              "downgrade": _safeguarded(migrate_cli.downgrade, upgrade=False)},
)


@db_group.command("help")
@click.pass_context
def db_help(ctx):
    """List the db commands."""
    click.echo(ctx.parent.get_help())


@db_group.command("reset")
@click.option("--no-seed", is_flag=True, help="Leave the rebuilt database empty.")
@with_appcontext
def db_reset(no_seed):
    """Throw the database away, rebuild it from the migrations, add starter data."""
    require_disposable("reset the database")
    empty_database(current_app.config["SQLALCHEMY_DATABASE_URI"])
    alembic_command.upgrade(_alembic_config(), "head")
    if not no_seed:
        add_starter_data()
        click.echo(f"starter data: roles {', '.join(STARTER_ROLES)};"
                   f" users {', '.join(u for u, _, _ in STARTER_USERS)}")


def _rename_answerer(mode):
    """How newmigration answers "Did you rename ...?": yes, no, or ask (no without a terminal)."""
    def answer(old, new):
        question = f"Did you rename {old} to {new}?"
        if mode == "yes" or (mode == "ask" and sys.stdin.isatty()
                             and click.confirm(question, default=False)):
            click.echo(f"  renaming {old} to {new}: the data is kept")
            return True
        click.echo(f"  {question} Taken as no: written as drop + add, which loses {old}'s data."
                   " To keep it: RENAMES=yes (make) or --renames yes, or answer in a terminal.")
        return False
    return answer


@db_group.command("newmigration")
@click.option("-m", "--message", required=True, help='What changed, e.g. "add login tracking".')
@click.option("--renames", type=click.Choice(["ask", "yes", "no"]), default="ask", show_default=True,
              help="Answer to \"Did you rename ...?\" (ask: in a terminal; no without one).")
@with_appcontext
def db_newmigration(message, renames):
    """Write a migration for the model changes, compared on a scratch database."""
    if not message.strip():
        raise click.UsageError('give a summary: db newmigration -m "add login tracking"')
    config = _alembic_config(autogenerate=True)
    config.cmd_opts.quiet = True  # we report the new file ourselves
    config.attributes["rename_answer"] = _rename_answerer(renames)
    cfg = current_app.config
    with scratch_database(cfg["SQLALCHEMY_DATABASE_URI"], cfg.get("SCRATCH_DATABASE_URL")) as scratch_url:
        # Build the schema the existing migrations produce, then compare the models with it.
        config.attributes.update(database_url=scratch_url, echo=lambda line: None)
        alembic_command.upgrade(config, "head")
        script = alembic_command.revision(config, message, autogenerate=True)
    if not script:
        click.echo("No changes in the models: no migration written.")
        return
    click.echo(f"wrote {shown(Path(script.path))}")
    for line in describe_operations(config.attributes["upgrade_ops"], config.attributes["dialect"]):
        click.echo(f"  {line}")
    findings = lint_findings([_script_directory().get_revision(script.revision)])
    if findings:
        click.echo(f"db lint found {len(findings)} thing(s) to review:")
        echo_findings(findings, indent="  ")
    click.echo("Review it, then apply it with `make migrate`.")


@db_group.command("journal")
@click.option("-n", "--limit", type=int, default=50, show_default=True, help="How many rows.")
@with_appcontext
def db_journal(limit):
    """Show the journal of applied and reverted migrations, newest first."""
    with _migration_connection() as connection:
        rows = journal.entries(connection, limit)
    if not rows:
        click.echo("The journal is empty: no migration has run on this database through myapp.")
    for r in rows:
        took = f"{r['duration_ms']} ms" if r["duration_ms"] is not None else "-"
        click.echo(f"{r['started_at']:%Y-%m-%d %H:%M:%S}  {r['direction']:<9} {r['revision']:<12}  "
                   f"{r['status']:<8} {took:>9}  {r['who']}  {(r['checksum'] or '')[:12]}"
                   + (f"  {r['error']}" if r["error"] else ""))


@db_group.command("accept")
@click.argument("revision")
@with_appcontext
def db_accept(revision):
    """Accept the edited content of an already applied migration (records its new checksum)."""
    script = _script_directory().get_revision(revision)
    with _migration_connection() as connection:
        journal.ensure(connection)
        journal.accept(connection, script)
    click.echo(f"accepted the current content of {shown(Path(script.path))}")


@db_group.command("repair")
@click.argument("revision")
@with_appcontext
def db_repair(revision):
    """Mark an interrupted migration as resolved, once you have fixed the database by hand."""
    with _migration_connection() as connection:
        if not journal.exists(connection) or not journal.repair(connection, revision):
            raise click.ClickException(f"no interrupted migration {revision!r} in the journal")
    click.echo(f"marked {revision} as resolved; `db upgrade` will run again")


def lint_findings(scripts):
    """Lint findings for `scripts`, judged for the config's database and the current models."""
    backend = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    mapped = {t.name: set(t.c.keys()) for t in db.metadata.tables.values()}
    return [f for script in scripts for f in lint.lint_script(script, backend, mapped)]


def echo_findings(findings, indent=""):
    for finding in findings:
        for line in finding.lines():
            click.echo(indent + line)


@db_group.command("lint")
@click.argument("revisions", nargs=-1)
@with_appcontext
def db_lint(revisions):
    """Check migrations (the pending ones, or REVISIONS) for unsafe operations."""
    directory = _script_directory()
    scripts = [directory.get_revision(r) for r in revisions] if revisions else _planned("heads", True)
    findings = lint_findings(scripts)
    echo_findings(findings)
    errors = [f for f in findings if not f.acknowledged]
    click.echo(f"{len(scripts)} migration(s) checked: {len(errors)} finding(s)"
               f"{f', {len(findings) - len(errors)} acknowledged' if len(findings) > len(errors) else ''}")
    if errors:
        raise click.exceptions.Exit(1)


def add_starter_data():
    """Add the starter roles and users, leaving any that exist alone."""
    from .models import Role, User

    roles = {}
    for name, description in STARTER_ROLES.items():
        roles[name] = db.session.scalar(db.select(Role).filter_by(name=name))
        if roles[name] is None:
            roles[name] = Role(name=name, description=description)
            db.session.add(roles[name])
    for email, password, role in STARTER_USERS:
        if db.session.scalar(db.select(User).filter_by(email=email)) is None:
            user = User(email=email, roles=[roles[role]])
            user.set_password(password)
            db.session.add(user)
    db.session.commit()


@click.command("seed")
@with_appcontext
def seed_command():
    """Add the starter roles and users to the database."""
    add_starter_data()
    click.echo("starter data added")


def _serve(ctx, host):
    """Flask's `run` command on `host`, at the config's PORT, reloading in DEBUG."""
    debug = current_app.debug
    ctx.invoke(run_command, host=host, port=current_app.config["PORT"], reload=debug, debugger=debug)


@click.command("runserver")
@with_appcontext
@click.pass_context
def runserver_command(ctx):
    """Serve the app on 127.0.0.1 at the config's PORT."""
    _serve(ctx, "127.0.0.1")


@click.command("publicserver")
@with_appcontext
@click.pass_context
def publicserver_command(ctx):
    """Serve the app on all interfaces (0.0.0.0) at the config's PORT."""
    _serve(ctx, "0.0.0.0")


def init_app(app):
    """Register the commands; our db group replaces Flask-Migrate's.

    `shell` preloads app (Flask), db and every model (Flask-SQLAlchemy).
    """
    for cmd in (db_group, seed_command, runserver_command, publicserver_command):
        app.cli.add_command(cmd)
