"""content_edits: the console's edits of the event calendar and the push plan

The files in content/ stay the seed; each edit made in the console is one row (the whole item, or
none when cancelled), never updated, so the table is the history and its newest id the revision
every process compares with its own.

Revision ID: 0017_content_edits
Revises: 0016_subscribe_consents
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base


revision = '0017_content_edits'
down_revision = '0016_subscribe_consents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('content_edits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('entry', sa.JSON(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', bot.models.base.AwareDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_edits'))
    )
    with op.batch_alter_table('content_edits', schema=None) as batch_op:
        batch_op.create_index('ix_content_edits_item', ['part', 'item_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('content_edits', schema=None) as batch_op:
        batch_op.drop_index('ix_content_edits_item')
    op.drop_table('content_edits')
