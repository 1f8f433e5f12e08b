"""Where a database stands against the migrations: current revisions, heads, pending."""
from dataclasses import dataclass

from alembic.script import ScriptDirectory

from . import plan


@dataclass(frozen=True)
class MigrationState:
    current: tuple  # the database's revisions (empty before the first migration)
    heads: tuple  # the newest revisions in versions/
    pending: tuple  # Script objects not applied yet, oldest first

    @property
    def up_to_date(self):
        return not self.pending


def migration_state(connection, script_directory):
    """Read the database's revisions and compare them with the migration scripts."""
    if isinstance(script_directory, str):
        script_directory = ScriptDirectory(script_directory)
    current = tuple(plan.current_heads(connection))
    pending = plan.planned(script_directory, current, "heads", upgrade=True)
    return MigrationState(current, tuple(script_directory.get_heads()), tuple(pending))
