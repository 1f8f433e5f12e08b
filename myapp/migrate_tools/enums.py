"""Enum columns: see changed value lists, and change PostgreSQL enum types the way it needs.

Alembic does not compare Enum value lists, and on PostgreSQL an ALTER COLUMN ... TYPE to the
same enum type name changes nothing. Here a changed list is detected on every backend; on
PostgreSQL the alter_column becomes ALTER TYPE ... ADD VALUE for added values, or for any
other change (and for the downgrade) the type is rebuilt: rename, create, cast, drop.
"""
from alembic.operations import ops
from sqlalchemy import Enum


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """Alembic's compare_type hook: differing Enum values are a change; else Alembic decides."""
    if isinstance(metadata_type, Enum) and isinstance(inspected_type, Enum):
        return list(inspected_type.enums) != list(metadata_type.enums) or None
    return None


def rewrite_for_postgresql(script):
    """Make enum changes in the upgrade and downgrade work on PostgreSQL: alter_column of an
    enum becomes statements on the type, and dropping the last user of a type drops it."""
    for container in (script.upgrade_ops, script.downgrade_ops):
        statements, creates = [], []
        for op in list(container.ops):
            if isinstance(op, ops.DropTableOp):
                statements += _drop_types(c.type for c in op.to_table().columns)
            if not isinstance(op, ops.ModifyTableOps):
                continue
            for inner in list(op.ops):
                if isinstance(inner, ops.DropColumnOp):
                    statements += _drop_types([inner.to_column().type])
                if isinstance(inner, ops.AddColumnOp):
                    # add_column does not create the column's enum type (create_table does).
                    creates += _create_types([inner.column.type])
                if _is_enum_change(inner):
                    statements += _enum_statements(op.table_name, inner)
                    inner.modify_type = None
                    if not _changes_anything(inner):
                        op.ops.remove(inner)
            if not op.ops:
                container.ops.remove(op)
        container.ops[:0] = [ops.ExecuteSQLOp(sql) for sql in creates]
        container.ops.extend(ops.ExecuteSQLOp(sql) for sql in statements)


def _named_enums(column_types):
    return [t for t in column_types if isinstance(t, Enum) and t.name]


def _create_types(column_types):
    """CREATE TYPE for the named enum types among `column_types`, unless it exists already."""
    return [f"DO $$ BEGIN CREATE TYPE {_q(t.name)} AS ENUM ({', '.join(_literal(v) for v in t.enums)});"
            " EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            for t in _named_enums(column_types)]


def _drop_types(column_types):
    """DROP TYPE for the named enum types among `column_types` once no column uses them
    (SQLAlchemy leaves them behind; another table may still share one)."""
    return [f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type t"
            f" ON a.atttypid = t.oid WHERE t.typname = {_literal(t.name)} AND NOT a.attisdropped)"
            f" THEN DROP TYPE IF EXISTS {_q(t.name)}; END IF; END $$"
            for t in _named_enums(column_types)]


def _is_enum_change(op):
    return (isinstance(op, ops.AlterColumnOp) and isinstance(op.modify_type, Enum)
            and isinstance(op.existing_type, Enum) and op.modify_type.name
            and op.modify_type.name == op.existing_type.name)


def _changes_anything(op):
    return (op.modify_nullable is not None or op.modify_server_default is not False
            or op.modify_comment is not False or op.modify_name is not None)


def _enum_statements(table, op):
    name, old, new = op.modify_type.name, list(op.existing_type.enums), list(op.modify_type.enums)
    if new[:len(old)] == old:  # values only added at the end: no rewrite of the table
        return [f"ALTER TYPE {_q(name)} ADD VALUE IF NOT EXISTS {_literal(v)}" for v in new[len(old):]]
    default = op.existing_server_default
    default_sql = getattr(getattr(default, "arg", None), "text", None)
    column = f"ALTER TABLE {_q(table)} ALTER COLUMN {_q(op.column_name)}"
    statements = [f"ALTER TYPE {_q(name)} RENAME TO {_q(name + '_old')}",
                  f"CREATE TYPE {_q(name)} AS ENUM ({', '.join(_literal(v) for v in new)})"]
    if default_sql:
        statements.append(f"{column} DROP DEFAULT")
    statements.append(f"{column} TYPE {_q(name)} USING {_q(op.column_name)}::text::{_q(name)}")
    if default_sql:
        statements.append(f"{column} SET DEFAULT {default_sql.split('::')[0]}")
    statements.append(f"DROP TYPE {_q(name + '_old')}")
    return statements


def _q(identifier):
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value):
    return "'" + value.replace("'", "''") + "'"
