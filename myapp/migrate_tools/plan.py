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


def operation_calls(script, function, names=None):
    """The op.* and batch_op.* calls in a migration's function as written, optionally only
    those named in `names`; batch calls name their table, e.g. "user: batch_op.drop_column('x')"."""
    tree = ast.parse(Path(script.path).read_text(encoding="utf-8"))
    body = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    if body is None:
        return []
    calls = []
    for node in ast.walk(body):
        if isinstance(node, ast.With) and batch_table(node):
            calls += [f"{batch_table(node)}: {ast.unparse(c)}" for c in _calls(node.body, "batch_op", names)]
    return [ast.unparse(c) for c in _calls(body.body, "op", names)] + calls


def _calls(statements, receiver, names):
    for statement in statements:
        for node in ast.walk(statement):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == receiver
                    and node.func.attr not in ("batch_alter_table", "f")
                    and (names is None or node.func.attr in names)):
                yield node


def batch_table(with_node):
    """The table of a `with op.batch_alter_table("name")` block, or None."""
    for item in with_node.items:
        call = item.context_expr
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "batch_alter_table":
            if call.args and isinstance(call.args[0], ast.Constant):
                return call.args[0].value
    return None
