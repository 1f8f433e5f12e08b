"""fill team slugs

Revision ID: 4a78c9fb9443
Revises: ba1d9bc44021
Create Date: 2026-12-02 20:31:16.184625

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4a78c9fb9443'
down_revision = 'ba1d9bc44021'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text("UPDATE teams SET slug = lower(name) WHERE slug IS NULL"))


def downgrade():
    op.execute(sa.text("UPDATE teams SET slug = NULL"))
