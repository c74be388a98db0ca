"""staff: a real name, and the WeChat account a staff member bound for broadcast previews

Previews go to staff members' own WeChat accounts, chosen from a list (issue 20): each member binds
theirs once by sending the code the console shows them (`绑定 123456`) to the official account.

Revision ID: 0019_staff_names_and_wechat
Revises: 0018_vault_keyring
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = '0019_staff_names_and_wechat'
down_revision = '0018_vault_keyring'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('real_name', sa.String(length=32), server_default='', nullable=False))
        batch_op.add_column(sa.Column('wechat_openid', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('wechat_bound_at', bot.models.base.AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('bind_code', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('bind_code_expires_at', bot.models.base.AwareDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_unique_constraint('uq_staff_users_wechat_openid', ['wechat_openid'])
        batch_op.create_unique_constraint('uq_staff_users_bind_code', ['bind_code'])


def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_staff_users_bind_code', type_='unique')
        batch_op.drop_constraint('uq_staff_users_wechat_openid', type_='unique')
        for column in ('bind_code_expires_at', 'bind_code', 'wechat_bound_at', 'wechat_openid', 'real_name'):
            batch_op.drop_column(column)
