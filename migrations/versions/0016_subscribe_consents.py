"""subscribe consents: what each citizen agreed to receive as 订阅通知

One row per citizen and template, recorded from WeChat's subscribe_msg_popup_event /
subscribe_msg_change_event (bot/services/subscribe_consents.py); the citizen is a keyed hash of the
openid, not the openid.

Revision ID: 0016_subscribe_consents
Revises: 0015_report_notice_keys
"""

import sqlalchemy as sa
from alembic import op

from bot.models.base import AwareDateTime

revision = '0016_subscribe_consents'
down_revision = '0015_report_notice_keys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'subscribe_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('citizen', sa.String(length=64), nullable=False),
        sa.Column('template_id', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('sends_left', sa.Integer(), nullable=False),
        sa.Column('updated_at', AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribe_consents')),
        sa.UniqueConstraint('citizen', 'template_id', name=op.f('uq_subscribe_consents_citizen')),
    )


def downgrade() -> None:
    op.drop_table('subscribe_consents')
