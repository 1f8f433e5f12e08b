"""The dedicated engine migrations run on (never the app's runtime engine)."""
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool


def migration_engine(url):
    """A fresh engine for one migration run: its own connection, no pool left behind."""
    return create_engine(url, poolclass=NullPool)
