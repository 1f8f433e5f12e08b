"""The migration suite over this app's own history: single head, upgrade from empty, models
match the migrations, and a stairway that downgrades and upgrades every revision with rows."""
from flask_safemigrate.testing import MigrationSuite


class TestMigrations(MigrationSuite):
    # Values for columns whose made-up values the database refuses (a CHECK constraint):
    # row_values = {("order", "status"): ["new", "paid"]}
    row_values = {}
