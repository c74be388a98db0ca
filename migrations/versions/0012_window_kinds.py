"""citizens: the last menu click, follow or scan, apart from the last message

The platform gives a citizen's message 5 customer-service messages in 48 hours, but a menu click,
a follow or a QR scan only 3 in 1 minute (bot/services/service_window.py). Until now every one of
them moved `last_interaction_at`; from now on it holds messages only, and the others go to
`window_event_at` / `window_event_kind`. Existing times are kept as they are: they may stem from
an event, so for up to 48 hours after this revision a few citizens may seem to hold a window they
do not; WeChat then answers 45015 and the notice is marked undeliverable with the reason.

Revision ID: 0012_window_kinds
Revises: 0011_keyed_message_keys
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = '0012_window_kinds'
down_revision = '0011_keyed_message_keys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_event_at', bot.models.base.AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('window_event_kind', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.drop_column('window_event_kind')
        batch_op.drop_column('window_event_at')
