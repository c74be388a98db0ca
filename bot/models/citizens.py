"""Followers of the account, as WeChat shows them to us."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    first_seen_at: Mapped[dt.datetime]
    subscribed_at: Mapped[dt.datetime | None]
    unsubscribed_at: Mapped[dt.datetime | None]
    # The citizen's last message (text, image, voice, video, location, link): it allows 5
    # customer-service messages for 48 hours (bot/services/service_window.py).
    last_interaction_at: Mapped[dt.datetime | None]
    # Their last menu click (click / scancode menus), follow or QR scan, and which: 3 in 1 minute.
    window_event_at: Mapped[dt.datetime | None]
    window_event_kind: Mapped[str | None] = mapped_column(String(16))
    subscribe_scene: Mapped[str | None] = mapped_column(String(64))
    township: Mapped[str | None] = mapped_column(String(32))

    @property
    def is_following(self) -> bool:
        # Followers from before the bot existed never sent us a subscribe event.
        return self.unsubscribed_at is None
