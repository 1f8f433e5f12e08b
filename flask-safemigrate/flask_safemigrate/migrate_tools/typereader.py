"""The column types a migration's type expressions stand for, read as lint reads them.

An expression is evaluated with the names the migration module has (what it imports, as
Alembic loaded it), and the imports written inside the function, so the app's own types (a
TypeDecorator in its package) read as what they are. Only plain expressions are evaluated:
names, attributes, calls and constants, nothing private, and nothing on `op` or `context`.
"""
import ast

import sqlalchemy as sa

ALLOWED = (ast.Expression, ast.Name, ast.Load, ast.Attribute, ast.Call, ast.Constant, ast.keyword,
           ast.Tuple, ast.List, ast.UnaryOp, ast.USub)
OPERATIONS = {"op", "context"}


def module_names(module):
    """The names a migration module has: what it imports and defines (a module the revision
    index deferred runs now, as the migration would)."""
    if module is None:
        return vars(_Nothing)
    getattr(module, "upgrade", None)  # a DeferredModule loads the file
    return vars(module)


class TypeReader:
    """Reads the type expressions of one migration function."""

    def __init__(self, script, function):
        from sqlalchemy.dialects import mysql, postgresql, sqlite  # only when a type must be read

        self.names = {"sa": sa, "sqlalchemy": sa, "postgresql": postgresql, "mysql": mysql, "sqlite": sqlite,
                      **module_names(getattr(script, "module", None))}
        for statement in ast.walk(function) if function is not None else ():
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                self._run_import(statement)

    def read(self, node):
        """The type `node` stands for: an instance, or None (no expression, or one not to be read)."""
        if node is None or not _plain(node):
            return None
        try:
            value = eval(compile(ast.Expression(node), "<type>", "eval"), {"__builtins__": {}}, self.names)
        except Exception:  # a name only known when the migration runs, a bad argument, ...
            return None
        if isinstance(value, type) and issubclass(value, sa.types.TypeEngine):
            value = value()
        return value if isinstance(value, sa.types.TypeEngine) else None

    def _run_import(self, statement):
        try:
            exec(compile(ast.Module([statement], []), "<import>", "exec"), self.names)
        except Exception:  # not importable here: its names stay unknown, and read() says so
            pass


class _Nothing:
    pass


def _plain(node):
    return all(isinstance(n, ALLOWED) for n in ast.walk(node)) and not any(
        (isinstance(n, ast.Name) and (n.id in OPERATIONS or n.id.startswith("_")))
        or (isinstance(n, ast.Attribute) and n.attr.startswith("_")) for n in ast.walk(node))


def plain(type_):
    """The type a TypeDecorator stores as (followed to the end); any other type as it is."""
    while isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    return type_


def ddl(type_, family):
    """The type as `family` ("postgresql", "mysql") writes it in DDL; None if it cannot."""
    from sqlalchemy.dialects import mysql, postgresql

    dialect = {"postgresql": postgresql.dialect, "mysql": mysql.dialect}[family]()
    try:
        return type_.compile(dialect=dialect)
    except Exception:  # a type this backend lacks: no DDL to compare
        return None


def same_ddl(old, new, family):
    """Whether `old` and `new` are the same column type on `family`: written alike in DDL (an
    Enum also with the same values, as PostgreSQL writes only its name)."""
    old_plain, new_plain = plain(old), plain(new)
    if isinstance(old_plain, sa.Enum) or isinstance(new_plain, sa.Enum):
        if not (isinstance(old_plain, sa.Enum) and isinstance(new_plain, sa.Enum)
                and list(old_plain.enums) == list(new_plain.enums)):
            return False
    old_ddl = ddl(old, family)
    return old_ddl is not None and old_ddl == ddl(new, family)
