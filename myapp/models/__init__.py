"""The example domain: one module per model, and the starter data `make db` adds."""
from .role import Role, roles_users
from .starter import add_starter_data
from .user import User

__all__ = ["Role", "User", "add_starter_data", "roles_users"]
