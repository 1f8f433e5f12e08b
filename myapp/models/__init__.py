"""The example domain: one module per model."""
from .role import Role, roles_users
from .user import User

__all__ = ["Role", "User", "roles_users"]
