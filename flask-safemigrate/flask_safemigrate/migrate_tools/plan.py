"""What an upgrade or downgrade would run, read before it runs: for guards and backups."""
from alembic.runtime.migration import MigrationContext

DESTRUCTIVE = {"drop_table", "drop_column", "drop_index", "drop_constraint", "execute"}


def current_heads(connection):
    return MigrationContext.configure(connection).get_current_heads()


def planned(script_directory, heads, destination, upgrade):
    """The migration scripts the command would run, in the order it runs them."""
    if upgrade:
        revisions = script_directory.iterate_revisions(destination, heads, implicit_base=True)
        return list(reversed(list(revisions)))
    return list(script_directory.iterate_revisions(heads, destination, select_for_downgrade=True))
