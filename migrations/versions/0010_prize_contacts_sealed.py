"""quiz prizes: a winner's name and phone are stored encrypted

Sealed with the identity key that already protects reporters (bot/services/reports/identity.py);
the ciphertext is longer than the plain values were. Contacts claimed before this revision stay
readable as they were (claims.contact_of passes plain text through) until they are erased.

Revision ID: 0010_prize_contacts_sealed
Revises: 0009_quiz_hot
"""

import sqlalchemy as sa
from alembic import op


revision = '0010_prize_contacts_sealed'
down_revision = '0009_quiz_hot'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quiz_prizes', schema=None) as batch_op:
        batch_op.alter_column('claimant_name', existing_type=sa.String(length=64), type_=sa.String(length=255))
        batch_op.alter_column('claimant_phone', existing_type=sa.String(length=16), type_=sa.String(length=255))


def downgrade() -> None:
    with op.batch_alter_table('quiz_prizes', schema=None) as batch_op:
        batch_op.alter_column('claimant_name', existing_type=sa.String(length=255), type_=sa.String(length=64))
        batch_op.alter_column('claimant_phone', existing_type=sa.String(length=255), type_=sa.String(length=16))
