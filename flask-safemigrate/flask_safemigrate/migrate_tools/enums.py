"""Enum types, portable: operations for PostgreSQL's named types that do nothing elsewhere.

PostgreSQL keeps an Enum's values in a named type of its own; MariaDB/MySQL write them in the
column (ENUM(...)) and SQLite stores a VARCHAR. A migration written on any of them must run on
the others, so a generated file never holds PostgreSQL SQL: it says what happens to the type,

    op.create_enum_type("plan", ["free", "pro"])          # before a column first uses it
    op.alter_enum_type("plan", ["free", "pro", "team"], existing_values=["free", "pro"])
    op.drop_enum_type("plan", ["free", "pro"])            # once no column uses it

and these run on PostgreSQL only (elsewhere the column's own DDL carries the values). Columns
are written `sa.Enum(..., create_type=False)`: the type is these operations' business, so a
table that shares a type with another one never creates it twice. alembic-postgresql-enum was
weighed: its comparator reflects pg_enum, so a migration generated on SQLite or MariaDB gets
none of its operations, and its operations run PostgreSQL SQL on every backend.
"""
from alembic.autogenerate import renderers
from alembic.operations import MigrateOperation, Operations, ops
from sqlalchemy import Enum


class _EnumTypeOp(MigrateOperation):
    def __init__(self, name, values, existing_values=None):
        self.name, self.values, self.existing_values = name, list(values), existing_values


@Operations.register_operation("create_enum_type")
class CreateEnumTypeOp(_EnumTypeOp):
    """Create a named Enum type unless it exists (PostgreSQL; nothing elsewhere)."""

    @classmethod
    def create_enum_type(cls, operations, name, values):
        return operations.invoke(cls(name, values))

    def reverse(self):
        return DropEnumTypeOp(self.name, self.values)


@Operations.register_operation("drop_enum_type")
class DropEnumTypeOp(_EnumTypeOp):
    """Drop a named Enum type once no column uses it (PostgreSQL; nothing elsewhere)."""

    @classmethod
    def drop_enum_type(cls, operations, name, values=()):
        return operations.invoke(cls(name, values))

    def reverse(self):
        return CreateEnumTypeOp(self.name, self.values)


@Operations.register_operation("alter_enum_type")
class AlterEnumTypeOp(_EnumTypeOp):
    """Give a named Enum type new values (PostgreSQL; nothing elsewhere)."""

    @classmethod
    def alter_enum_type(cls, operations, name, values, existing_values):
        return operations.invoke(cls(name, values, list(existing_values)))

    def reverse(self):
        return AlterEnumTypeOp(self.name, self.existing_values, self.values)


def _postgresql(operations):
    return operations.get_context().dialect.name == "postgresql"


@Operations.implementation_for(CreateEnumTypeOp)
def _create(operations, op):
    if _postgresql(operations):
        operations.execute(f"DO $$ BEGIN CREATE TYPE {_q(op.name)} AS ENUM ({_values(op.values)});"
                           " EXCEPTION WHEN duplicate_object THEN NULL; END $$")


@Operations.implementation_for(DropEnumTypeOp)
def _drop(operations, op):
    if _postgresql(operations):
        operations.execute(f"DO $$ BEGIN IF NOT EXISTS ({_USERS.format(type=_literal(_q(op.name)))})"
                           f" THEN DROP TYPE IF EXISTS {_q(op.name)}; END IF; END $$")


# The columns of tables (not of views or dropped columns) whose type is {type}.
_USERS = ("SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
          " WHERE a.atttypid = to_regtype({type}) AND NOT a.attisdropped AND c.relkind = 'r'")


@Operations.implementation_for(AlterEnumTypeOp)
def _alter(operations, op):
    if not _postgresql(operations):
        return
    old, new = op.existing_values, op.values
    if [v for v in new if v in old] == old:
        # Only additions: ADD VALUE needs no rewrite. A new value cannot be used in the
        # transaction that adds it (a default, an UPDATE), so it commits on its own, first;
        # IF NOT EXISTS makes a rerun after a failure harmless.
        with operations.get_context().autocommit_block():
            for i, value in enumerate(new):
                if value not in old:
                    where = f" AFTER {_literal(new[i - 1])}" if i else \
                        (f" BEFORE {_literal(old[0])}" if old else "")
                    operations.execute(f"ALTER TYPE {_q(op.name)} ADD VALUE IF NOT EXISTS"
                                       f" {_literal(value)}{where}")
        return
    for statement in _rebuild(op.name, new):
        operations.execute(statement)


def _rebuild(name, values):
    """Values removed or reordered: a new type, every column that uses the old one cast to it
    (its default dropped and set again), then the old type dropped."""
    old = kept_name(kept_name(name)[:59] + "_old")  # not cut back to `name` itself
    loop = (
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT c.relname AS t, a.attname AS col,"
        " pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attribute a JOIN pg_class c ON c.oid ="
        f" a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        f" WHERE a.atttypid = to_regtype({_literal(_q(old))}) AND NOT a.attisdropped"
        " AND c.relkind = 'r' LOOP"
        " IF r.def IS NOT NULL THEN EXECUTE format('ALTER TABLE %I ALTER COLUMN %I DROP DEFAULT',"
        " r.t, r.col); END IF;"
        f" EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE {_q(name)} USING %I::text::{_q(name)}',"
        " r.t, r.col, r.col);"
        # The default without its cast to the old type ('a'::plan_old -> 'a'), cast anew.
        " IF r.def IS NOT NULL THEN EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET DEFAULT %s',"
        " r.t, r.col, regexp_replace(r.def, '::[^:]+$', '')); END IF; END LOOP; END $$")
    return [f"ALTER TYPE {_q(name)} RENAME TO {_q(old)}",
            f"CREATE TYPE {_q(name)} AS ENUM ({_values(values)})", loop, f"DROP TYPE {_q(old)}"]


@renderers.dispatch_for(CreateEnumTypeOp)
def _render_create(autogen_context, op):
    return f"op.create_enum_type({op.name!r}, {op.values!r})"


@renderers.dispatch_for(DropEnumTypeOp)
def _render_drop(autogen_context, op):
    return f"op.drop_enum_type({op.name!r}, {op.values!r})"


@renderers.dispatch_for(AlterEnumTypeOp)
def _render_alter(autogen_context, op):
    return f"op.alter_enum_type({op.name!r}, {op.values!r}, existing_values={op.existing_values!r})"


def render_type(type_):
    """An Enum as autogenerate writes it, with create_type=False (the operations above own
    the type); None for any other type."""
    if not (isinstance(type_, Enum) and type_.name):
        return None
    return f"sa.Enum({', '.join(repr(v) for v in type_.enums)}, name={type_.name!r}, create_type=False)"


def add_type_operations(script):
    """Put the enum-type operations every backend needs around what autogenerate found:
    creates and value changes first, drops (of types no column uses any more) last."""
    for container in (script.upgrade_ops, script.downgrade_ops):
        first, last = [], []
        for op in container.ops:
            if isinstance(op, ops.CreateTableOp):
                first += [CreateEnumTypeOp(t.name, t.enums) for t in _named(c.type for c in op.columns
                                                                         if hasattr(c, "type"))]
            elif isinstance(op, ops.DropTableOp):
                last += [DropEnumTypeOp(t.name, t.enums) for t in _named(c.type for c in op.to_table().columns)]
            elif isinstance(op, ops.ModifyTableOps):
                for inner in op.ops:
                    _column_types(inner, first, last)
        container.ops[:0] = _unique(first)
        container.ops.extend(_unique(last))


def _column_types(op, first, last):
    if isinstance(op, ops.AddColumnOp):
        first += [CreateEnumTypeOp(t.name, t.enums) for t in _named([op.column.type])]
    elif isinstance(op, ops.DropColumnOp):
        last += [DropEnumTypeOp(t.name, t.enums) for t in _named([op.to_column().type])]
    elif isinstance(op, ops.AlterColumnOp) and op.modify_type is not None:
        new, old = _named([op.modify_type]), _named([op.existing_type])
        if new and old and same_name(new[0].name, old[0].name):
            if list(new[0].enums) != list(old[0].enums):
                first.append(AlterEnumTypeOp(new[0].name, new[0].enums, list(old[0].enums)))
            return
        first += [CreateEnumTypeOp(t.name, t.enums) for t in new]
        last += [DropEnumTypeOp(t.name, t.enums) for t in old]


def _named(column_types):
    return [t for t in column_types if isinstance(t, Enum) and t.name]


def _unique(operations):
    seen, kept = set(), []
    for op in operations:
        if (type(op), op.name) not in seen:
            seen.add((type(op), op.name))
            kept.append(op)
    return kept


def same_enum_type(existing_type, new_type):
    """Whether an alter_column goes from a named Enum to the same type (its values are
    alter_enum_type's business on PostgreSQL)."""
    old, new = _named([existing_type]), _named([new_type])
    return bool(old and new and same_name(old[0].name, new[0].name))


POSTGRESQL_NAME_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL cuts longer type names (with a NOTICE)


def kept_name(name):
    """The name PostgreSQL keeps for a type named `name`: its first 63 bytes."""
    return name.encode()[:POSTGRESQL_NAME_BYTES].decode(errors="ignore")


def same_name(one, other):
    """Whether two type names name the same PostgreSQL type."""
    return one is not None and other is not None and kept_name(one) == kept_name(other)


def _q(identifier):
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value):
    return "'" + value.replace("'", "''") + "'"


def _values(values):
    return ", ".join(_literal(v) for v in values)
