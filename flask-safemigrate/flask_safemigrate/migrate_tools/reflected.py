"""A database's schema as comparable plain data: what the migration suite and `db squash`'s
proof compare (tables, columns with types and defaults, keys, constraint and index names, enum types)."""
from sqlalchemy import inspect

from .compare import normalize
from .journal import TABLE as JOURNAL

BOOKKEEPING = {"alembic_version", JOURNAL}  # the migration tools' own tables


def schema(connection):
    """Tables with their columns, constraints and indexes, as comparable plain data."""
    insp = inspect(connection)
    result = {}
    for table in insp.get_table_names():
        if table in BOOKKEEPING:
            continue
        result[table] = {
            "columns": {c["name"]: (str(c["type"]), c["nullable"], _default(c),
                                    tuple(getattr(c["type"], "enums", ())))  # MariaDB's Enums
                        for c in insp.get_columns(table)},
            "pk": tuple(insp.get_pk_constraint(table)["constrained_columns"]),
            "fks": sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                           (fk.get("options") or {}).get("ondelete"))
                          for fk in insp.get_foreign_keys(table)),
            "uniques": sorted((u["name"], tuple(u["column_names"]))
                              for u in insp.get_unique_constraints(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in insp.get_indexes(table)),
            "checks": sorted(c["name"] for c in insp.get_check_constraints(table)),
        }
    return result


def _default(column):
    """A column's server default as the value it stands for: PostgreSQL keeps the cast of the
    type it was set under ('d'::character varying on a column changed to text)."""
    default = column.get("default")
    return None if default is None else normalize(default, column["type"])


def enum_types(connection):
    """PostgreSQL's enum types with their values (a type left behind is a difference)."""
    if connection.dialect.name != "postgresql":
        return []
    return sorted((e["name"], tuple(e["labels"])) for e in inspect(connection).get_enums())
