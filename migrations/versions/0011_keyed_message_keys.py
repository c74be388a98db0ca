"""message keys: the sender in stored dedupe keys is a keyed hash of the openid

Dedupe keys (`msg:<sender>:<MsgId>`, `evt:<sender>:...`) are stored as report_photos.msg_key,
quiz_rounds.start_key, quiz_answers.message_key and inside township deliveries' keys. Until this
revision <sender> was an unkeyed SHA-256 of the openid, which anyone holding the citizens table could
recompute to find a citizen's photos. From now on it is an HMAC under a key derived from the identity
key (IdentityVault.sender), which this migration does not have; so the old values are replaced by
`legacy:<id>`. They only ever served to recognise WeChat's retries of a message (seconds), so nothing
is lost: each stays unique, and a retry arriving across the upgrade is the only thing not recognised.

It touches the reports', the quiz's and the outbox's tables, so it merges the branches: from here on
the chain is one line (`alembic heads` shows one).

Revision ID: 0011_keyed_message_keys
Revises: 0003_pushes, 0004_events, 0006_reports, 0007_console, 0008_pages, 0010_prize_contacts_sealed
"""

import sqlalchemy as sa
from alembic import op


revision = '0011_keyed_message_keys'
down_revision = ('0003_pushes', '0004_events', '0006_reports', '0007_console', '0008_pages',
                 '0010_prize_contacts_sealed')
branch_labels = None
depends_on = None

# (table, column, prefix of the rows to rewrite: those written with the unkeyed hash)
_KEYED = (('report_photos', 'msg_key', ''), ('quiz_rounds', 'start_key', ''), ('quiz_answers', 'message_key', ''),
          ('deliveries', 'key', 'township:'))


def upgrade() -> None:
    for table, column, prefix in _KEYED:
        t = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.String))
        legacy = sa.literal('legacy:' + prefix) + sa.cast(t.c.id, sa.String)
        old = sa.or_(t.c[column].like(prefix + 'msg:%'), t.c[column].like(prefix + 'evt:%'))
        op.execute(t.update().where(old).values({column: legacy}))


def downgrade() -> None:
    pass  # the unkeyed values are gone on purpose; the legacy ones are valid under either revision
