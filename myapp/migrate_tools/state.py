"""Where a database stands against the migrations: current revisions, heads, pending."""
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


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
    current = tuple(MigrationContext.configure(connection).get_current_heads())
    heads = tuple(script_directory.get_heads())
    applied = set()
    for rev in script_directory.revision_map.iterate_revisions(current, "base"):
        applied.add(rev.revision)
    pending = [s for s in script_directory.walk_revisions() if s.revision not in applied]
    return MigrationState(current, heads, tuple(reversed(pending)))
