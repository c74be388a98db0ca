"""The audit log: who did what, when, with the state before and after. Every staff action writes one row.

Other features call `audit(...)` in the same transaction as the change it records, so an action and
its audit row are committed (or rolled back) together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import AuditEntry


def audit(session: Session, actor: str, action: str, target: str | None = None,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None, *,
          now: dt.datetime, ip: str | None = None, note: str | None = None) -> AuditEntry:
    """Record one staff action. `before`/`after` are small JSON-able dicts of what changed."""
    entry = AuditEntry(at=now, actor=actor[:64], action=action, target=target[:191] if target else None,
                       before=before, after=after, ip=ip, note=note)
    session.add(entry)
    session.flush()
    return entry


@dataclasses.dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    target: str = ""
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive


def entries(session: Session, where: AuditFilter, limit: int = 100, offset: int = 0) -> tuple[list[AuditEntry], int]:
    """The matching entries, newest first, and how many match in all."""
    query = select(AuditEntry)
    if where.actor:
        query = query.where(AuditEntry.actor == where.actor)
    if where.action:
        query = query.where(AuditEntry.action == where.action)
    if where.target:
        query = query.where(AuditEntry.target.contains(where.target, autoescape=True))
    if where.since:
        query = query.where(AuditEntry.at >= where.since)
    if where.until:
        query = query.where(AuditEntry.at < where.until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def known_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def known_actors(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)))
