"""Safe patterns for migrations, as short as the unsafe ones, on every backend.

    from myapp.migrate_tools import safe

    safe.create_index("ix_user_email", "user", ["email"])
    safe.add_not_null_column("user", sa.Column("plan", sa.String(20)), backfill="'free'")
    safe.add_foreign_key("fk_order_user_id_user", "order", "user", ["user_id"], ["id"])

On PostgreSQL they avoid long locks on busy tables; elsewhere they run the plain form
(in batch mode, so SQLite needs no hand edits).
"""
from alembic import op


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
