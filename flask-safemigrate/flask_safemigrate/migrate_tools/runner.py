"""The body of env.py: run migrations on a dedicated connection with our hooks."""
import contextlib
import time

import click
from sqlalchemy import event
from sqlalchemy.engine import make_url

from . import adoption, autogen, declared, enums, history, journal, mysql_indexes, sqlite_batch  # noqa: F401 (they
# register our operations and the MySQL and SQLite impls)
from .connection import check_foreign_keys, disposing, is_mysql, migration_engine
from .locks import exclusive_run
from .options import run_options
from .report import MigrationTimer
from .steps import JournaledRun


def run_migrations(context, url, target_metadata, configure_args, lock_timeout=5, wait_timeout=60):
    """Run the Alembic command in progress, online or offline (--sql).

    Online, a command that migrates (upgrade, downgrade, stamp) holds the database's migration
    lock while it reads the database, plans, asks and runs; it refuses to start after an
    interrupted migration or on an edited applied migration, and runs each migration in its own
    transaction, journaled (steps.py)."""
    config = context.config
    run = run_options(config)
    # A command may point the run at another database (newmigration's scratch copy), and compare
    # it with another schema than the models (db squash: the schema of a revision).
    url = config.attributes.get("database_url", url)
    target_metadata = config.attributes.get("target_metadata", target_metadata)
    options = dict(configure_args, target_metadata=target_metadata, **autogen.HOOKS)
    # An adopted history's files run under the names stock Alembic gave them (adoption.py).
    adopted = adoption.adopted_revisions(config, context.script)
    if context.is_offline_mode():
        if make_url(url).get_backend_name() == "sqlite" and run.direction:
            from . import offline_sqlite

            write = config.output_buffer.write if config.output_buffer else \
                (lambda text: click.echo(text, nl=False))
            offline_sqlite.render(context.script, context.get_starting_revision_argument(),
                                  context.get_revision_argument(), run.direction == "upgrade", write)
            return
        context.configure(url=url, literal_binds=True, **options)
        if adopted:
            options["fn"] = adoption.with_stock_names(context.get_context().opts["fn"], adopted,
                                                      target_metadata)
            context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    echo = config.attributes.get("echo", click.echo)
    timer = MigrationTimer(echo)
    # Alembic's "sharing a connection" recipe: a caller may hand us the connection to run on.
    given = config.attributes.get("connection")
    if given is not None:
        url = given.engine.url.render_as_string(hide_password=False)
    # Configured once without a connection to learn what the command does (nothing is read).
    context.configure(url=url, **options)
    opts = context.get_context().opts
    migrating = opts.get("destination_rev") is not None  # upgrade, downgrade, stamp
    checking = "revision_context" in opts  # check, autogenerate
    if given is not None:
        run_on = callers_connection(given, run.dry_run)
    else:
        # Only a run that migrates takes SQLite's write lock (BEGIN IMMEDIATE): `db check` reads.
        run_on = own_connection(migration_engine(url, lock_timeout=lock_timeout, writes=migrating))
    with run_on as (engine, connection, external):
        if run.dry_run and is_mysql(engine.dialect):
            raise journal.MigrationRefused(
                "--dry-run is refused on MySQL/MariaDB: every DDL statement commits at once"
                " and cannot be rolled back; preview the SQL with `db upgrade --sql` instead")
        # The lock comes first: what the run reads and plans is what it runs.
        lock = exclusive_run(url, wait_timeout, on_wait=lambda line: click.echo(line, err=True),
                             connection=given) \
            if migrating and not run.lock_held else contextlib.nullcontext()
        with lock:
            journaled = JournaledRun(engine, connection, before_run=run.before_run,
                                     on_start=timer.start, external=external)
            if adopted and migrating:
                options["fn"] = adoption.with_stock_names(opts["fn"], adopted, target_metadata)
            if migrating and not run.dry_run:
                # Alembic's `fn` yields the steps the command runs: planned and journaled there.
                options["fn"] = journaled.fn(options.get("fn", opts["fn"]))
            context.configure(connection=connection, transaction_per_migration=not run.dry_run,
                              transactional_ddl=not is_mysql(connection.dialect),
                              on_version_apply=[journaled.on_version_apply, timer,
                                                lambda **kw: check_foreign_keys(connection)],
                              **options)
            migration_context = context.get_context()
            # A broken history refuses here, in one line, before anything is written.
            history.check_run(connection, context.script, migration_context, run.command_line,
                                  run.merge_advice)
            if migrating:
                journal.ensure(connection)
            if migrating or checking:
                # `stamp --purge` replaces the revisions, whatever they are (the fix history
                # gives for a database at a revision no file has).
                current = () if migration_context.opts.get("purge") else \
                    migration_context.get_current_heads()
                journal.verify(connection, context.script, current, record_baseline=migrating,
                               command_line=run.command_line)
            if not external:  # the caller's transaction is the caller's to commit
                connection.commit()
            if run.dry_run:
                _dry_run(context, engine, connection, echo)
                return
            try:
                with context.begin_transaction():
                    context.run_migrations()
            except BaseException as e:
                journaled.failed(e)
                raise
            if migrating and not timer.steps:
                current = migration_context.get_current_heads()
                echo(f"  nothing to do: the database is at {', '.join(current) or 'base (empty)'}")


@contextlib.contextmanager
def own_connection(engine):
    """A connection of our own on `engine`, which is disposed after the run."""
    with disposing(engine), engine.connect() as connection:
        yield engine, connection, False


@contextlib.contextmanager
def callers_connection(connection, dry_run):
    """The connection a caller passed in config.attributes["connection"], left open and its
    transaction, if it holds one, left to the caller to commit or roll back."""
    external = connection.in_transaction()
    if dry_run and external:
        raise journal.MigrationRefused(
            "--dry-run rolls back a transaction of its own, and the connection passed in"
            " config.attributes['connection'] is inside one: pass a connection without a transaction")
    if connection.dialect.name == "sqlite" and \
            connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # A batch rebuild drops the old table: with foreign keys on, that deletes (cascades) or
        # refuses rows that point to it.
        if connection.in_transaction() and not external:
            connection.commit()  # the PRAGMA query began one; it reads nothing we keep
        raise journal.MigrationRefused(
            "the SQLite connection passed in config.attributes['connection'] has foreign keys on,"
            " and a batch table rebuild would then delete or refuse the rows that point to the"
            " table; run PRAGMA foreign_keys = OFF on it (outside a transaction) first")
    yield connection.engine, connection, external


def _dry_run(context, engine, connection, echo):
    """Run the migrations in one transaction, print each statement with its time, roll back."""
    def before(conn, cursor, statement, parameters, execution_context, executemany):
        conn.info["statement_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, execution_context, executemany):
        ms = (time.perf_counter() - conn.info.pop("statement_started")) * 1000
        shown = " ".join(statement.split())
        echo(f"  {ms:8.1f} ms  {shown}" + (f"  -- {parameters}" if parameters else ""))

    if connection.in_transaction():
        connection.commit()
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    transaction = connection.begin()
    try:
        context.run_migrations()
    finally:
        transaction.rollback()
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    echo("dry run: everything above was rolled back; the database is unchanged")
