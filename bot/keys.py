"""Key custody: `python -m bot keys check` — does the configured identity key open what is sealed?

Every column sealed with the identity vault is listed in SEALED with the field name its
ciphertexts are bound to. The check opens each stored value (or a sample of each column) and
counts what it could not open: after a restore, or before a key rotation, it tells whether the key
in the environment is the one the data was sealed with.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.models import Report, ReportDraft
from bot.models.quiz import QuizPrize
from bot.services.quiz.claims import NAME_FIELD, PHONE_FIELD
from bot.services.reports.identity import PREFIX, IdentityError, IdentityVault

# (column, field the ciphertext is bound to). A new sealed column belongs here.
SEALED: tuple[tuple[InstrumentedAttribute, str], ...] = (
    (Report.openid_enc, "openid"),
    (Report.name_enc, "name"),
    (Report.phone_enc, "phone"),
    (ReportDraft.name_enc, "name"),
    (ReportDraft.phone_enc, "phone"),
    (QuizPrize.claimant_name, NAME_FIELD),
    (QuizPrize.claimant_phone, PHONE_FIELD),
)


@dataclasses.dataclass(frozen=True)
class ColumnCheck:
    column: str
    checked: int
    unreadable: int


def check(session: Session, vault: IdentityVault, sample: int = 0) -> list[ColumnCheck]:
    """Open the sealed values of every column (the first `sample` of each, 0 = all)."""
    results = []
    for column, field in SEALED:
        query = select(column).where(column.like(PREFIX + "%")).order_by(column)
        if sample:
            query = query.limit(sample)
        checked = unreadable = 0
        for value in session.scalars(query):
            checked += 1
            try:
                vault.decrypt(field, value)
            except IdentityError:
                unreadable += 1
        results.append(ColumnCheck(f"{column.class_.__tablename__}.{column.key}", checked, unreadable))
    return results
