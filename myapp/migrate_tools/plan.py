"""What an upgrade or downgrade would run, read before it runs: for guards and backups."""
import ast
from pathlib import Path

from alembic.runtime.migration import MigrationContext

DESTRUCTIVE = {"drop_table", "drop_column", "drop_index", "drop_constraint", "execute"}


def current_heads(connection):
    return MigrationContext.configure(connection).get_current_heads()


def planned(script_directory, heads, destination, upgrade):
    """The migration scripts the command would run, in the order it runs them."""
    if upgrade:
        revisions = script_directory.iterate_revisions(destination, heads, implicit_base=True)
        return list(reversed(list(revisions)))
    return list(script_directory.iterate_revisions(heads, destination, select_for_downgrade=True))


def destructive_calls(script, function="downgrade"):
    """The drop_* and execute calls in a migration's function, as written, e.g.
    "user: batch_op.drop_column('login_count')"."""
    tree = ast.parse(Path(script.path).read_text(encoding="utf-8"))
    body = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    calls = []
    for node in ast.walk(body) if body else ():
        if isinstance(node, ast.With):
            table = _batch_table(node)
            calls += [f"{table}: {ast.unparse(c)}" for c in _destructive(node.body)]
    top = [c for c in _destructive(body.body) if "batch_op" not in ast.unparse(c)] if body else []
    return [ast.unparse(c) for c in top] + calls


def _destructive(statements):
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in DESTRUCTIVE:
                yield node


def _batch_table(with_node):
    for item in with_node.items:
        call = item.context_expr
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "batch_alter_table":
            if call.args and isinstance(call.args[0], ast.Constant):
                return call.args[0].value
    return "?"
