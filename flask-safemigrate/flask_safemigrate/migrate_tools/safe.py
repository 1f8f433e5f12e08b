"""Safe patterns for migrations, as short as the unsafe ones, on every backend.

    from flask_safemigrate.migrate_tools import safe

    safe.create_index("ix_user_email", "user", ["email"])
    safe.add_not_null_column("user", sa.Column("plan", sa.String(20)), backfill="'free'")
    safe.add_foreign_key("fk_order_user_id_user", "order", "user", ["user_id"], ["id"])
    safe.backfill("user", {"plan": "free"}, where="plan IS NULL")

On PostgreSQL they avoid long locks on busy tables; elsewhere they run the plain form
(in batch mode, so SQLite needs no hand edits).
"""
import sqlalchemy as sa
from alembic import op

from .backfill import Backfill, BackfillError, finish


def _backend():
    return op.get_bind().dialect.name


def create_index(name, table, columns, **kw):
    """CREATE INDEX CONCURRENTLY on PostgreSQL (outside the transaction), a plain one elsewhere."""
    if _backend() == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True, **kw)
    else:
        op.create_index(name, table, columns, **kw)


def add_not_null_column(table, column, backfill):
    """Add a NOT NULL column to a table that has rows: nullable first, backfill, then NOT NULL.

    `backfill` is the SQL expression for existing rows (e.g. "'free'" or "0"). On PostgreSQL
    NOT NULL comes from a CHECK added NOT VALID and validated, which needs no long lock."""
    name = column.name
    column.nullable = True
    op.add_column(table, column)
    quoted_table = op.get_context().impl.dialect.identifier_preparer.quote(table)
    quoted = op.get_context().impl.dialect.identifier_preparer.quote(name)
    op.execute(f"UPDATE {quoted_table} SET {quoted} = {backfill} WHERE {quoted} IS NULL")
    if _backend() == "postgresql":
        check = f"ck_{table}_{name}_not_null"
        op.execute(f"ALTER TABLE {quoted_table} ADD CONSTRAINT {check}"
                   f" CHECK ({quoted} IS NOT NULL) NOT VALID")
        op.execute(f"ALTER TABLE {quoted_table} VALIDATE CONSTRAINT {check}")
        op.execute(f"ALTER TABLE {quoted_table} ALTER COLUMN {quoted} SET NOT NULL")
        op.execute(f"ALTER TABLE {quoted_table} DROP CONSTRAINT {check}")
    else:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(name, existing_type=column.type, nullable=False)


def add_foreign_key(name, source, referent, local_columns, remote_columns, **kw):
    """A foreign key added NOT VALID then validated on PostgreSQL (no long lock); plain elsewhere."""
    if _backend() == "postgresql":
        op.create_foreign_key(name, source, referent, local_columns, remote_columns,
                              postgresql_not_valid=True, **kw)
        quoted = op.get_context().impl.dialect.identifier_preparer.quote(source)
        op.execute(f"ALTER TABLE {quoted} VALIDATE CONSTRAINT {name}")
    else:
        with op.batch_alter_table(source) as batch_op:
            batch_op.create_foreign_key(name, referent, local_columns, remote_columns, **kw)


def backfill(table, values, where=None, batch_size=1000, schema=None):
    """UPDATE `table` SET `values` [WHERE `where`] in batches of `batch_size` rows by primary key.

    `values` maps column names to Python values, or to SQL as sa.text("counter + 1") or an
    expression; `where` is SQL text or an expression. On PostgreSQL and MariaDB each batch is
    a short transaction of its own that records the last key it did, so writers wait at most
    one batch and a rerun after a crash resumes after it; on PostgreSQL the backfill must come
    before any other change in its migration (put it in a migration of its own). SQLite, and a
    run that is all one transaction (a dry run), do every batch in the migration's transaction.
    """
    context = op.get_context()
    if context.as_sql:  # --sql cannot read keys: the whole UPDATE, for review
        update = sa.update(sa.table(table, *map(sa.column, values), schema=schema)).values(
            {name: v if isinstance(v, sa.ClauseElement) else sa.literal(v) for name, v in values.items()})
        op.execute(update if where is None else update.where(sa.text(where) if isinstance(where, str)
                                                             else where))
        return
    bind = op.get_bind()
    job = Backfill(bind, table, values, where, batch_size, schema)
    if bind.dialect.name == "sqlite" or not context.opts.get("transaction_per_migration"):
        finish(bind, job.run(bind, commit_each=False))
        return
    if bind.dialect.name == "postgresql" and \
            bind.exec_driver_sql("SELECT pg_current_xact_id_if_assigned()").scalar() is not None:
        raise BackfillError(
            "safe.backfill commits batch by batch, so on PostgreSQL it must come before any other"
            " change in its migration (what ran before would be committed with the first batch and"
            " run again after a failure): put it in a migration of its own, one backfill each")
    # The migration's transaction is committed (its locks released, what it added visible to
    # the batches' own connection) and a new one begun after the block.
    with context.autocommit_block(), bind.engine.connect() as own:
        row = job.run(own, commit_each=True)
    finish(op.get_bind(), row)
