"""CHECK constraints compared by name (Alembic's opt-in alembic.ext.checkconstraint_byname),
with names as each backend cuts them.

A convention name longer than the backend's limit is cut there with a hash (as create_all
and the migrations do), but the ext compares the models' full name with the database's cut
one, and would report the same constraint as dropped and added forever.
"""
import sys

from alembic.ext import checkconstraint_byname
from alembic.operations import ops
from alembic.runtime.plugins import Plugin

from .portable import cut


def _compare(autogen_context, modify_ops, schema, tname, conn_table, metadata_table):
    before = len(modify_ops.ops)
    checkconstraint_byname._compare_check_constraints(
        autogen_context, modify_ops, schema, tname, conn_table, metadata_table)
    found = modify_ops.ops[before:]
    dropped = {op.constraint_name: op for op in found
               if isinstance(op, ops.DropConstraintOp) and op.constraint_type == "check"}
    for op in [o for o in found if isinstance(o, ops.CreateCheckConstraintOp)]:
        same = dropped.pop(cut(op.constraint_name, autogen_context.dialect), None)
        if same is not None and same.constraint_name != op.constraint_name:
            modify_ops.ops.remove(op)
            modify_ops.ops.remove(same)


def setup(plugin):
    plugin.add_autogenerate_comparator(_compare, "table", "checkconstraints")


# Registered by module name (Alembic looks plugins up by name; an app's toolkit is no
# installed entry point): runner.py names it in autogenerate_plugins.
Plugin.setup_plugin_from_module(sys.modules[__name__], __name__)
