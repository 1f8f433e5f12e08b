"""The column types the migrations declare, recorded while they build a scratch database.

A database gives back less than the migrations said: SQLite has no Enum, no time zone and no
JSON of its own, MariaDB no Boolean. A migration written from what it reflects (the downgrade
of a dropped column, the existing type of an altered one) would then not run, or not give the
same schema, on the other backends. So while newmigration builds its scratch database, each
column's type is recorded as the migrations declared it, and written instead (portable.py).
"""
import copy

from alembic.operations import Operations, ops, toimpl
from sqlalchemy import CheckConstraint, Enum, UniqueConstraint

from .enums import same_enum_type


class DeclaredTypes(dict):
    """(table, column) -> the type the migrations last gave that column; in `checks`,
    (table, name) -> the condition of each CHECK constraint as the migrations wrote it; in
    `defaults`, (table, column) -> the server default they gave it (None: none); in `uniques`,
    (table, name) of each unique constraint (MariaDB reflects them as unique indexes)."""

    def __init__(self):
        super().__init__()
        self.checks = {}
        self.defaults = {}
        self.uniques = {}

    @classmethod
    def of(cls, metadata):
        """What a schema loaded from a snapshot declares (its types, checks and defaults)."""
        declared = cls()
        for table in metadata.tables.values():
            declared.update({(table.name, c.name): c.type for c in table.columns})
            declared.defaults.update({(table.name, c.name): c.server_default for c in table.columns})
            declared.checks.update({(table.name, c.name): str(c.sqltext) for c in table.constraints
                                    if isinstance(c, CheckConstraint) and c.name})
            declared.uniques.update({(table.name, c.name): True for c in table.constraints
                                     if isinstance(c, UniqueConstraint) and c.name})
        return declared

    def record(self, op, table=None, dialect=None):
        table = table or getattr(op, "table_name", None)
        if isinstance(op, ops.CreateTableOp):
            self.update({(table, c.name): c.type for c in op.columns if hasattr(c, "type")})
            self.defaults.update({(table, c.name): c.server_default for c in op.columns
                                  if hasattr(c, "type")})
            self.checks.update({(table, c.name): str(c.sqltext) for c in op.columns
                                if isinstance(c, CheckConstraint) and c.name})
            self.uniques.update({(table, c.name): True for c in op.columns
                                 if isinstance(c, UniqueConstraint) and c.name})
        elif isinstance(op, ops.CreateCheckConstraintOp):
            self.checks[table, op.constraint_name] = str(op.condition)
        elif isinstance(op, ops.CreateUniqueConstraintOp):
            self.uniques[table, op.constraint_name] = True
        elif isinstance(op, ops.DropConstraintOp):
            self.checks.pop((table, op.constraint_name), None)
            self.uniques.pop((table, op.constraint_name), None)
        elif isinstance(op, ops.AddColumnOp):
            self[table, op.column.name] = op.column.type
            self.defaults[table, op.column.name] = op.column.server_default
        elif isinstance(op, ops.AlterColumnOp):
            if op.modify_type is not None:
                self[table, op.column_name] = op.modify_type
            elif dialect in ("mysql", "mariadb") and op.existing_type is not None and _restated(op):
                # MariaDB/MySQL restate the whole column (MODIFY/CHANGE), with the type the op
                # names as existing: the column has that type now, whatever it had before.
                self[table, op.column_name] = op.existing_type
            if op.modify_server_default is not False:
                self.defaults[table, op.column_name] = op.modify_server_default
            if op.modify_name:
                for found in (self, self.defaults):
                    if (table, op.column_name) in found:
                        found[table, op.modify_name] = found.pop((table, op.column_name))
        elif isinstance(op, ops.DropColumnOp):
            self.pop((table, op.column_name), None)
            self.defaults.pop((table, op.column_name), None)
        elif isinstance(op, (ops.DropTableOp, ops.RenameTableOp)):
            for found in (self, self.checks, self.defaults, self.uniques):
                for key in [k for k in found if k[0] == table]:
                    value = found.pop(key)
                    if isinstance(op, ops.RenameTableOp):
                        found[op.new_table_name, key[1]] = value


def _restated(op):
    """Whether MariaDB/MySQL run `op` as MODIFY or CHANGE (Alembic's MySQLImpl.alter_column)."""
    return (op.modify_name is not None or op.modify_nullable is not None
            or op.kw.get("autoincrement") is not None or op.modify_comment is not False)


def declared_types(context):
    """The DeclaredTypes being recorded for this run (empty when none is)."""
    config = getattr(context, "config", None)
    return config.attributes.get("declared_types", {}) if config is not None else {}


def _recorded(operations, op):
    context = operations.get_context()
    types = declared_types(context)
    if isinstance(types, DeclaredTypes):
        types.record(op, dialect=context.dialect.name)


def _recording(original):
    def run(operations, op):
        result = original(operations, op)
        _recorded(operations, op)
        return result
    return run


for _op, _original in ((ops.CreateTableOp, toimpl.create_table), (ops.AddColumnOp, toimpl.add_column),
                       (ops.DropColumnOp, toimpl.drop_column), (ops.DropTableOp, toimpl.drop_table),
                       (ops.RenameTableOp, toimpl.rename_table),
                       (ops.AddConstraintOp, toimpl.create_constraint),
                       (ops.DropConstraintOp, toimpl.drop_constraint)):
    Operations.implementation_for(_op, replace=True)(_recording(_original))


# Is there a cast PostgreSQL applies by itself in ALTER COLUMN ... TYPE (assignment or implicit)?
# to_regtype: a type PostgreSQL does not know gives NULL, not an error that aborts the migration.
ASSIGNMENT_CAST = (
    "SELECT to_regtype(%(old)s) = to_regtype(%(new)s) OR EXISTS (SELECT 1 FROM pg_cast"
    " WHERE castsource = to_regtype(%(old)s) AND casttarget = to_regtype(%(new)s)"
    " AND castcontext IN ('a', 'i')) OR to_regtype(%(old)s) IS NULL OR to_regtype(%(new)s) IS NULL")


@Operations.implementation_for(ops.AlterColumnOp, replace=True)
def _alter_column(operations, op):
    """alter_column, recorded; on PostgreSQL a type change with no automatic cast (boolean ->
    integer, varchar -> an Enum) gets USING column::type, decided when it runs, so a migration
    written on another backend needs no postgresql_using; an Enum's values are alter_enum_type's."""
    declared = op
    if operations.get_context().dialect.name == "postgresql" and op.modify_type is not None:
        op = copy.copy(op)  # what runs here; the migration's own op is what is recorded
        op.kw = dict(op.kw)
        if same_enum_type(op.existing_type, op.modify_type):
            op.modify_type = None
        elif op.existing_type is not None and "postgresql_using" not in op.kw:
            using = _postgresql_using(operations, op)
            if using:
                op.kw["postgresql_using"] = using
                _keep_default(operations, op)
    toimpl.alter_column(operations, op)
    _recorded(operations, declared)


def _keep_default(operations, op):
    """A default PostgreSQL cannot cast with the column ('a' to an Enum, true to an integer):
    drop it before the type change, then set the new one, or the old one again (alter_column
    sets defaults after types)."""
    if op.existing_server_default in (None, False) and op.modify_server_default is False:
        return  # no default, old or new (a new one comes without the old: Alembic omits it)
    operations.impl.alter_column(op.table_name, op.column_name, server_default=None,
                                 existing_type=op.existing_type, schema=op.schema)
    if op.modify_server_default is False:
        op.modify_server_default = op.existing_server_default


def _postgresql_using(operations, op):
    context = operations.get_context()
    dialect = context.dialect
    old, new = (t.compile(dialect=dialect) for t in (op.existing_type, op.modify_type))
    if context.as_sql:  # no database to ask: only the casts known to need it
        automatic = not (isinstance(op.modify_type, Enum) or {old, new} == {"BOOLEAN", "INTEGER"})
    else:
        automatic = operations.get_bind().exec_driver_sql(ASSIGNMENT_CAST, {"old": old, "new": new}).scalar()
    if automatic:
        return None
    return f"{dialect.identifier_preparer.quote(op.column_name)}::{new}"
