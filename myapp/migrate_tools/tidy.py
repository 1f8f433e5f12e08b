"""Tidy what autogenerate writes, so the migration runs on every backend."""
from alembic.operations import ops
from sqlalchemy import inspect


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


def keep_foreign_key_indexes(script, connection, metadata):
    """MariaDB/MySQL: keep a foreign key's own index in step with the indexes on its columns.

    MariaDB indexes a foreign key's columns itself (an index named after the key) and drops
    that index silently when another index on the same columns is created; dropping that other
    index later fails ("needed in a foreign key constraint"). So before such a drop the key's
    own index is created again, and after such a create it is dropped (IF [NOT] EXISTS: MariaDB
    may have done it already), in each direction for the keys of the state it leads to: the
    models' in the upgrade, the database's present ones in the downgrade."""
    inspector = inspect(connection)
    kept = {(t.name, tuple(c.name for c in fk.columns)): fk.name
            for t in metadata.tables.values() for fk in t.foreign_key_constraints}
    for container, keys in ((script.upgrade_ops, lambda table: kept),
                            (script.downgrade_ops, lambda table: _reflected_keys(inspector, table))):
        for parent, op in list(_index_ops(container)):
            index = op.to_index()
            columns = tuple(c.name if hasattr(c, "name") else str(c) for c in index.expressions)
            name = keys(op.table_name).get((op.table_name, columns))
            if not name or name == op.index_name:
                continue
            at = parent.ops.index(op)
            if isinstance(op, ops.DropIndexOp):
                parent.ops.insert(at, ops.CreateIndexOp(name, op.table_name, list(columns),
                                                        schema=op.schema, if_not_exists=True))
            else:
                parent.ops.insert(at + 1, ops.DropIndexOp(name, op.table_name, schema=op.schema,
                                                          if_exists=True))


def _reflected_keys(inspector, table):
    if not inspector.has_table(table):
        return {}
    return {(table, tuple(fk["constrained_columns"])): fk["name"] for fk in inspector.get_foreign_keys(table)}


def _index_ops(container):
    """(the op list holding it, the op) for each create_index and drop_index of an existing
    table, top-level or in a table's batch."""
    index_ops = (ops.CreateIndexOp, ops.DropIndexOp)
    for op in container.ops:
        if isinstance(op, index_ops):
            yield container, op
        elif isinstance(op, ops.ModifyTableOps):
            yield from ((op, inner) for inner in op.ops if isinstance(inner, index_ops))


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
