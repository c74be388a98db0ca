"""quiz rounds: an answer updates its round in place

An answer moves a round's position, score and last_activity_at. last_activity_at was indexed (with
status), so every answer wrote a new entry into each of the table's four indexes; indexed by status
alone, and with room kept in each page, PostgreSQL updates the row in place (a heap-only tuple).
Idle rounds are still found through the status index: only active rounds are scanned.

Revision ID: 0009_quiz_hot
Revises: 0005_quiz
"""

from alembic import op


revision = '0009_quiz_hot'
down_revision = '0005_quiz'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quiz_rounds', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_rounds_status_activity')
        batch_op.create_index('ix_quiz_rounds_status', ['status'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE quiz_rounds SET (fillfactor = 70)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE quiz_rounds RESET (fillfactor)')
    with op.batch_alter_table('quiz_rounds', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_rounds_status')
        batch_op.create_index('ix_quiz_rounds_status_activity', ['status', 'last_activity_at'], unique=False)
