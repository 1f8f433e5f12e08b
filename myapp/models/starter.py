"""The starter data `make db` adds after the migrations: roles and development accounts."""
from sqlalchemy import select

from .role import Role
from .user import User

STARTER_ROLES = {"Admin": "Administrators", "User": "Signed-up users"}
# Development accounts only: `db reset` refuses to run on non-disposable configs.
STARTER_USERS = [("guest@example.com", "guest", "User"), ("admin@example.com", "admin", "Admin")]


def add_starter_data(session):
    """Add the starter roles and users, leaving any that exist alone; say what they are."""
    roles = {}
    for name, description in STARTER_ROLES.items():
        roles[name] = session.scalar(select(Role).filter_by(name=name))
        if roles[name] is None:
            roles[name] = Role(name=name, description=description)
            session.add(roles[name])
    for email, password, role in STARTER_USERS:
        if session.scalar(select(User).filter_by(email=email)) is None:
            user = User(email=email, roles=[roles[role]])
            user.set_password(password)
            session.add(user)
    session.commit()
    return f"roles {', '.join(STARTER_ROLES)}; users {', '.join(u for u, _, _ in STARTER_USERS)}"
