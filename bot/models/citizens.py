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
    # The 48-hour customer-service window opens on the citizen's last message or action.
    last_interaction_at: Mapped[dt.datetime | None]
    subscribe_scene: Mapped[str | None] = mapped_column(String(64))
    township: Mapped[str | None] = mapped_column(String(32))

    @property
    def is_following(self) -> bool:
        # Followers from before the bot existed never sent us a subscribe event.
        return self.unsubscribed_at is None
