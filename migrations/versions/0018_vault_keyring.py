"""vault_keyring: the identity vault's HMAC keys, sealed, so that the identity key can be rotated

Every keyed hash (reports' owner, query codes, tags) uses keys that must not change when the
identity key does; `python -m bot keys rotate` keeps them here sealed with the current key
(bot/services/reports/identity.py). Empty until the first rotation.

Revision ID: 0018_vault_keyring
Revises: 0017_content_edits
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = '0018_vault_keyring'
down_revision = '0017_content_edits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'vault_keyring',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('sealed', sa.Text(), nullable=False),
        sa.Column('updated_at', bot.models.base.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_vault_keyring')),
    )


def downgrade() -> None:
    op.drop_table('vault_keyring')
