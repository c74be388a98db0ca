"""Prize claims (领奖): a winner leaves a name and a mainland mobile number; staff deliver the prize.

Contact data lives only as long as needed: unclaimed prizes expire after [quiz] claim_days, and
name and phone are erased [quiz] claim_erase_days after delivery (the date is fixed at delivery,
as the citizen was told). Until then they are stored encrypted with the identity key that protects
reporters ([security] identity_key): a copy of the database alone does not give them away.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Delivery
from bot.models.quiz import PrizeStatus, QuizDraw, QuizPrize
from bot.services.notices import error_text
from bot.services.reports.identity import IdentityVault, is_sealed

PHONE = re.compile(r"^1[3-9]\d{9}$")
NAME = re.compile(r"^[\u4e00-\u9fffA-Za-z·• ]{2,20}$")


class ClaimError(Exception):
    """A staff action on a prize that is not possible, in one line."""


def normalize_phone(text: str) -> str | None:
    """An 11-digit mainland mobile number, spaces, dashes and a +86 prefix allowed; else None."""
    digits = re.sub(r"[\s\-－—()（）]", "", text or "")
    digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", digits)
    return digits if PHONE.match(digits) else None


def normalize_name(text: str) -> str | None:
    name = re.sub(r"\s+", " ", (text or "").strip())
    return name if NAME.match(name) else None


def mask_phone(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone else "-"


def open_prizes(session: Session, openid: str, now: dt.datetime) -> list[QuizPrize]:
    """Prizes this citizen won and can still claim."""
    return list(session.scalars(select(QuizPrize).where(
        QuizPrize.openid == openid, QuizPrize.status == PrizeStatus.WON, QuizPrize.claim_deadline > now)
        .order_by(QuizPrize.id)))


def prizes_of(session: Session, openid: str) -> list[tuple[QuizPrize, QuizDraw]]:
    return list(session.execute(select(QuizPrize, QuizDraw).join(QuizDraw, QuizDraw.id == QuizPrize.draw_id)
                                .where(QuizPrize.openid == openid).order_by(QuizPrize.id)).tuples())


NAME_FIELD, PHONE_FIELD = "quiz_prizes.claimant_name", "quiz_prizes.claimant_phone"
# Until 确认 the contact waits in the conversation of flow CLAIM_FLOW (handlers/prize_claim.py), its
# data "name" and "phone" sealed with these fields (re-sealed by a key rotation, bot/services/keys.py).
CLAIM_FLOW = "prizeclaim"
CLAIM_NAME, CLAIM_PHONE = "claim-conversation-name", "claim-conversation-phone"


@dataclasses.dataclass(frozen=True)
class Contact:
    name: str
    phone: str


def claim_prizes(session: Session, vault: IdentityVault, openid: str, *, name: str, phone: str,
                 now: dt.datetime) -> list[QuizPrize]:
    """Record the contact (encrypted) on every open prize of this citizen; a repeat finds none left to claim."""
    prizes = open_prizes(session, openid, now)
    for prize in prizes:
        prize.status, prize.claimed_at = PrizeStatus.CLAIMED, now
        prize.claimant_name = vault.encrypt(NAME_FIELD, name)
        prize.claimant_phone = vault.encrypt(PHONE_FIELD, phone)
    session.flush()
    return prizes


def contact_of(vault: IdentityVault, prize: QuizPrize) -> Contact | None:
    """The winner's name and phone; None before a claim and after erasure. A contact claimed before
    contacts were encrypted (migration 0010) is plain text and is shown as it is."""
    if prize.claimant_phone is None:
        return None

    def opened(field: str, stored: str | None) -> str:
        if stored is None:
            return ""
        return (vault.decrypt(field, stored) or "") if is_sealed(stored) else stored

    return Contact(opened(NAME_FIELD, prize.claimant_name), opened(PHONE_FIELD, prize.claimant_phone))


def phone_for_delivery(vault: IdentityVault, prize: QuizPrize) -> str:
    """The winner's full phone, to hand over a claimed prize. Refused once the prize is delivered (or
    expired): then nobody needs it any more, and staff see only the masked number until it is erased."""
    if prize.status != PrizeStatus.CLAIMED:
        raise ClaimError(f"prize #{prize.id} is {prize.status}, its full phone is shown only to deliver a claimed prize")
    contact = contact_of(vault, prize)
    if contact is None:
        raise ClaimError(f"prize #{prize.id} has no contact")
    return contact.phone


def mark_delivered(session: Session, prize_id: int, *, by: str, now: dt.datetime, erase_days: int) -> QuizPrize:
    prize = session.get(QuizPrize, prize_id)
    if prize is None:
        raise ClaimError(f"no prize #{prize_id}")
    if prize.status != PrizeStatus.CLAIMED:
        raise ClaimError(f"prize #{prize_id} is {prize.status}, only a claimed prize can be delivered")
    prize.status, prize.delivered_at, prize.delivered_by = PrizeStatus.DELIVERED, now, by
    prize.erase_after = now + dt.timedelta(days=erase_days)
    session.flush()
    return prize


def expire_unclaimed(session: Session, now: dt.datetime) -> int:
    """For the scheduler: prizes not claimed by their deadline lapse."""
    prizes = list(session.scalars(select(QuizPrize).where(QuizPrize.status == PrizeStatus.WON,
                                                          QuizPrize.claim_deadline <= now)))
    for prize in prizes:
        prize.status, prize.expired_at = PrizeStatus.EXPIRED, now
    session.flush()
    return len(prizes)


def erase_claim_contacts(session: Session, now: dt.datetime) -> int:
    """For the scheduler: forget name and phone once the erase date after delivery has passed."""
    prizes = list(session.scalars(select(QuizPrize).where(
        QuizPrize.status == PrizeStatus.DELIVERED, QuizPrize.contact_erased_at.is_(None),
        QuizPrize.erase_after <= now)))
    for prize in prizes:
        prize.claimant_name = prize.claimant_phone = None
        prize.contact_erased_at = now
    session.flush()
    return len(prizes)


@dataclasses.dataclass(frozen=True)
class Winner:
    prize: QuizPrize
    notice_status: str | None  # the outbox row's status: pending, sent, failed, undeliverable
    notice_error: str | None  # why it has not arrived, in Chinese (WeChat's English is never shown)


def winners_of(session: Session, draw_id: int) -> list[Winner]:
    """Every prize of a draw in pick order, with how the winner's notice fared in the outbox."""
    rows = session.execute(
        select(QuizPrize, Delivery).outerjoin(Delivery, Delivery.key == ("quiz-prize:" + str(draw_id) + ":")
                                              + QuizPrize.openid)
        .where(QuizPrize.draw_id == draw_id).order_by(QuizPrize.pick_order))
    return [Winner(p, d.status if d else None, (error_text(d.last_error, d.last_errcode) or None) if d else None)
            for p, d in rows]


@dataclasses.dataclass(frozen=True)
class WinnerContact:
    prize_id: int
    openid: str
    status: str
    claim_deadline: dt.datetime
    notice_status: str | None  # the outbox row's status: pending, sent, failed, undeliverable
    notice_error: str | None


def winners_to_contact(session: Session, draw_id: int) -> list[WinnerContact]:
    """For staff: winners who have not claimed yet, with how their notice fared (call the ones it missed)."""
    return [WinnerContact(w.prize.id, w.prize.openid, w.prize.status, w.prize.claim_deadline, w.notice_status,
                          w.notice_error)
            for w in winners_of(session, draw_id) if w.prize.status == PrizeStatus.WON]
