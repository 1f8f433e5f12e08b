"""drop unique email

Revision ID: 82b745a8dd51
Revises: 4a78c9fb9443
Create Date: 2026-12-02 20:31:38.331418

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '82b745a8dd51'
down_revision = '4a78c9fb9443'
branch_labels = None
depends_on = None


def upgrade():
    # Written by hand: users.email was created with an unnamed UNIQUE, so
    # drop it by each backend's default name.
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        with op.batch_alter_table('users', schema=None) as batch_op:
            batch_op.drop_constraint('users_email_key', type_='unique')
    elif dialect in ('mysql', 'mariadb'):
        with op.batch_alter_table('users', schema=None) as batch_op:
            batch_op.drop_constraint('email', type_='unique')
    else:
        # SQLite: the constraint has no name at all; give it one while batch
        # mode reflects the table (Alembic batch docs, "Including unnamed
        # UNIQUE constraints": naming_convention on batch_alter_table).
        with op.batch_alter_table(
            'users',
            schema=None,
            naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"},
        ) as batch_op:
            batch_op.drop_constraint('uq_users_email', type_='unique')


def downgrade():
    # Recreate the unique constraint on users.email.  Unnamed (server default
    # name) on PostgreSQL and MySQL; SQLite batch mode refuses unnamed
    # constraints ("Constraint must have a name"), so it is named there, with
    # the same name the upgrade's naming convention produces.
    if op.get_bind().dialect.name == 'sqlite':
        uq_name = 'uq_users_email'
    else:
        uq_name = None
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_unique_constraint(uq_name, ['email'])
