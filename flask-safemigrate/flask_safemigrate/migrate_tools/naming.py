"""The constraint names the toolkit gives: its naming convention, and names kept from before."""
import sys

from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from sqlalchemy import ForeignKeyConstraint, UniqueConstraint
from sqlalchemy.sql.elements import conv

# Every constraint gets a predictable name, so any of them can be dropped later, and SQLite's
# batch mode can find them (Alembic's naming.rst). Names cover every column (column_0_N_name),
# so two composite constraints that share a first column never get the same name; a name too
# long for a backend is cut with a stable hash by SQLAlchemy, as create_all does.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _signature(op):
    """(kind, columns) of an op that adds or drops a unique constraint or a plain-column index."""
    if isinstance(op, ops.CreateUniqueConstraintOp):
        return "unique", tuple(op.columns)
    if isinstance(op, ops.DropConstraintOp) and op.constraint_type == "unique" and op._reverse:
        return "unique", tuple(op._reverse.columns)
    if isinstance(op, ops.CreateIndexOp):
        index = op
    elif isinstance(op, ops.DropIndexOp) and op._reverse:
        index = op._reverse
    else:
        return None
    columns = tuple(getattr(c, "name", c) for c in index.columns)
    if not all(isinstance(c, str) for c in columns):
        return None  # an expression index
    # MySQL/MariaDB reflect a unique constraint as a unique index.
    return ("unique" if index.unique else "index"), columns


def _name(op):
    return op.constraint_name if isinstance(op, (ops.AddConstraintOp, ops.DropConstraintOp)) else op.index_name


def _in_database(conn_table):
    """(kind, columns) -> name of the database table's unique constraints and indexes; not the
    index MySQL/MariaDB make for a foreign key (it carries the foreign key's name), which is
    no index of the author's."""
    found = {}
    if conn_table is None:
        return found
    foreign_keys = {c.name for c in conn_table.constraints if isinstance(c, ForeignKeyConstraint)}
    for constraint in conn_table.constraints:
        if isinstance(constraint, UniqueConstraint):
            found[("unique", tuple(c.name for c in constraint.columns))] = constraint.name
    for index in conn_table.indexes:
        columns = tuple(getattr(c, "name", None) for c in index.expressions)
        if None not in columns and index.name not in foreign_keys:
            found[("unique" if index.unique else "index", columns)] = index.name
    return found


def _keep_names_from_before(autogen_context, modify_ops, schema, tname, conn_table, metadata_table):
    """A constraint or index the convention names in the models, found in the database under
    another name (or none: SQLite) on the same columns, is the same one: it was made before the
    convention applied (an adopted Flask-Migrate history, by stock names). It keeps its name,
    compared by its columns; nothing is migrated. Only in an adopted app: in one that always had
    the convention, another name on the same columns is an author's, and a change of it is one."""
    from . import adoption
    config = autogen_context.migration_context.config
    if config is None or not adoption.adopted_heads(config):
        return
    found = _in_database(conn_table)
    kept = set()
    for op in list(modify_ops.ops):
        key = _signature(op)
        if isinstance(op, (ops.CreateUniqueConstraintOp, ops.CreateIndexOp)) and key in found \
                and isinstance(_name(op), conv) and found[key] != _name(op):
            modify_ops.ops.remove(op)  # named by the convention, not by the author
            kept.add(key)
    for op in list(modify_ops.ops):
        if isinstance(op, (ops.DropConstraintOp, ops.DropIndexOp)) and _signature(op) in kept:
            modify_ops.ops.remove(op)


def setup(plugin):
    plugin.add_autogenerate_comparator(_keep_names_from_before, "table", "kept_names")


# Registered by module name, as checks.py is: runner.py names it in autogenerate_plugins.
Plugin.setup_plugin_from_module(sys.modules[__name__], __name__)
