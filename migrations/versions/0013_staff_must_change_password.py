"""staff: must_change_password, set while an account's password is a generated one

A new account (or a reset) gets a generated password that somebody else has seen; the console sends
its owner to the change-password page before anything else until they choose their own.

Revision ID: 0013_staff_must_change_password
Revises: 0012_window_kinds
"""

import sqlalchemy as sa
from alembic import op


revision = '0013_staff_must_change_password'
down_revision = '0012_window_kinds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
