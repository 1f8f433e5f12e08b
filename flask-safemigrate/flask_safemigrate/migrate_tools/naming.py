"""The constraint names the toolkit gives: its naming convention, and names kept from before."""
import sys

from alembic.autogenerate import renderers
from alembic.operations import Operations, ops
from alembic.runtime.plugins import Plugin
from sqlalchemy import Column, ForeignKeyConstraint, MetaData, Table, UniqueConstraint, inspect
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
    _unnamed_uniques_dropped(modify_ops, conn_table, metadata_table)


def _unnamed_uniques_dropped(modify_ops, conn_table, metadata_table):
    """SQLite keeps no name for a unique constraint made without one (stock Flask-Migrate's),
    and Alembic does not see it go from the models: it is dropped by its columns."""
    if conn_table is None or metadata_table is None:
        return
    in_models = {tuple(c.name for c in u.columns) for u in metadata_table.constraints
                 if isinstance(u, UniqueConstraint)}
    in_models |= {tuple(getattr(c, "name", None) for c in i.expressions) for i in metadata_table.indexes if i.unique}
    # SQLite's reflection may give the same unnamed constraint twice; a drop already there counts.
    dropped = {_signature(op) for op in modify_ops.ops} | {
        ("unique", tuple(op.columns)) for op in modify_ops.ops if isinstance(op, DropConstraintByColumnsOp)}
    for constraint in conn_table.constraints:
        columns = tuple(c.name for c in getattr(constraint, "columns", ()))
        if isinstance(constraint, UniqueConstraint) and constraint.name is None and columns not in in_models \
                and ("unique", columns) not in dropped:
            dropped.add(("unique", columns))
            modify_ops.ops.append(DropConstraintByColumnsOp(
                conn_table.name, columns, "unique",
                reverse=ops.CreateUniqueConstraintOp(None, conn_table.name, list(columns)),
                convention=metadata_table.metadata.naming_convention))


# Dropping a constraint made before the convention ---------------------------------------

@Operations.register_operation("drop_constraint_by_columns")
class DropConstraintByColumnsOp(ops.MigrateOperation):
    """Drop the unique constraint (or foreign key) on `columns` of a table, whatever the
    backend named it: one made without a name has a name of each backend's own
    (users_email_key on PostgreSQL, email on MariaDB) or none (SQLite)."""

    def __init__(self, table_name, columns, type_, referred_table=None, reverse=None, convention=None):
        self.table_name, self.columns, self.type_ = table_name, list(columns), type_
        self.referred_table, self._reverse = referred_table, reverse
        if reverse is not None and convention:  # the downgrade makes it again, under the convention
            name = _conventional_name(self, convention)
            if name is not None:
                reverse.constraint_name = conv(name)

    @classmethod
    def drop_constraint_by_columns(cls, operations, table_name, columns, type_, referred_table=None):
        return operations.invoke(cls(table_name, columns, type_, referred_table))

    def reverse(self):
        return self._reverse

    def to_diff_tuple(self):
        if self._reverse is not None:
            constraint = self._reverse.to_constraint()
            constraint.name = None  # the name is the database's own (the convention's is the downgrade's)
            return ("remove_constraint" if self.type_ == "unique" else "remove_fk", constraint)
        return ("remove_constraint", self.what())

    def what(self):
        """'unique constraint on user(email)', 'foreign key on member(team_id) -> team'."""
        if self.type_ == "foreignkey":
            return f"foreign key on {self.table_name}({', '.join(self.columns)}) -> {self.referred_table}"
        return f"unique constraint on {self.table_name}({', '.join(self.columns)})"


_KEYS = {"unique": "uq", "foreignkey": "fk"}


def _found(connection, op):
    """The name(s) the database has for the constraint `op` drops: [name] (None: unnamed, SQLite)."""
    inspector = inspect(connection)
    if op.type_ == "foreignkey":
        return [fk["name"] for fk in inspector.get_foreign_keys(op.table_name)
                if fk["constrained_columns"] == op.columns
                and (op.referred_table is None or fk["referred_table"] == op.referred_table)]
    found = [u["name"] for u in inspector.get_unique_constraints(op.table_name) if u["column_names"] == op.columns]
    # MariaDB/MySQL keep a unique constraint as a unique index.
    return found or [i["name"] for i in inspector.get_indexes(op.table_name)
                     if i["unique"] and i["column_names"] == op.columns]


def _conventional_name(op, convention):
    """The name batch mode's reflection gives an unnamed constraint under `convention`."""
    table = Table(op.table_name, MetaData(naming_convention=convention), *[Column(c) for c in op.columns])
    if op.type_ == "foreignkey":  # the referred table too, for %(referred_table_name)s
        Table(op.referred_table, table.metadata, *[Column(c) for c in op.columns])
        constraint = ForeignKeyConstraint(op.columns, [f"{op.referred_table}.{c}" for c in op.columns])
    else:
        constraint = UniqueConstraint(*op.columns)
    table.append_constraint(constraint)
    return constraint.name


@Operations.implementation_for(DropConstraintByColumnsOp)
def _drop_by_columns(operations, op):
    what = op.what()
    if operations.get_context().as_sql:
        raise ValueError(f"the {what} is dropped by the name the database has for it, which --sql"
                         " cannot look up; preview with --dry-run (PostgreSQL, SQLite) instead")
    found = _found(operations.get_bind(), op)
    if not found:
        raise ValueError(f"there is no {what} to drop in this database")
    name = found[0]
    if operations.get_bind().dialect.name != "sqlite":
        operations.drop_constraint(name, op.table_name, type_=op.type_)
        return
    # SQLite: a batch rebuild; one made without a name gets one while batch mode reflects it.
    convention = {_KEYS[op.type_]: NAMING_CONVENTION[_KEYS[op.type_]]} if name is None else None
    with operations.batch_alter_table(op.table_name, naming_convention=convention) as batch:
        batch.drop_constraint(name or _conventional_name(op, convention), type_=op.type_)


@renderers.dispatch_for(DropConstraintByColumnsOp)
def _render_drop_by_columns(autogen_context, op):
    referred = f", referred_table={op.referred_table!r}" if op.type_ == "foreignkey" else ""
    return f"op.drop_constraint_by_columns({op.table_name!r}, {op.columns!r}, type_={op.type_!r}{referred})"


def setup(plugin):
    plugin.add_autogenerate_comparator(_keep_names_from_before, "table", "kept_names")


# Registered by module name, as checks.py is: runner.py names it in autogenerate_plugins.
Plugin.setup_plugin_from_module(sys.modules[__name__], __name__)
