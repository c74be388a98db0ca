"""Staff edits of the event calendar and the push plan, made in the console.

The files in content/ stay the seed; each edit is one new row (never updated), so the table is the
history and its newest id is the content's revision: a process compares it with the revision it
built its content from and rebuilds when it moved (bot/services/content_edits.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class ContentEdit(Base):
    __tablename__ = "content_edits"
    __table_args__ = (Index("ix_content_edits_item", "part", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # the revision this edit makes
    part: Mapped[str] = mapped_column(String(16))      # "events" | "pushes"
    item_id: Mapped[str] = mapped_column(String(64))
    # The whole [[event]] / [[push]] table as the file would hold it (dates as ISO text); None when
    # the item was cancelled (SQL NULL, not JSON null, so that queries can tell).
    entry: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
