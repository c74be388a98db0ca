"""Possible duplicates: the same category, close by and recent. Linked for staff, never rejected
(the first accepted reporter is the one rewarded, domain.md §1.2)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models.reports import Report
from bot.services.townships import distance_m


def _same_place(a: Report, b: Report, within_m: float) -> bool:
    if None not in (a.latitude, a.longitude, b.latitude, b.longitude):
        return distance_m(a.latitude, a.longitude, b.latitude, b.longitude) <= within_m  # type: ignore[arg-type]
    # Without coordinates only the very same typed address counts.
    return bool(a.address and b.address and a.address.strip() == b.address.strip())


def find_original(session: Session, report: Report, within_m: float, days: int) -> Report | None:
    """The earliest earlier report this one may duplicate (following links to the original)."""
    since = report.submitted_at - dt.timedelta(days=days)
    candidates = session.scalars(select(Report).where(
        Report.category == report.category, Report.id != report.id, Report.submitted_at >= since,
        Report.submitted_at <= report.submitted_at).order_by(Report.submitted_at, Report.id))
    for candidate in candidates:
        if _same_place(report, candidate, within_m):
            return session.get(Report, candidate.duplicate_of_id) if candidate.duplicate_of_id else candidate
    return None


def linked(session: Session, report: Report) -> list[Report]:
    """Every report linked with this one: its original, and the ones marked as its duplicates."""
    root_id = report.duplicate_of_id or report.id
    rows = session.scalars(select(Report).where(
        (Report.id == root_id) | (Report.duplicate_of_id == root_id)).order_by(Report.submitted_at))
    return [r for r in rows if r.id != report.id]
