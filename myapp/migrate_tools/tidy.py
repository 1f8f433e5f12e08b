"""Tidy what autogenerate writes, so the migration runs on every backend."""
from alembic.autogenerate import renderers
from alembic.operations import ops
from sqlalchemy import Enum, inspect, text


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
