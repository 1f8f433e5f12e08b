"""What a db command wants of a migration run, handed to env.py in one object.

Commands set it through Flask-Migrate's `configure` hook (config.attributes), rather than as
`-x` strings that env.py parses back."""
from dataclasses import dataclass
from typing import Callable, Optional

KEY = "run_options"


@dataclass
class RunOptions:
    dry_run: bool = False  # run and roll back, printing each statement
    direction: Optional[str] = None  # "upgrade" or "downgrade", for SQLite's --sql rendering
    # Called with the scripts the run will apply or revert, in order, under the migration lock,
    # before the first of them runs (the downgrade guard's list, the backup decision).
    before_run: Optional[Callable] = None
    lock_held: bool = False  # the caller holds the migration lock already (db reset)
    # How advice runs a db command for this config ("SETTINGS=... bin/manage.py", "flask --app X").
    command_line: str = "bin/manage.py"
    # How advice joins two heads for this config (`make merge MSG=...`, or the db merge line).
    merge_advice: str = 'bin/manage.py db merge -m "merge heads" heads'


def run_options(config):
    """The options a command set for this Alembic config (the defaults if none)."""
    return config.attributes.get(KEY) or RunOptions()
