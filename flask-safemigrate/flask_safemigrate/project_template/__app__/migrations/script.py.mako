"""${message.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Review before you commit: autogenerate cannot see every change (README, "What autogenerate
cannot see"), and `bin/manage.py db lint` flags operations that lose data or lock busy tables.
Safe patterns, as short as the unsafe ones (flask_safemigrate.migrate_tools.safe):
    safe.create_index(name, table, columns)            # CONCURRENTLY on PostgreSQL
    safe.add_not_null_column(table, column, backfill)  # nullable, backfill, then NOT NULL
    safe.add_foreign_key(name, source, referent, local_cols, remote_cols)  # NOT VALID, VALIDATE
"""
from alembic import op
import sqlalchemy as sa

from flask_safemigrate.migrate_tools import safe  # noqa: F401
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
