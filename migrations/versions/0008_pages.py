"""pages: pauses of scheduled jobs and push-plan items

Revision ID: 0008_pages
Revises: 0002_outbox
"""

from alembic import op
import sqlalchemy as sa
import bot.models.base


revision = '0008_pages'
down_revision = '0002_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_pauses',
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('paused_by', sa.String(length=64), nullable=False),
    sa.Column('paused_at', bot.models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_job_pauses'))
    )


def downgrade() -> None:
    op.drop_table('job_pauses')
