"""Submitting a draft as a report; ticket numbers, query codes, and a citizen's own reports.

A ticket is `YH<date>-<6 characters>`: 32^6 ≈ 10^9 per day, so numbers cannot be walked to find
other people's reports; the query code (8 characters, shown once, stored as a keyed HMAC) lets the
reporter look the report up from any account.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import ReportsConfig
from bot.models.reports import Report, ReportDraft, ReportEvent, ReportPhoto, ReportStatus
from bot.services.reports import deadlines, duplicates, lifecycle
from bot.services.reports.categories import ReportCategories
from bot.services.reports.identity import IdentityVault

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
SUFFIX_LENGTH = 6
CODE_LENGTH = 8
TICKET_ATTEMPTS = 5


class DraftIncomplete(ValueError):
    """The draft lacks a required answer (the step it needs is in `step`)."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


@dataclasses.dataclass(frozen=True)
class Submitted:
    report: Report
    query_code: str
    duplicate_of: Report | None


def new_ticket(now: dt.datetime) -> str:
    return f"YH{now:%Y%m%d}-" + "".join(secrets.choice(ALPHABET) for _ in range(SUFFIX_LENGTH))


def new_query_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def start_of_day(now: dt.datetime) -> dt.datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def submitted_today(session: Session, owner: str, now: dt.datetime) -> int:
    return session.scalar(select(func.count()).select_from(Report).where(
        Report.owner == owner, Report.submitted_at >= start_of_day(now))) or 0


def submit(session: Session, vault: IdentityVault, draft: ReportDraft, *, openid: str,
           categories: ReportCategories, settings: ReportsConfig, now: dt.datetime) -> Submitted:
    """Turn the draft into a report (flushed, not committed: the caller commits before replying)."""
    for field, step in (("category", "category"), ("description", "description"), ("anonymous", "contact")):
        if getattr(draft, field) is None:
            raise DraftIncomplete(step)
    category = categories.get(draft.category)  # type: ignore[arg-type]
    code = new_query_code()
    report = Report(
        draft_key=draft.key, owner=draft.owner, openid_enc=vault.encrypt("openid", openid),
        name_enc=draft.name_enc, phone_enc=draft.phone_enc, anonymous=bool(draft.anonymous),
        query_code_hash=vault.code_hash(code), category=draft.category,
        department=category.department if category else "县安委办（县应急管理局）",
        description=draft.description, address=draft.address, latitude=draft.latitude, longitude=draft.longitude,
        township=draft.township, township_source=draft.township_source, status=ReportStatus.SUBMITTED,
        submitted_at=now)
    report.due_at = deadlines.due_for(report, settings)
    _insert_with_unique_ticket(session, report, now)
    session.execute(update(ReportPhoto).where(ReportPhoto.draft_id == draft.id)
                    .values(report_id=report.id, draft_id=None))
    lifecycle.record(session, report, kind="status", actor="citizen", now=now, public=True,
                     to_status=ReportStatus.SUBMITTED)
    original = duplicates.find_original(session, report, settings.duplicate_distance_m, settings.duplicate_days)
    if original is not None:
        report.duplicate_of_id = original.id
        lifecycle.record(session, report, kind="duplicate", actor="system", now=now, public=False,
                         note=f"可能与 {original.ticket} 重复（同类别、相近地点、{settings.duplicate_days}天内）")
    session.delete(draft)
    session.flush()
    return Submitted(report, code, original)


def _insert_with_unique_ticket(session: Session, report: Report, now: dt.datetime) -> None:
    for _ in range(TICKET_ATTEMPTS):
        report.ticket = new_ticket(now)
        if session.scalar(select(Report.id).where(Report.ticket == report.ticket)) is not None:
            continue
        try:
            with session.begin_nested():
                session.add(report)
                session.flush()
            return
        except IntegrityError:
            # Another process took the same ticket between the check and the insert.
            if session.scalar(select(Report.id).where(Report.draft_key == report.draft_key)) is not None:
                raise
    raise RuntimeError("could not find a free ticket number")


def for_owner(session: Session, owner: str, limit: int = 10) -> list[Report]:
    return list(session.scalars(select(Report).where(Report.owner == owner)
                                .order_by(Report.submitted_at.desc(), Report.id.desc()).limit(limit)))


def count_for_owner(session: Session, owner: str) -> int:
    return session.scalar(select(func.count()).select_from(Report).where(Report.owner == owner)) or 0


def lookup(session: Session, vault: IdentityVault, ticket: str, *, owner: str, code: str | None = None) -> Report | None:
    """The report if it is the asker's own or the query code matches; otherwise None, exactly as for
    a ticket that does not exist (nothing tells whether someone else's ticket is real)."""
    report = session.scalar(select(Report).where(Report.ticket == ticket.upper()))
    if report is None:
        # Spend the same HMAC work as a real check, so timing says nothing either.
        vault.code_matches(code or "", "0" * 64)
        return None
    if hmac.compare_digest(report.owner, owner):
        return report
    if code and vault.code_matches(code, report.query_code_hash):
        return report
    return None


def public_history(session: Session, report: Report) -> list[ReportEvent]:
    """What the citizen may see of a report's handling (status changes and staff replies), oldest first."""
    return list(session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id, ReportEvent.public)
                                .order_by(ReportEvent.at, ReportEvent.id)))
