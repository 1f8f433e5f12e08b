"""Tidy what autogenerate writes, so the migration runs on every backend."""
from alembic.operations import ops
from sqlalchemy import ForeignKeyConstraint


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
    each before the tables it references (autogenerate lists both in no particular order).

    A cycle of foreign keys between new tables (or a key declared use_alter, which SQLAlchemy
    leaves out of CREATE TABLE where ALTER exists) is added by create_foreign_key once the tables
    stand; a cycle between dropped tables is cut by dropping the keys that close it first."""
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
        references = {name: _referred(name, _items(op)) for name, op in {**created, **dropped}.items()}
        create_order = _dependencies_first(list(created), references)
        drop_order = list(reversed(_dependencies_first(list(dropped), references)))
        first = [op for name in create_order for op in creates[name]] + _deferred_keys(created, create_order)
        last = _closing_keys(dropped, drop_order) + [op for name in drop_order for op in drops[name]]
        container.ops[:] = first + changes + last


def _items(op):
    """The columns and constraints of a table that an op creates or drops (as it stood)."""
    if isinstance(op, ops.CreateTableOp):
        return op.columns
    return op._reverse.columns if op._reverse else []


def _foreign_keys(items):
    return [item for item in items if isinstance(item, ForeignKeyConstraint)]


def _target(key):
    """The table a foreign key constraint refers to."""
    return _referred_table(key.elements[0])


def _referred_table(foreign_key):
    return foreign_key.target_fullname.rsplit(".", 2)[-2]


def _deferred_keys(created, order):
    """Take out of each create_table the foreign keys to tables created after it (and those
    declared use_alter); return the batch operations that add them once every table stands."""
    added = []
    for i, name in enumerate(order):
        op = created[name]
        later = set(order[i + 1:])
        keys = [key for key in _foreign_keys(op.columns) if key.use_alter or _target(key) in later]
        if keys:
            op.columns = [item for item in op.columns if all(item is not key for key in keys)]
            adds = [ops.CreateForeignKeyOp.from_constraint(key) for key in keys]
            for add in adds:
                add.kw.pop("use_alter", None)  # it is an ALTER now; the flag says nothing more
            added.append(ops.ModifyTableOps(name, adds, schema=op.schema))
    return added


def _closing_keys(dropped, order):
    """The batch operations that drop, before any table goes, the foreign keys of tables
    dropped later that refer to a table dropped earlier (a cycle between them)."""
    closing = []
    for i, name in enumerate(order):
        op = dropped[name]
        earlier = set(order[:i])
        keys = [key for key in _foreign_keys(_items(op)) if _target(key) in earlier and key.name]
        if keys:
            closing.append(ops.ModifyTableOps(name, [
                ops.DropConstraintOp(key.name, name, type_="foreignkey", schema=op.schema,
                                     _reverse=ops.CreateForeignKeyOp.from_constraint(key))
                for key in keys], schema=op.schema))
    return closing


def _referred(table, items):
    """The other tables that a table's columns and constraints refer to."""
    keys = [fk for item in items for fk in getattr(item, "foreign_keys", None) or getattr(item, "elements", [])]
    return {_referred_table(fk) for fk in keys} - {table}


def _dependencies_first(names, references):
    """`names` ordered so each comes after the names it refers to (stable; a cycle keeps
    its order)."""
    ordered, pending = [], list(names)
    while pending:
        ready = next((n for n in pending if not (references[n] & set(pending))), pending[0])
        ordered.append(ready)
        pending.remove(ready)
    return ordered
