"""Testing an app's migrations: the pytest plugin (plugin.py), the migration suite (suite.py)
and the schema and row helpers they share (dbstate.py)."""
from .suite import MigrationSuite

__all__ = ["MigrationSuite"]
