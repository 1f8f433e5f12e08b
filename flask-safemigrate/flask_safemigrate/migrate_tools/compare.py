"""Server-default comparison that sees through each backend's spelling of a default.

PostgreSQL reflects '0'::numeric, MariaDB '0.00' or current_timestamp(), SQLite
(CURRENT_TIMESTAMP); the models say "0", now() or true(). Compared as values of the
column's type they are equal, so autogenerate and `db check` report no false differences.
Nothing is run on the database: `db check` stays read-only.
"""
import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import types

NOW = {"now()", "current_timestamp", "current_timestamp()", "localtimestamp", "localtimestamp()",
       "transaction_timestamp()", "statement_timestamp()"}
TRUE, FALSE = {"true", "t", "1", "y", "yes", "on"}, {"false", "f", "0", "n", "no", "off"}
UNKNOWN = object()
CAST = re.compile(r"::\s*[\w\s\"]+(\([\d,\s]*\))?(\[\])?\s*$")  # PostgreSQL's '0'::numeric


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """Alembic's compare_type hook: True differs, None lets Alembic decide.

    A database keeps less than the migrations declared (SQLite has no Enum and no time zone),
    so the declared type, where newmigration recorded it, is compared for what the database
    lost: whether it is an Enum and with which values, a JSON, a time zone."""
    from .declared import declared_types  # autogenerate and check only
    from .enums import same_name

    table = metadata_column.table.name if metadata_column.table is not None else None
    declared = declared_types(context).get((table, metadata_column.name))
    if declared is not None:
        if any(isinstance(declared, kind) != isinstance(metadata_type, kind)
               for kind in (types.Enum, types.JSON)):
            return True
        if isinstance(declared, types.DateTime) and isinstance(metadata_type, types.DateTime) \
                and bool(declared.timezone) != bool(metadata_type.timezone):
            return True
        if isinstance(declared, types.Enum):
            inspected_type = declared
    if isinstance(metadata_type, types.Enum) and isinstance(inspected_type, types.Enum):
        if list(inspected_type.enums) != list(metadata_type.enums):
            return True
        # PostgreSQL keeps a long type name cut to 63 bytes: that is the same type.
        return False if same_name(inspected_type.name, metadata_type.name) else None
    return None


def compare_server_default(context, inspected_column, metadata_column, inspected_default,
                           metadata_default, rendered_metadata_default):
    """Alembic's compare_server_default hook: True differs, False same, None undecided.

    In an adopted app, server defaults are not compared, as stock Flask-Migrate does not: its
    databases hold defaults that its models never declared, and `db check` gives stock's verdicts."""
    from . import adoption

    if context.config is not None and adoption.adopted_heads(context.config):
        return False
    if inspected_default is None or rendered_metadata_default is None:
        return None  # only one side has a default: Alembic reports that itself
    type_ = metadata_column.type
    if isinstance(getattr(metadata_default, "arg", None), str):
        ours = typed(metadata_default.arg, type_, literal=True)  # server_default="new": a value
    else:
        ours = normalize(rendered_metadata_default, type_)
    theirs = normalize(inspected_default, type_)
    if ours is UNKNOWN or theirs is UNKNOWN:
        return None
    return ours != theirs


def normalize(text, type_):
    """The value a default SQL expression stands for, as comparable Python data."""
    expression = _unwrap(text.strip())
    if expression.lower() in NOW:
        return ("now",)
    quoted = re.fullmatch(r"'((?:[^']|'')*)'", expression, re.S)
    if quoted:
        return typed(quoted.group(1).replace("''", "'"), type_, literal=True)
    return typed(expression, type_, literal=False)


def typed(value, type_, literal):
    """A default's value read as the column's type; text stays text."""
    if isinstance(type_, types.Boolean):
        return True if value.lower() in TRUE else False if value.lower() in FALSE else UNKNOWN
    if not literal and value.lower() in ("true", "false"):  # a boolean's default, left by a type change
        return ("boolean", value.lower() == "true")
    if isinstance(type_, (types.Integer, types.Numeric)):
        try:
            return Decimal(value)
        except InvalidOperation:
            return UNKNOWN
    return ("text", value) if literal else ("expression", value.lower())


def _unwrap(expression):
    """Strip PostgreSQL casts and enclosing parentheses until nothing changes."""
    while True:
        before = expression
        expression = CAST.sub("", expression).strip()
        if expression.startswith("(") and _closes_at_end(expression):
            expression = expression[1:-1].strip()
        if expression == before:
            return expression


def _closes_at_end(expression):
    """Whether the "(" at the start is matched by the ")" at the very end."""
    depth = 0
    for i, char in enumerate(expression):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return i == len(expression) - 1
    return False
