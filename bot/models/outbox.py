"""The outbox: every push is a row before anything is sent (DESIGN.md, Outgoing)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class DeliveryStatus:
    PENDING = "pending"          # waiting to be sent (or retried after not_before)
    SENDING = "sending"          # claimed by a sender until lease_until
    SENT = "sent"
    FAILED = "failed"            # gave up: a permanent error, or attempts exhausted
    UNDELIVERABLE = "undeliverable"  # no channel reaches the recipient (reason in last_error)
    # The sender stopped while this was at WeChat: it may or may not have arrived. Never resent
    # automatically (that could send it twice); staff see it and may requeue it.
    UNCERTAIN = "uncertain"
    CANCELLED = "cancelled"

    FINAL = (SENT, FAILED, UNDELIVERABLE, UNCERTAIN, CANCELLED)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency: the same logical push (e.g. "report:YH...:status:3") is enqueued once, ever.
    key: Mapped[str] = mapped_column(String(191), unique=True)
    # One recipient (customer-service / template / subscribe message) ...
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    # ... or an audience for a mass send: {"all": true} | {"tag_id": 101} | {"township": "城关镇"}.
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What it is about, for people: "report_status", "quiz_prize", "event_reminder", "broadcast", ...
    purpose: Mapped[str] = mapped_column(String(32))
    # The message: {"type": "text", "content": ...} | {"type": "news", "articles": [...]} | ...
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    channel: Mapped[str | None] = mapped_column(String(16))  # custom | template | subscribe | mass
    attempts: Mapped[int] = mapped_column(default=0)
    last_errcode: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    not_before: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    # Which sender holds the lease: results are written only by the holder (compare-and-set).
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[dt.datetime | None]
    # WeChat's id for a mass send or template message, to match MASSSENDJOBFINISH / TEMPLATESENDJOBFINISH.
    wechat_msg_id: Mapped[str | None] = mapped_column(String(64), index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
