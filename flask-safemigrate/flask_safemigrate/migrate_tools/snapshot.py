"""The schema snapshot, `migrations/schema.txt`: the schema the migrations build, committed beside
them (as Rails' db/schema.rb), one line per table, column, constraint and index, in a stable order.

A review shows the schema change next to the migration; commands build their scratch database
from it (create_all, then stamped at its heads) instead of replaying every revision. Its header
names the heads and a digest of the migration files: a snapshot whose digest does not match the
files is not used (the history is replayed, and the suite says how to write it again).

Each line is a call in SQLAlchemy's spelling (`column('email', sa.String(length=255),
nullable=False)`), read back by a reader of its own (`_evaluate`) that knows only those calls,
literals and SQLAlchemy's types: the file is never executed.
"""
import ast
import hashlib
import os
import tempfile
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import (CheckConstraint, Column, ForeignKeyConstraint, Index, MetaData,
                        PrimaryKeyConstraint, Table, UniqueConstraint)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.elements import conv

from .errors import ToolkitError

FILE = "schema.txt"
BOOKKEEPING = ("alembic_version", "migration_journal", "migration_backfill")  # the tools' own tables
HEADER = ("# The schema the migrations build, written by Flask-SafeMigrate (db newmigration,"
          " db snapshot).\n# Do not edit: write it again with `db snapshot` (`make snapshot`).\n")


class SnapshotError(ToolkitError):
    """schema.txt cannot be read."""


class Snapshot:
    """A snapshot read from its file: the heads and digest it was written for, and its schema."""

    def __init__(self, heads, digest, body):
        self.heads, self.digest, self.body = heads, digest, body

    def metadata(self, naming_convention=None):
        return load(self.body, naming_convention)

    def seal(self, paths):
        """The digest of this snapshot for the migration files `paths`: of the files, the heads and
        every line, so a snapshot edited by hand (or for other files) is not used."""
        text = f"{files_digest(paths)}\n{' '.join(self.heads)}\n{self.body}"
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def sealed_for(self, paths):
        self.digest = self.seal(paths)
        return self

    def is_for(self, paths):
        """Whether it was written for these files, as it is (its heads and lines untouched)."""
        return self.digest == self.seal(paths)

    def text(self):
        return (HEADER + f"# heads: {' '.join(self.heads) or '-'}\n# versions: {self.digest}\n"
                + self.body)


# --- writing ---------------------------------------------------------------------------------

def render(metadata):
    """The snapshot lines of `metadata`'s tables (the tools' own left out), tables by name."""
    lines = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        if table.name in BOOKKEEPING:
            continue
        lines.append(f"table({table.name!r}" + (f", comment={table.comment!r}" if table.comment else "") + ")")
        for column in table.columns:
            lines.append(f"    column({_args(column.name, _type(column.type), nullable=column.nullable, server_default=_default(column.server_default), comment=column.comment)})")
        pk = table.primary_key
        if pk.columns:
            lines.append(f"    primary_key({_args(_name(pk), *pk.columns.keys())})")
        constraints = sorted((c for c in table.constraints if not isinstance(c, PrimaryKeyConstraint)),
                             key=lambda c: (type(c).__name__, _name(c) or "", _columns(c)))
        for c in constraints:
            if isinstance(c, UniqueConstraint):
                lines.append(f"    unique({_args(_name(c), *_columns(c))})")
            elif isinstance(c, ForeignKeyConstraint):
                options = {k: getattr(c, k) for k in ("ondelete", "onupdate", "deferrable", "initially")
                           if getattr(c, k)}
                lines.append(f"    foreign_key({_args(_name(c), list(_columns(c)), c.referred_table.name, [e.column.name for e in c.elements], **options)})")
            elif isinstance(c, CheckConstraint):
                lines.append(f"    check({_args(_name(c), str(c.sqltext))})")
        for index in sorted(table.indexes, key=lambda i: (i.name or "", _columns(i))):
            lines.append(f"    index({_args(_name(index), [_text(e) for e in index.expressions], unique=bool(index.unique) or None)})")
    return "".join(line + "\n" for line in lines)


def from_database(connection, declared, naming_convention=None):
    """The snapshot lines of the schema in a database the migrations built: reflected, with each
    column's type, server default and CHECK condition as the migrations declared them (a database
    gives back less: SQLite has no Enum, MariaDB no Boolean), so the text is the same whichever
    backend built it."""
    metadata = MetaData()
    metadata.reflect(connection)
    dialect = connection.dialect.name
    for table in list(metadata.tables.values()):
        if table.name in BOOKKEEPING:
            continue
        foreign_keys = {fk.name: _columns(fk) for fk in table.foreign_key_constraints}
        for column in table.columns:
            key = (table.name, column.name)
            if key in declared:
                column.type = declared[key]
            if key in declared.defaults:
                column.server_default = declared.defaults[key]
        for c in table.constraints:
            if isinstance(c, CheckConstraint) and (table.name, c.name) in declared.checks:
                c.sqltext = sa.text(declared.checks[table.name, c.name])
            if isinstance(c, PrimaryKeyConstraint) and dialect in ("mysql", "mariadb"):
                c.name = _primary_key_name(table.name, naming_convention)  # MariaDB: all PRIMARY
        for index in list(table.indexes):
            if index.unique and (table.name, index.name) in declared.uniques:
                # A unique constraint, which MariaDB keeps (and reflects) as a unique index.
                table.indexes.discard(index)
                table.append_constraint(UniqueConstraint(*index.columns.keys(), name=index.name))
                continue
            # MariaDB's own index of a foreign key (named after it), and the index of a unique
            # constraint, are not indexes the migrations made.
            if index.dialect_options.get(dialect, {}).get("duplicates_constraint") or \
                    index.info.get("duplicates_constraint") or \
                    (dialect in ("mysql", "mariadb") and foreign_keys.get(index.name) == _columns(index)):
                table.indexes.discard(index)
    return render(metadata)


def _primary_key_name(table, naming_convention):
    """The name the naming convention gives `table`'s primary key (None without one)."""
    probe = Table(table, MetaData(naming_convention=naming_convention or {}),
                  Column("id", sa.Integer, primary_key=True))
    return _name(probe.primary_key)


def _args(*args, **kwargs):
    shown = [a if isinstance(a, _Code) else repr(a) for a in args]
    shown += [f"{k}={v if isinstance(v, _Code) else repr(v)}" for k, v in kwargs.items()
              if v is not None and not (k == "nullable" and v is True)]
    return ", ".join(shown)


class _Code(str):
    """Text written as it is (a type, a default), not quoted."""


def _type(type_):
    if isinstance(type_, sa.Enum) and not getattr(type_, "create_type", True):
        type_ = type_.copy()  # a migration that creates the type by itself; create_all does here
        type_.create_type = True
    if isinstance(type_, sa.types.TypeDecorator):
        return _type(type_.impl_instance)  # what the app's own type stores
    module = type(type_).__module__
    for name in ("postgresql", "mysql", "sqlite"):
        if module.startswith(f"sqlalchemy.dialects.{name}"):
            return _Code(f"{name}.{type_!r}")
    if not module.startswith("sqlalchemy."):
        # A type of another library: the snapshot cannot build it, so commands replay the history.
        return _Code(f"unknown_type({f'{module}.{type_!r}'!r})")
    return _Code(f"sa.{type_!r}")


def _default(default):
    if default is None:
        return None
    arg = getattr(default, "arg", default)
    if isinstance(arg, str):
        return arg
    # A function or boolean stays one (each backend writes it its own way: now() is SQLite's
    # CURRENT_TIMESTAMP, false is MariaDB's 0); other SQL is kept as its text.
    if isinstance(arg, sa.sql.functions.FunctionElement) and not len(arg.clauses) and \
            getattr(arg, "name", "").isidentifier():
        return _Code(f"sa.func.{arg.name}()")
    for kind, spelled in ((sa.sql.elements.True_, "sa.true()"), (sa.sql.elements.False_, "sa.false()")):
        if isinstance(arg, kind):
            return _Code(spelled)
    return _Code(f"sa.text({_text(arg)!r})")


def _text(element):
    if isinstance(element, str):
        return element
    if isinstance(element, Column) or hasattr(element, "key") and hasattr(element, "table"):
        return element.name
    return str(element.compile(compile_kwargs={"literal_binds": True}))


def _name(constraint):
    return str(constraint.name) if constraint.name else None


def _columns(constraint):
    return tuple(c.name for c in constraint.columns)


def describes(body, metadata):
    """Whether the snapshot `body` says all there is of `metadata`'s schema: its tables render
    to the same lines, and none has what the lines leave out (computed and identity columns,
    backend-specific options) but autogenerate compares."""
    for table in metadata.tables.values():
        if table.dialect_kwargs or any(c.computed is not None or c.identity is not None or c.dialect_kwargs
                                       for c in table.columns) \
                or any(item.dialect_kwargs for item in (*table.constraints, *table.indexes)):
            return False
    return render(metadata) == body


# --- reading ---------------------------------------------------------------------------------

# The names a type's repr may use inside it (sa.ARRAY(Integer()), postgresql.ARRAY(UUID())).
TYPES = {name: value for module in (sqlite, mysql, postgresql, sa.types) for name, value in vars(module).items()
         if isinstance(value, type) and issubclass(value, sa.types.TypeEngine)}


MODULES = {"sa": sa, "postgresql": postgresql, "mysql": mysql, "sqlite": sqlite}
SQL = {"text": sa.text, "true": sa.true, "false": sa.false, "null": sa.null}


def _evaluate(node, calls):
    """The value of one snapshot expression: literals, lists, and calls of the snapshot's own
    functions, of SQLAlchemy's types, sa.text/true/false/null and sa.func.NAME; nothing else runs
    (the file is read, never executed)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_evaluate(item, calls) for item in node.elts]
        return values if isinstance(node, ast.List) else tuple(values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    if isinstance(node, ast.Call):
        function = _callable(node.func, calls)
        return function(*(_evaluate(a, calls) for a in node.args),
                        **{k.arg: _evaluate(k.value, calls) for k in node.keywords if k.arg})
    raise ValueError(f"{ast.unparse(node)} is not part of a snapshot line")


def _callable(node, calls):
    if isinstance(node, ast.Name) and (node.id in calls or node.id in TYPES):
        return calls.get(node.id) or TYPES[node.id]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in MODULES:
        found = getattr(MODULES[node.value.id], node.attr, None)
        if node.value.id == "sa" and node.attr in SQL:
            return SQL[node.attr]
        if isinstance(found, type) and issubclass(found, sa.types.TypeEngine):
            return found
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
            isinstance(node.value.value, ast.Name) and node.value.value.id == "sa" and \
            node.value.attr == "func" and node.attr.isidentifier() and not node.attr.startswith("_"):
        return getattr(sa.func, node.attr)
    raise ValueError(f"{ast.unparse(node)} is not a call a snapshot makes")


def load(body, naming_convention=None, source=FILE):
    """The MetaData of a snapshot's lines; a line that cannot be read is a SnapshotError."""
    metadata = MetaData(naming_convention=naming_convention or {})
    tables = []

    def table(name, comment=None):
        tables.append((name, comment, [], number))

    def add(item):
        if not tables:
            raise ValueError("a column or constraint before any table")
        tables[-1][2].append(item)

    def named(name):
        return conv(name) if name else None

    def column(name, type_, nullable=True, server_default=None, comment=None):
        add(Column(name, type_, nullable=nullable, comment=comment, server_default=server_default))

    def primary_key(name, *columns):
        add(PrimaryKeyConstraint(*columns, name=named(name)))

    def unique(name, *columns):
        add(UniqueConstraint(*columns, name=named(name)))

    def foreign_key(name, columns, referred, referred_columns, **options):
        add(ForeignKeyConstraint(columns, [f"{referred}.{c}" for c in referred_columns], name=named(name),
                                 **options))

    def check(name, condition):
        add(CheckConstraint(sa.text(condition), name=named(name)))

    def index(name, expressions, unique=False):
        add(("index", name, expressions, unique))

    def unknown_type(spelled):
        raise ValueError(f"{spelled} is a type of another library")

    calls = {"table": table, "column": column, "primary_key": primary_key, "unique": unique,
             "foreign_key": foreign_key, "check": check, "index": index, "unknown_type": unknown_type}
    number = 0
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            _evaluate(ast.parse(line.strip(), source, mode="eval").body, calls)
        except Exception as e:  # whatever the line does wrong, the error names the line
            raise SnapshotError(f"{source}:{number}: cannot read {line.strip()!r} ({type(e).__name__}:"
                                f" {e}); write it again with `db snapshot`") from None
    for name, comment, items, number in tables:
        indexes = [i for i in items if isinstance(i, tuple)]
        try:
            built = Table(name, metadata, *[i for i in items if not isinstance(i, tuple)], comment=comment)
            for _, index_name, expressions, unique in indexes:
                unknown = [e for e in expressions if e not in built.c]
                if unknown:
                    raise ValueError(f"index {index_name} on {', '.join(map(str, unknown))}, which table"
                                     f" {name} has no column of")
                Index(conv(index_name) if index_name else None, *[built.c[e] for e in expressions],
                      unique=bool(unique), _table=built)
        except Exception as e:  # a second table of that name, a constraint on no column...
            raise SnapshotError(f"{source}:{number}: cannot read table {name!r} ({type(e).__name__}: {e});"
                                " write it again with `db snapshot`") from None
    try:
        sa.schema.sort_tables_and_constraints(metadata.tables.values())  # a key to no table fails here
        for fk in (fk for t in metadata.tables.values() for fk in t.foreign_keys):
            fk.column  # noqa: B018 (resolves the referred column)
    except Exception as e:
        raise SnapshotError(f"{source}: cannot read a foreign key ({type(e).__name__}: {e});"
                            " write it again with `db snapshot`") from None
    return metadata


def path(directory):
    """Where the snapshot of the migrations folder `directory` lives."""
    return Path(directory) / FILE


def read(directory):
    """The folder's snapshot, or None when it has none."""
    file = path(directory)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise SnapshotError(f"{file}: cannot read it ({e}); write it again with `db snapshot`") from None
    heads, digest, body = [], None, []
    for line in text.splitlines(keepends=True):
        if line.startswith("# heads: "):
            heads = [h for h in line[len("# heads: "):].split() if h != "-"]
        elif line.startswith("# versions: "):
            digest = line[len("# versions: "):].strip()
        elif not line.startswith("#"):
            body.append(line)
    return Snapshot(heads, digest, "".join(body))


def write(directory, snapshot):
    """Write the snapshot atomically (a reader sees the old file or the new, never half)."""
    file = path(directory)
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".schema-", suffix=".txt")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(snapshot.text())
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return file


def files_digest(paths):
    """A digest of the migration files' names and contents: a snapshot is for these files."""
    from . import revision_index

    def compute(files):
        digest = hashlib.sha256()
        for file in files:
            digest.update(f"{file.name}\0{revision_index.checksum(file)}\n".encode())
        revision_index.save()
        return "sha256:" + digest.hexdigest()

    return revision_index.remembered(paths, "digest", compute)
