"""outbox: report notices' keys name no ticket

Report notices were keyed `report:<ticket>:<kind>:<event id>`, beside the recipient's openid and
kept forever, also for anonymous reports. New ones are keyed by a keyed hash of the event
(bot/services/reports/lifecycle.py: notice_key), which this migration cannot compute without the
identity key; existing ones become `report-legacy:<event id>`, which the console still finds.
Their recipients are forgotten by the `forget_notice_recipients` job (once final, 48 hours after
sending), like new rows'.

Revision ID: 0015_report_notice_keys
Revises: 0014_draw_pseudonyms
"""

import sqlalchemy as sa
from alembic import op


revision = '0015_report_notice_keys'
down_revision = '0014_draw_pseudonyms'
branch_labels = None
depends_on = None


def upgrade() -> None:
    deliveries = sa.table('deliveries', sa.column('id', sa.Integer), sa.column('key', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(deliveries.c.id, deliveries.c.key).where(deliveries.c.key.like('report:YH%'))).all()
    for row_id, key in rows:
        event_id = key.rsplit(':', 1)[-1]
        if event_id.isdigit():
            bind.execute(deliveries.update().where(deliveries.c.id == row_id).values(key=f'report-legacy:{event_id}'))


def downgrade() -> None:
    pass  # the tickets are not put back into the keys on purpose
