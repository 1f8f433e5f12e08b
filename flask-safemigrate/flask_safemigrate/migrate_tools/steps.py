"""Each migration of a run, journaled through Alembic's own hooks.

Alembic's `fn` gives the steps a command runs: we plan from them (so the list a guard shows is
what runs) and wrap each step's migration callable. The "ok" row is written by an
`on_version_apply` hook, which Alembic calls inside the migration's transaction, right after its
`alembic_version` UPDATE: the journal commits with the version, never before it.

Without transactional DDL (MySQL/MariaDB) a "running" row is committed on a side connection
before the migration runs, so a crash leaves a trace; the hook turns it into "ok" in the
migration's own transaction. A failure before any statement of the migration ran (a lock wait
timeout on its first statement) applied nothing: it is journaled as rolled back."""
import contextlib
import functools
from dataclasses import dataclass

from alembic.runtime.migration import RevisionStep
from sqlalchemy import event

from . import journal
from .checksum import file_checksum
from .errors import migration_failed


@dataclass
class _Running:
    script: object
    direction: str
    started: object
    checksum: str
    row: int = None  # the committed "running" row (without transactional DDL)
    statements: int = 0  # how many of its statements ran


class JournaledRun:
    """The `fn` wrapper and `on_version_apply` hook that journal one run's migrations."""

    def __init__(self, engine, connection, before_run=None, on_start=None, external=False):
        self.engine, self.connection = engine, connection
        self.before_run, self.on_start = before_run, on_start
        self.external = external  # the run is inside the caller's transaction
        self.separate = False
        self.running = None  # the migration in progress, until its version is written

    def fn(self, fn):
        """Alembic's `fn` (the steps the command runs), planned and journaled."""
        def steps(revision, context):
            self.separate = not context.impl.transactional_ddl
            planned = list(fn(revision, context))
            if self.before_run:
                self.before_run([s.revision for s in planned if isinstance(s, RevisionStep)])
            if self.on_start:
                self.on_start()  # the time each migration takes starts here, not at the lock wait
            for step in planned:
                if isinstance(step, RevisionStep):
                    step.migration_fn = self._journaled(step, step.migration_fn)
            return planned
        return steps

    def _journaled(self, step, function):
        @functools.wraps(function)  # Alembic logs the step by its name: upgrade, downgrade
        def run(*args, **kwargs):
            script = step.revision
            direction = "upgrade" if step.is_upgrade else "downgrade"
            checksum = file_checksum(script.path) if step.is_upgrade else None
            self.running = running = _Running(script, direction, journal.now(), checksum)
            if self.separate:
                with self.engine.connect() as side:
                    running.row = journal.record(side, script.revision, direction, "running",
                                                 running.started, checksum)
                    side.commit()
            def count(*args):
                running.statements += 1

            event.listen(self.connection, "after_cursor_execute", count)
            try:
                function(*args, **kwargs)
            except Exception as e:
                raise migration_failed(e, script.revision, script.path, self.engine.url) from e
            finally:
                event.remove(self.connection, "after_cursor_execute", count)
        return run

    def on_version_apply(self, ctx, step, heads, run_args, **kw):
        """Journal the migration as done, in the transaction that writes its version."""
        running = self.running
        if running is None or step.is_stamp:
            return
        if running.row is not None:
            journal.finish(self.connection, running.row, "ok", running.started)
        else:
            journal.record(self.connection, running.script.revision, running.direction, "ok",
                           running.started, running.checksum)
        self.running = None

    def failed(self, error):
        """Journal the migration that failed (after Alembic rolled its transaction back)."""
        running, self.running = self.running, None
        if running is None:
            return
        # Statements ran without transactional DDL: some may be applied, the next run must wait
        # for `db repair`. None ran: nothing is applied, and the next run may simply retry.
        status = "failed" if running.row is not None and running.statements else "rolled_back"
        error = journal.failure(error, running.statements if status == "failed" else None)
        # The database may be what failed: keep the original error (a row left 'running' then
        # blocks the next run, as after a crash).
        with contextlib.suppress(Exception):
            if running.row is not None:
                with self.engine.connect() as side:
                    journal.finish(side, running.row, status, running.started, error)
                    side.commit()
            elif self.external:
                pass  # the caller's rollback undoes the migration: there is nothing to record
            else:
                journal.record(self.connection, running.script.revision, running.direction, status,
                               running.started, running.checksum, error)
                self.connection.commit()
