"""quiz draw entries: a keyed pseudonym per entry, published instead of the openid

New draws publish `{position}\t{pseudonym}\t{day}` (bot/services/quiz/draws.py). Entries of draws
created before this revision keep no pseudonym (NULL): their list digest was published over the
openids, so verification still recomputes it from them; their published list is given with
pseudonyms computed when it is downloaded.

Revision ID: 0014_draw_pseudonyms
Revises: 0013_staff_must_change_password
"""

import sqlalchemy as sa
from alembic import op


revision = '0014_draw_pseudonyms'
down_revision = '0013_staff_must_change_password'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quiz_draw_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pseudonym', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('quiz_draw_entries', schema=None) as batch_op:
        batch_op.drop_column('pseudonym')
