"""The op.* calls a migration's function makes, read from its file (nothing runs): for lint,
the downgrade guard and the interrupted-migration message alike.

A call inside `with op.batch_alter_table("user") as NAME:` is found by whatever NAME the
block binds (batch_op, b, ...) and carries its table, shown as "user: b.drop_column('x')".
"""
import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Call:
    name: str  # the operation: drop_column, execute, ...
    table: str | None  # the batch's table, for a call on a batch
    node: ast.Call
    text: str  # as written, batch calls prefixed with their table

    def keyword(self, name):
        return next((k.value for k in self.node.keywords if k.arg == name), None)


def function(tree, name):
    """The top-level function `name` of a parsed migration, or None."""
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def in_file(path, name, operations=None):
    """The calls of function `name` in the migration file at `path`, optionally only those
    whose operation is in `operations`."""
    body = function(ast.parse(Path(path).read_text(encoding="utf-8")), name)
    calls = calls_in(body) if body is not None else []
    return [c for c in calls if operations is None or c.name in operations]


def calls_in(node):
    """op.* calls, and calls on the name a batch block binds, under `node`, in source order."""
    found = []

    def visit(node, batches):
        if isinstance(node, ast.With):
            batches = {**batches, **{alias: table for alias, table in batch_aliases(node)}}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.attr not in ("batch_alter_table", "f"):
            receiver = node.func.value.id
            if receiver in batches:
                table = batches[receiver]
                text = ast.unparse(node)
                found.append(Call(node.func.attr, table, node, f"{table}: {text}" if table else text))
            elif receiver == "op":
                found.append(Call(node.func.attr, None, node, ast.unparse(node)))
        for child in ast.iter_child_nodes(node):
            visit(child, batches)

    visit(node, {})
    return sorted(found, key=lambda c: (c.node.lineno, c.node.col_offset))


def batch_aliases(with_node):
    """(name bound, table) of each `op.batch_alter_table(...) as name` in a `with` statement."""
    for item in with_node.items:
        call = item.context_expr
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "batch_alter_table" \
                and isinstance(item.optional_vars, ast.Name):
            yield item.optional_vars.id, _table_name(call)


def batch_table(with_node):
    """The table of a `with op.batch_alter_table("name")` block, or None."""
    for item in with_node.items:
        call = item.context_expr
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "batch_alter_table":
            return _table_name(call)
    return None


def _table_name(call):
    table = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "table_name"),
                                                None)
    return table.value if isinstance(table, ast.Constant) and isinstance(table.value, str) else None
