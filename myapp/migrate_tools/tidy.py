"""Tidy what autogenerate writes, so the migration runs on every backend."""
from alembic.autogenerate import renderers
from alembic.operations import ops
from sqlalchemy import Enum, text


def drop_redundant_index_drops(script):
    """Drop no index of a table the same step drops: the table takes its indexes with it, and
    MariaDB refuses to drop an index that a foreign key still needs."""
    for container in (script.upgrade_ops, script.downgrade_ops):
        dropped = {(op.schema, op.table_name) for op in container.ops if isinstance(op, ops.DropTableOp)}
        for op in list(container.ops):
            if isinstance(op, ops.ModifyTableOps) and (op.schema, op.table_name) in dropped:
                op.ops = [inner for inner in op.ops if not isinstance(inner, ops.DropIndexOp)]
                if not op.ops:
                    container.ops.remove(op)
            elif isinstance(op, ops.DropIndexOp) and (op.schema, op.table_name) in dropped:
                container.ops.remove(op)


class AlterColumnUsingOp(ops.AlterColumnOp):
    """alter_column with postgresql_using, which Alembic runs but does not render."""


@renderers.dispatch_for(AlterColumnUsingOp)
def _render_alter_column_using(autogen_context, op):
    rendered = renderers.dispatch(ops.AlterColumnOp)(autogen_context, op)
    return f"{rendered[:-1]},\n{' ' * 11}postgresql_using={op.kw['postgresql_using']!r})"


# Is there a cast PostgreSQL applies by itself in ALTER COLUMN ... TYPE (assignment or implicit)?
ASSIGNMENT_CAST = text(
    "SELECT CAST(:old AS regtype) = CAST(:new AS regtype) OR EXISTS (SELECT 1 FROM pg_cast"
    " WHERE castsource = CAST(:old AS regtype) AND casttarget = CAST(:new AS regtype)"
    " AND castcontext IN ('a', 'i'))")


def add_postgresql_using(script, connection):
    """Give a PostgreSQL type change that has no automatic cast (boolean -> integer) its
    USING column::type, which the migration would otherwise fail without."""
    dialect = connection.dialect
    for container in (script.upgrade_ops, script.downgrade_ops):
        for table_ops in [o for o in container.ops if isinstance(o, ops.ModifyTableOps)]:
            for i, op in enumerate(table_ops.ops):
                if not (isinstance(op, ops.AlterColumnOp) and op.modify_type is not None
                        and op.existing_type is not None) or isinstance(op.modify_type, Enum):
                    continue
                old = op.existing_type.compile(dialect=dialect)
                new = op.modify_type.compile(dialect=dialect)
                if connection.execute(ASSIGNMENT_CAST, {"old": old, "new": new}).scalar():
                    continue
                using = f"{dialect.identifier_preparer.quote(op.column_name)}::{new}"
                table_ops.ops[i] = AlterColumnUsingOp(
                    op.table_name, op.column_name, schema=op.schema,
                    existing_type=op.existing_type, existing_server_default=op.existing_server_default,
                    existing_nullable=op.existing_nullable, existing_comment=op.existing_comment,
                    modify_nullable=op.modify_nullable, modify_comment=op.modify_comment,
                    modify_server_default=op.modify_server_default, modify_name=op.modify_name,
                    modify_type=op.modify_type, postgresql_using=using, **op.kw)
