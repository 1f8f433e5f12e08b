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


def order_tables(script):
    """Put tables in an order every backend accepts, in each direction: new tables first, each
    after the tables it references; then the changes to other tables; then the dropped tables,
    each before the tables it references (autogenerate lists both in no particular order)."""
    for container in (script.upgrade_ops, script.downgrade_ops):
        created = {op.table_name: op for op in container.ops if isinstance(op, ops.CreateTableOp)}
        dropped = {op.table_name: op for op in container.ops if isinstance(op, ops.DropTableOp)}
        creates, changes, drops = {name: [] for name in created}, [], {name: [] for name in dropped}
        for op in container.ops:
            table = getattr(op, "table_name", None)
            if table in created:
                creates[table].append(op)
            elif table in dropped:
                drops[table].append(op)
            else:
                changes.append(op)
        references = {name: _referred(name, op.columns if isinstance(op, ops.CreateTableOp)
                                      else (op._reverse.columns if op._reverse else []))
                      for name, op in {**created, **dropped}.items()}
        first = [op for name in _dependencies_first(list(created), references) for op in creates[name]]
        last = [op for name in reversed(_dependencies_first(list(dropped), references))
                for op in drops[name]]
        container.ops[:] = first + changes + last


def _referred(table, items):
    """The other tables that a table's columns and constraints refer to."""
    keys = [fk for item in items for fk in getattr(item, "foreign_keys", None) or getattr(item, "elements", [])]
    return {fk.target_fullname.rsplit(".", 2)[-2] for fk in keys} - {table}


def _dependencies_first(names, references):
    """`names` ordered so each comes after the names it refers to (stable; a cycle keeps
    its order)."""
    ordered, pending = [], list(names)
    while pending:
        ready = next((n for n in pending if not (references[n] & set(pending))), pending[0])
        ordered.append(ready)
        pending.remove(ready)
    return ordered
