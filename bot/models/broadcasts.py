"""Staff broadcasts, WeChat tags per township, and the scheduler's job table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Float, LargeBinary, String, Table, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class BroadcastStatus:
    DRAFT = "draft"            # composed; previews may go out
    SCHEDULED = "scheduled"    # queued in the outbox for a later moment
    QUEUED = "queued"          # in the outbox, due now
    CANCELLED = "cancelled"
    SENT = "sent"              # WeChat's MASSSENDJOBFINISH said "send success"
    FAILED = "failed"          # WeChat's MASSSENDJOBFINISH said "send fail" / "err(...)": nobody got it


class Broadcast(Base):
    """A push staff compose: text or news, to everyone, a tag or township, or the recently active."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {"all": true} | {"township": "chengguan"} | {"tag_id": 101} | {"active": true} (48-hour window)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.DRAFT)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    send_at: Mapped[dt.datetime | None]
    queued_at: Mapped[dt.datetime | None]
    recipients: Mapped[int | None]  # deliveries queued (1 for a mass send)


class WeChatTag(Base):
    """The WeChat user tag that stands for a township, created on demand."""

    __tablename__ = "wechat_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    township: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(30))
    tag_id: Mapped[int]
    created_at: Mapped[dt.datetime]


# APScheduler's SQLAlchemyJobStore table, declared here so that Alembic creates it and the
# migration check sees it; the job store itself reflects the same definition.
scheduler_jobs = Table(
    "apscheduler_jobs", Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
