"""Tidy what autogenerate writes, so the migration runs on every backend."""
from alembic.operations import ops


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
