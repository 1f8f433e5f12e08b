"""The body of env.py: run migrations on a dedicated connection with our hooks."""
import click

from . import enums, tidy
from .connection import migration_engine
from .report import MigrationTimer


def run_migrations(context, url, target_metadata, configure_args):
    """Run the Alembic command in progress, online or offline (--sql)."""
    config = context.config
    # A command may point the run at another database (newmigration's scratch copy).
    url = config.attributes.get("database_url", url)
    options = dict(configure_args, target_metadata=target_metadata,
                   process_revision_directives=_skip_empty_revisions,
                   compare_type=enums.compare_type)
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    echo = config.attributes.get("echo", click.echo)
    timer = MigrationTimer(echo)
    engine = migration_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, transaction_per_migration=True,
                              on_version_apply=timer, **options)
            with context.begin_transaction():
                context.run_migrations()
            # upgrade/downgrade/stamp name a target revision; say so when there was nothing to do.
            migration_context = context.get_context()
            if migration_context.opts.get("destination_rev") is not None and not timer.steps:
                current = migration_context.get_current_heads()
                echo(f"  nothing to do: the database is at {', '.join(current) or 'base (empty)'}")
    finally:
        engine.dispose()


def _skip_empty_revisions(context, revision, directives):
    """Adjust what autogenerate found for the backend; with nothing to migrate, write no file.

    The ops and dialect are kept for the report."""
    if not getattr(context.config.cmd_opts, "autogenerate", False):
        return
    script = directives[0]
    tidy.drop_redundant_index_drops(script)
    if context.dialect.name == "postgresql":
        enums.rewrite_for_postgresql(script)
    context.config.attributes.update(upgrade_ops=script.upgrade_ops, dialect=context.dialect)
    if script.upgrade_ops.is_empty():
        directives[:] = []
