"""Citizens' consents to 订阅通知 (subscribe notices), as WeChat's subscribe-message events report them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class ConsentStatus:
    ACCEPT = "accept"      # the citizen accepted this template in a popup (or settings say so)
    REJECT = "reject"      # the citizen declined it in a popup, or switched it off in settings
    REFUSED = "refused"    # WeChat answered 43101 to a send: whatever we recorded no longer holds


class SubscribeConsent(Base):
    __tablename__ = "subscribe_consents"
    __table_args__ = (UniqueConstraint("citizen", "template_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A keyed hash of the openid (bot/services/subscribe_consents.py: citizen_key), never the openid:
    # the table says who agreed to what, and must not say it to someone without the identity key.
    citizen: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    # One-time consents not yet used: each accept in a popup allows one send.
    sends_left: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime]
