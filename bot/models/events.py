"""Citizens' reminders for campaign events (the events themselves live in content/events.toml)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class ReminderStatus:
    WAITING = "waiting"      # not due yet
    QUEUED = "queued"        # put into the outbox (exactly once)
    MISSED = "missed"        # the event started before the reminder could go out
    WITHDRAWN = "withdrawn"  # the event was taken out of content/events.toml


class EventReminder(Base):
    __tablename__ = "event_reminders"
    # One reminder per citizen and event, however often they ask (or WeChat retries).
    __table_args__ = (UniqueConstraint("openid", "event_id"),
                      Index("ix_event_reminders_due", "status", "remind_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))  # the unique (openid, event_id) index serves lookups
    event_id: Mapped[str] = mapped_column(String(64))
    # A copy of the event's title, place and start, refreshed from content by the reminder job,
    # so the push still reads right if staff move the event.
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    event_start: Mapped[dt.datetime]
    remind_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.WAITING)
    created_at: Mapped[dt.datetime]
    queued_at: Mapped[dt.datetime | None]
