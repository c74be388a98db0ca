"""Deadlines of each stage (domain.md §1.3), stored on the report as `due_at` so that the overdue
list is one indexed query, and a change of config applies from the next stage on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import ReportsConfig
from bot.models.reports import Report, ReportStatus

FINAL = (ReportStatus.CLOSED, ReportStatus.REJECTED)


def due_for(report: Report, settings: ReportsConfig) -> dt.datetime | None:
    """The deadline of the report's current stage, or None once it is final."""
    days = dt.timedelta
    status = report.status
    if status == ReportStatus.SUBMITTED:
        return report.submitted_at + days(days=settings.accept_days)
    if status in (ReportStatus.ACCEPTED, ReportStatus.VERIFYING) and report.accepted_at is not None:
        return report.accepted_at + days(days=settings.verify_days)
    if status in (ReportStatus.RECTIFIED, ReportStatus.UNFOUNDED) and report.verified_at is not None:
        return report.verified_at + days(days=settings.feedback_days)
    return None


def is_overdue(report: Report, now: dt.datetime) -> bool:
    return report.status not in FINAL and report.due_at is not None and report.due_at < now


def overdue_reports(session: Session, now: dt.datetime) -> list[Report]:
    """Reports past the deadline of their stage, most overdue first (the daily staff list)."""
    return list(session.scalars(select(Report).where(
        Report.status.not_in(FINAL), Report.due_at.is_not(None), Report.due_at < now).order_by(Report.due_at)))
