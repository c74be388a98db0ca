"""Pauses staff set on scheduled work: a job of bot/background/jobs/__init__.py ("job:<id>") or a push-plan item ("plan:<id>").

A row means paused; deleting it resumes. The scheduler's `JobRunner` and the push plan's `enqueue_due`
read this table, so a pause holds in whichever process leads, and survives restarts and store loss.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class JobPause(Base):
    __tablename__ = "job_pauses"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    paused_by: Mapped[str] = mapped_column(String(64))
    paused_at: Mapped[dt.datetime]
    reason: Mapped[str | None] = mapped_column(Text)
