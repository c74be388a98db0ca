"""Enqueue pushes. Features call `enqueue`; the sender (bot/background/sender.py) delivers what is due.

A row is written in the caller's transaction, so a push exists exactly when the change that caused
it does. The key makes enqueueing idempotent: the same logical push is one row, however often asked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.models.outbox import Delivery, DeliveryStatus


def text_payload(content: str) -> dict[str, Any]:
    return {"type": "text", "content": content}


def notice_payload(content: str, **fields: str) -> dict[str, Any]:
    """A service notice: its text (customer-service message) and its fields for a template or
    订阅通知 outside the window (bot/services/notice_templates.py)."""
    return {"type": "text", "content": content, "notice": {k: v for k, v in fields.items() if v}}


def cn_time(moment: dt.datetime) -> str:
    """A time as the template keyword types time/date take it: 2021年6月1日 10:00."""
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def news_payload(title: str, description: str = "", url: str = "", image: str = "") -> dict[str, Any]:
    return {"type": "news", "articles": [{"title": title, "description": description, "url": url, "image": image}]}


def enqueue(session: Session, *, key: str, purpose: str, payload: dict[str, Any], now: dt.datetime,
            openid: str | None = None, audience: dict[str, Any] | None = None,
            not_before: dt.datetime | None = None) -> Delivery:
    """Add a push (to one citizen, or to an audience by mass send) unless one with `key` exists."""
    if (openid is None) == (audience is None):
        raise ValueError("a push goes to exactly one of: openid, audience")
    existing = session.scalar(select(Delivery).where(Delivery.key == key))
    if existing is not None:
        return existing
    delivery = Delivery(key=key, purpose=purpose, payload=payload, openid=openid, audience=audience,
                        status=DeliveryStatus.PENDING, attempts=0, created_at=now, not_before=not_before or now)
    session.add(delivery)
    session.flush()
    return delivery


def deliveries_for(session: Session, openid: str) -> list[Delivery]:
    return list(session.scalars(select(Delivery).where(Delivery.openid == openid).order_by(Delivery.id)))


def status_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status)).all())


def uncertain(session: Session) -> list[Delivery]:
    return list(session.scalars(select(Delivery).where(Delivery.status == DeliveryStatus.UNCERTAIN)
                                .order_by(Delivery.id)))


def requeue(session: Session, ids: list[int] | None, now: dt.datetime) -> int:
    """Send uncertain rows again (staff decided they did not arrive). Returns how many."""
    where = [Delivery.status == DeliveryStatus.UNCERTAIN]
    if ids:
        where.append(Delivery.id.in_(ids))
    return session.execute(update(Delivery).where(*where).values(
        status=DeliveryStatus.PENDING, not_before=now, last_error="requeued by staff")).rowcount
