"""A linter for migrations: operations that lose data, lock busy tables, or break the running
release. It reads the migration files (nothing runs); a comment naming a rule id in the file
acknowledges that rule's findings there, e.g. `# lint: drop-column (backed up in ticket 42)`.
Code under a test of the backend (`if op.get_bind().dialect.name == "mysql":`) is judged only
for the backends it runs on.
"""
import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from . import opcalls
from .typereader import TypeReader, plain, same_ddl

ANY, PG, MY, SQLITE = None, "postgresql", "mysql", "sqlite"

# rule id: (backend it concerns, why it is dangerous, the safe pattern)
RULES = {
    "drop-table": (ANY, "drops the table and every row in it",
                   "keep it until no release uses it and it is backed up; then acknowledge"),
    "drop-column": (ANY, "drops the column and every value in it",
                    "stop using it in one release, drop it in the next, after a backup; then acknowledge"),
    "narrowing-type": (ANY, "the new type holds less: values are truncated or the change fails",
                       "add a new column of the narrower type, copy and check the data, then switch"),
    "enum-values-removed": (ANY, "rows holding a removed value break the change or lose that value",
                            "update those rows to a kept value first, in an earlier migration"),
    "breaks-running-release": (ANY, "the release still running uses the old name (or the column "
                               "the models still map) and fails until it is replaced",
                               "expand and contract: add the new name, copy, deploy, then drop the old"),
    "not-null-without-default": (ANY, "existing rows have no value for it: the ALTER fails or "
                                 "rewrites the table", "safe.add_not_null_column(...), or give it a "
                                 "server_default"),
    "empty-downgrade": (ANY, "the migration cannot be reverted (its upgrade does something)",
                        "write downgrade() to undo upgrade()"),
    "pg-index-not-concurrent": (PG, "CREATE INDEX locks writes to the table for the whole build",
                                "safe.create_index(...) (CONCURRENTLY, outside the transaction)"),
    "pg-drop-index-not-concurrent": (PG, "DROP INDEX takes an exclusive lock on the table: every query "
                                     "on it waits until the drop ends (squawk's "
                                     "require-concurrent-index-deletion)",
                                     "with op.get_context().autocommit_block(): op.drop_index(..., "
                                     "postgresql_concurrently=True, if_exists=True)"),
    "pg-unique-constraint": (PG, "ADD CONSTRAINT UNIQUE (or PRIMARY KEY) builds its index under an "
                             "exclusive lock: no reads or writes meanwhile (squawk's "
                             "disallowed-unique-constraint)", "safe.create_index(..., unique=True), then "
                             "op.execute('ALTER TABLE t ADD CONSTRAINT name UNIQUE USING INDEX ix_name') "
                             "if a constraint is needed"),
    "pg-volatile-default": (PG, "a volatile default rewrites the whole table under an exclusive lock",
                            "add the column without a default, backfill in batches, then set it"),
    "pg-type-rewrite": (PG, "this type change rewrites the table under an exclusive lock",
                        "add a new column of the new type, backfill, switch, drop the old one"),
    "pg-set-not-null": (PG, "SET NOT NULL scans the whole table under an exclusive lock",
                        "safe.add_not_null_column(...), or a CHECK (col IS NOT NULL) NOT VALID, "
                        "VALIDATE, then SET NOT NULL"),
    "pg-constraint-not-valid": (PG, "adding the constraint checks every row under a lock",
                                "safe.add_foreign_key(...), or postgresql_not_valid=True then "
                                "VALIDATE CONSTRAINT"),
    "unrunnable-operation": (ANY, "Alembic cannot drop a constraint or index named None: the "
                             "migration fails on every backend, after the statements before it ran",
                             "give its name (autogenerate writes None where the database left it "
                             "unnamed: look the name up, or on SQLite pass naming_convention= to "
                             "batch_alter_table)"),
    "unnamed-constraint": (ANY, "named None, it is created only where the MetaData naming convention "
                           "can name it (a CHECK under a %(constraint_name)s convention never), and "
                           "an unnamed constraint cannot be dropped later",
                           "give it a name, e.g. op.f(\"uq_user_email\") as autogenerate writes it"),
    "foreign-dialect-sql": (ANY, "this raw SQL is written for another database (a PostgreSQL ::cast "
                            "or $$, MySQL backticks or ENGINE=, SQLite PRAGMA, ...) and fails on this one",
                            "write it with op.* operations, or under `if op.get_bind().dialect.name "
                            "== ...:` with a version for each backend"),
    "mysql-copy-alter": (MY, "this ALTER cannot run with ALGORITHM=INSTANT or INPLACE: MariaDB copies "
                         "the table and blocks writes meanwhile", "add a new column, backfill in "
                         "batches, switch, drop the old (or use an online schema change tool)"),
    "mysql-text-key": (MY, "MariaDB/MySQL cannot index a TEXT or BLOB column without a key length: "
                       "the statement fails, and the DDL before it in the migration stays applied",
                       "use String(n) for a unique or indexed column (or a prefix index, "
                       "mysql_length=...)"),
    "unbatched-update": (ANY, "one UPDATE over every row of an existing table locks all of them until "
                         "it commits (PostgreSQL, MariaDB): writers to the table wait for the whole update",
                         "safe.backfill(table, values, where=...): batches by primary key, a short "
                         "transaction each, resumable; acknowledge it for a small table"),
    "cannot-judge": (ANY, "lint cannot read this column type (a name only known when the migration "
                     "runs, or no existing_type=), so it cannot tell whether the change narrows the "
                     "column or rewrites or copies the table", "check the change by hand; give "
                     "existing_type= and import the types used, as autogenerate writes them, so lint "
                     "can judge it"),
    "mysql-data-with-schema": (MY, "MySQL commits each DDL statement at once: if the data change "
                               "fails, the schema change stays half-done", "put data changes in "
                               "a migration of their own"),
}
VOLATILE = re.compile(r"random\(|gen_random_uuid|uuid_generate|clock_timestamp|timeofday|nextval",
                      re.I)
# Raw SQL that only some backends run: a pattern, and the backends that accept it.
DIALECT_SQL = [
    (re.compile(r"::\s*\w|\$\$|\b(CREATE|ALTER)\s+TYPE\b|\bCONCURRENTLY\b|\bILIKE\b|\b(BIG|SMALL)SERIAL\b",
                re.I), {PG}),
    (re.compile(r"\bSERIAL\b", re.I), {PG, MY}),  # MySQL's alias for an unsigned auto-increment
    (re.compile(r"`"), {MY, SQLITE}),  # SQLite accepts MySQL's quoting
    (re.compile(r"\bAUTO_INCREMENT\b|\bENGINE\s*=|\bMODIFY\s+COLUMN\b|\bALGORITHM\s*=|\bLOCK\s*=", re.I),
     {MY}),
    (re.compile(r"\bPRAGMA\b|\bAUTOINCREMENT\b|\bsqlite_master\b", re.I), {SQLITE}),
]
# RETURNING is left out: SQLite (3.35) and MariaDB (10.5) run it too.
# String literals and comments, whose text is no SQL: 'a::b' is no cast.
SQL_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)
DATA_CHANGE = re.compile(r"^\s*(UPDATE|DELETE)\b", re.I)
# Operations on a named object: the name comes first, then (outside a batch) the table.
NAMED_OPS = {"create_index", "drop_index", "create_foreign_key", "create_unique_constraint",
             "create_check_constraint", "create_primary_key", "drop_constraint"}
# What a migration reads the backend's name from: `op.get_bind().dialect.name` and the like.
BIND_SOURCES = {"op.get_bind", "op.get_context", "context.get_context"}
# Rules that only ask for a look: they are shown, and do not fail db lint.
NOTES = {"cannot-judge"}
SCHEMA_OPS = {"create_table", "drop_table", "add_column", "drop_column", "alter_column",
              "create_index", "drop_index", "create_foreign_key", "create_unique_constraint",
              "create_check_constraint", "drop_constraint", "rename_table"}


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    line: int
    operation: str
    acknowledged: bool

    @property
    def note(self):
        """A note asks for a look by hand; it does not fail db lint."""
        return self.rule in NOTES

    def lines(self):
        _, why, fix = RULES[self.rule]
        note = "  (acknowledged)" if self.acknowledged else "  (note)" if self.note else ""
        return [f"{self.rule}  {self.path}:{self.line}  {self.operation}{note}",
                f"    why: {why}", f"    instead: {fix}"]


def lint_script(script, backend, mapped_columns):
    """The findings for one migration script on `backend` ("sqlite", "postgresql", "mysql", "mariadb").

    `mapped_columns` maps table names to the column names the models map."""
    source = Path(script.path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    acknowledged = _acknowledged(source)
    family = _family(backend)
    findings = []

    def flag(rule, node, text):
        if RULES[rule][0] in (ANY, family):
            findings.append(Finding(rule, script.path, node.lineno, text, rule in acknowledged))

    upgrade, downgrade = opcalls.function(tree, "upgrade"), opcalls.function(tree, "downgrade")
    if _empty(downgrade) and not _empty(upgrade):  # a migration that does nothing undoes nothing
        flag("empty-downgrade", downgrade or tree, "def downgrade()" if downgrade else "no downgrade()")
    unreachable = _unreachable(upgrade, family) if upgrade else set()
    calls = [c for c in opcalls.calls_in(upgrade) if id(c.node) not in unreachable] if upgrade else []
    created = {_string(c.node.args[0]) for c in calls if c.name == "create_table" and c.node.args}
    types = TypeReader(script, upgrade)
    for call in calls:
        _check(call, created, mapped_columns, flag)
        if call.name == "alter_column":
            _check_alter(call, types, family, flag)
    _check_text_keys(calls, types, flag)
    for call in (c for c in calls if c.name == "execute"):
        sql = SQL_LITERALS.sub(" ", _sql(call) or "")
        if any(p.search(sql) and family not in runs_on for p, runs_on in DIALECT_SQL):
            flag("foreign-dialect-sql", call.node, call.text)
    if upgrade:
        _check_unbatched_updates(upgrade, unreachable, created, flag)
    data = [c for c in calls if c.name == "execute" and _changes_data(c)]
    if data and any(c.name in SCHEMA_OPS for c in calls):
        flag("mysql-data-with-schema", data[0].node, data[0].text)
    return findings


def _empty(function):
    """A function that is missing, or holds only `pass` and a docstring."""
    return function is None or all(isinstance(s, ast.Pass) or _is_docstring(s) for s in function.body)


def _changes_data(call):
    """An execute() of UPDATE or DELETE: SQL text, or built (sa.update(t)..., t.delete()...)."""
    if DATA_CHANGE.match(_sql(call) or ""):
        return True
    return bool(call.node.args) and _built_statement(call.node.args[0])[0] in ("update", "delete")


def _check(call, created, mapped_columns, flag):
    node, text, name = call.node, call.text, call.name
    table = _table(call)
    existing = table not in created
    if name in NAMED_OPS:
        # the name is the first argument, in op.* and batch_op.* alike
        named = node.args[0] if node.args else call.keyword("constraint_name") or call.keyword("index_name")
        if isinstance(named, ast.Constant) and named.value is None:
            flag("unrunnable-operation" if name.startswith("drop_") else "unnamed-constraint", node, text)
    if name == "drop_table":
        flag("drop-table", node, text)
    elif name == "drop_column":
        flag("drop-column", node, text)
        column = _string(node.args[-1]) if node.args else None
        if column in mapped_columns.get(table, ()):
            flag("breaks-running-release", node, text)
    elif name == "rename_table":
        flag("breaks-running-release", node, text)
    elif name == "add_column" and existing:
        column = next((a for a in node.args if isinstance(a, ast.Call)), None)
        nullable = _keyword_value(column, "nullable", True) if column is not None else True
        default = _keyword(column, "server_default") if column is not None else None
        if nullable is False and default is None:
            flag("not-null-without-default", node, text)
        if default is not None and VOLATILE.search(ast.unparse(default)):
            flag("pg-volatile-default", node, text)
    elif name in ("create_index", "drop_index") and existing and \
            not _true(call.keyword("postgresql_concurrently")):
        flag("pg-index-not-concurrent" if name == "create_index" else "pg-drop-index-not-concurrent",
             node, text)
    elif name == "create_unique_constraint" and existing:
        flag("pg-unique-constraint", node, text)
    elif name in ("create_foreign_key", "create_check_constraint") and existing \
            and not _true(call.keyword("postgresql_not_valid")):
        flag("pg-constraint-not-valid", node, text)
    elif name == "create_primary_key" or (name == "drop_constraint" and
                                          _string(call.keyword("type_")) == "primary"):
        flag("mysql-copy-alter", node, text)
        if name == "create_primary_key" and existing:
            flag("pg-unique-constraint", node, text)


def _check_unbatched_updates(function, unreachable, created, flag):
    """unbatched-update: an UPDATE without WHERE, in SQL text or sa.update()/table.update(), run
    by any .execute() (op, op.get_bind(), a connection), on a table this migration did not create."""
    for node in ast.walk(function):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "execute"
                and node.args and id(node) not in unreachable):
            continue
        statement = node.args[0]
        if isinstance(statement, ast.Call) and getattr(statement.func, "attr", getattr(
                statement.func, "id", None)) == "text" and statement.args:
            statement = statement.args[0]  # sa.text("...")
        if isinstance(statement, (ast.Constant, ast.JoinedStr)):
            # f-strings: their {parts} are names, not WHERE
            sql = statement.value if isinstance(statement, ast.Constant) else "".join(
                v.value if isinstance(v, ast.Constant) else "x" for v in statement.values)
            for one in SQL_LITERALS.sub(" ", sql if isinstance(sql, str) else "").split(";"):
                update = re.match(r"\s*UPDATE\s+[`\"]?(\w+)", one, re.I)
                if update and update.group(1) not in created and not re.search(r"\bWHERE\b", one, re.I):
                    flag("unbatched-update", node, ast.unparse(node))
                    break
            continue
        # a chain of calls: sa.update(t).values(...), t.update().values(...), with no .where()
        verb, names, link = _built_statement(statement)
        if verb != "update" or {"where", "filter"} & set(names):
            continue
        module = isinstance(link.func, ast.Name) or getattr(link.func.value, "id", None) in ("sa", "sqlalchemy")
        table = (link.args[0] if link.args else None) if module else link.func.value
        name = table.args[0].value if isinstance(table, ast.Call) and table.args and \
            isinstance(table.args[0], ast.Constant) else None
        if name not in created:
            flag("unbatched-update", node, ast.unparse(node))


def _built_statement(statement):
    """What a chain of calls builds: ("update", the names called from the outside in, the
    update() call) for sa.update(t).values(...) or t.update().values(...); likewise "delete"
    and "insert"; (None, names, None) for anything else."""
    names, link = [], statement
    while isinstance(link, ast.Call) and isinstance(link.func, (ast.Attribute, ast.Name)):
        names.append(getattr(link.func, "attr", getattr(link.func, "id", None)))
        if names[-1] in ("update", "delete", "insert"):
            return names[-1], names, link
        link = link.func.value if isinstance(link.func, ast.Attribute) else None
    return None, names, None


def _check_text_keys(calls, types, flag):
    """Unique or indexed TEXT/BLOB columns: in their definition, or keyed later in the file."""
    text_columns = set()
    for call in calls:
        table = _table(call)
        if call.name in ("create_table", "add_column"):
            for column in (a for a in call.node.args if _is_column(a)):
                name = _string(column.args[0]) if column.args else None
                if not _is_text(types.read(column.args[1] if len(column.args) > 1 else None)):
                    continue
                text_columns.add((table, name))
                if _true(_keyword(column, "unique")) or _true(_keyword(column, "index")):
                    flag("mysql-text-key", call.node, call.text)
        elif call.name == "alter_column" and _is_text(types.read(call.keyword("type_"))):
            text_columns.add((table, _string(call.node.args[-1]) if call.node.args else None))
        if call.name in ("create_index", "create_unique_constraint") and \
                call.keyword("mysql_length") is None:
            columns = next((a for a in call.node.args if isinstance(a, ast.List)), None)
            names = {_string(e) for e in columns.elts} if columns is not None else set()
            if any((table, n) in text_columns for n in names):
                flag("mysql-text-key", call.node, call.text)
        if call.name == "create_table":
            for constraint in (a for a in call.node.args if isinstance(a, ast.Call)
                               and getattr(a.func, "attr", None) == "UniqueConstraint"):
                if any((table, _string(a)) in text_columns for a in constraint.args):
                    flag("mysql-text-key", call.node, call.text)


def _is_column(node):
    """sa.Column(...) or Column(...)."""
    return _called(node, "Column")


def _called(node, name):
    """Whether `node` calls `name`, plain or as an attribute (sa.text(...), text(...))."""
    return isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == name


def _sql(call):
    """The SQL an execute() call runs, when written as a string or sa.text() of one."""
    sql = call.node.args[0] if call.node.args else call.keyword("sqltext")
    return _string(sql.args[0] if _called(sql, "text") and sql.args else sql)


def _is_text(type_):
    return isinstance(plain(type_), (sa.Text, sa.LargeBinary))


def _check_alter(call, types, family, flag):
    node, text = call.node, call.text
    if call.keyword("new_column_name") is not None:
        flag("breaks-running-release", node, text)
    if _keyword_value(node, "nullable", None) is False:
        flag("pg-set-not-null", node, text)
    if call.keyword("type_") is None:
        return
    old, new = types.read(call.keyword("existing_type")), types.read(call.keyword("type_"))
    if old is None or new is None:  # say so, rather than guess either way
        flag("cannot-judge", node, text)
        return
    stored_old, stored_new = plain(old), plain(new)  # what an app's TypeDecorator stores as
    if _narrows(stored_old, stored_new):
        flag("narrowing-type", node, text)
    if isinstance(stored_old, sa.Enum) and isinstance(stored_new, sa.Enum) and \
            not set(stored_old.enums) <= set(stored_new.enums):
        flag("enum-values-removed", node, text)
    if family in (PG, MY) and not same_ddl(old, new, family) and not _widens_text(stored_old, stored_new):
        flag("pg-type-rewrite", node, text)
        flag("mysql-copy-alter", node, text)


def _narrows(old, new):
    """Whether `new` holds less than `old`."""
    if isinstance(old, sa.String) and isinstance(new, sa.String) and not isinstance(new, sa.Text):
        return isinstance(old, sa.Text) or (old.length or 0) > (new.length or 10**9)
    if isinstance(old, sa.Numeric) and isinstance(new, sa.Numeric) and not isinstance(new, sa.Float):
        return (old.precision or 0) > (new.precision or 10**9) or (old.scale or 0) > (new.scale or 0)
    ranks = [sa.SmallInteger, sa.Integer, sa.BigInteger]
    rank = {t: i for i, t in enumerate(ranks)}
    old_rank = next((rank[t] for t in reversed(ranks) if isinstance(old, t)), None)
    new_rank = next((rank[t] for t in reversed(ranks) if isinstance(new, t)), None)
    return old_rank is not None and new_rank is not None and new_rank < old_rank


def _widens_text(old, new):
    """VARCHAR made longer, or made TEXT: no rewrite on PostgreSQL, in place on MariaDB."""
    if isinstance(new, sa.Enum) or isinstance(old, sa.Enum):
        return False
    if isinstance(old, sa.String) and isinstance(new, sa.Text):
        return True
    plain = (sa.String, sa.VARCHAR, sa.Unicode)
    return (type(old) in plain and type(new) in plain
            and (new.length or 10**9) >= (old.length or 10**9))


def _table(call):
    """The table a call acts on: its batch's, else its first argument (the second after a name)."""
    if call.table:
        return call.table
    position = 1 if call.name in NAMED_OPS else 0
    args = call.node.args
    return _string(args[position] if len(args) > position else
                   call.keyword("table_name") or call.keyword("source_table"))


def _family(backend):
    """The backend whose rules apply: MariaDB is judged as MySQL."""
    return MY if backend == "mariadb" else backend


def _unreachable(function, family):
    """ids of the nodes in `function` that cannot run on `family`: under a failing backend test,
    or after `if <backend test>: return` (or raise) where the test holds."""
    assigned = {t.id: n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    dead = set()

    def block(statements, runs):
        for statement in statements:
            visit(statement, runs)
            if isinstance(statement, ast.If) and not statement.orelse and statement.body and \
                    isinstance(statement.body[-1], (ast.Return, ast.Raise)) and \
                    _backend_test(statement.test, assigned, family) is True:
                runs = False

    def visit(node, runs):
        if not runs:
            dead.add(id(node))
        if isinstance(node, ast.If):
            holds = _backend_test(node.test, assigned, family)
            visit(node.test, runs)
            block(node.body, runs and holds is not False)
            block(node.orelse, runs and holds is not True)
            return
        for _, field in ast.iter_fields(node):
            children = field if isinstance(field, list) else [field]
            if children and isinstance(children[0], ast.stmt):
                block(children, runs)
            else:
                for child in children:
                    if isinstance(child, ast.AST):
                        visit(child, runs)

    block(function.body, True)
    return dead


def _backend_test(test, assigned, family):
    """Whether `test` holds on `family` if it tests the backend's name (None: not such a test)."""
    test = _resolve(test, assigned)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        holds = _backend_test(test.operand, assigned, family)
        return None if holds is None else not holds
    if isinstance(test, ast.BoolOp):
        parts = [_backend_test(v, assigned, family) for v in test.values]
        decisive = isinstance(test.op, ast.Or)  # a True part decides `or`, a False one `and`
        if decisive in parts:
            return decisive
        return None if None in parts else not decisive
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if isinstance(op, (ast.Eq, ast.NotEq)) and _is_backend_name(right, assigned):
        left, right = right, left
    right = _resolve(right, assigned)
    names = [_string(e) for e in right.elts] if isinstance(right, (ast.Tuple, ast.List, ast.Set)) \
        else [_string(right)]
    if not _is_backend_name(left, assigned) or None in names or \
            not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
        return None
    return (family in {_family(n) for n in names}) == isinstance(op, (ast.Eq, ast.In))


def _is_backend_name(node, assigned):
    """`op.get_bind().dialect.name` (or get_context()), directly or through local names."""
    for attribute in ("name", "dialect"):
        node = _resolve(node, assigned)
        if not (isinstance(node, ast.Attribute) and node.attr == attribute):
            return False
        node = node.value
    node = _resolve(node, assigned)
    return isinstance(node, ast.Call) and ast.unparse(node.func) in BIND_SOURCES


def _resolve(node, assigned):
    """What a local name was assigned (`bind = op.get_bind()`), followed a few steps; else `node`."""
    for _ in range(5):  # a bound, as a name may be reassigned from itself
        if not (isinstance(node, ast.Name) and node.id in assigned):
            break
        node = assigned[node.id]
    return node


def _acknowledged(source):
    """Rule ids named in the file's comments."""
    comments = " ".join(t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
                        if t.type == tokenize.COMMENT)
    return {rule for rule in RULES if re.search(rf"(?<![\w-]){re.escape(rule)}(?![\w-])", comments)}


def _keyword(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None) if call is not None else None


def _keyword_value(call, name, default):
    node = _keyword(call, name)
    return node.value if isinstance(node, ast.Constant) else default


def _true(node):
    return isinstance(node, ast.Constant) and node.value is True


def _string(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_docstring(statement):
    return isinstance(statement, ast.Expr) and isinstance(getattr(statement, "value", None), ast.Constant)
