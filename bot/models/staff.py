"""Staff of the bureau who use the console, and the audit log of everything they do."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # werkzeug's "scrypt:N:r:p$salt$hash"; never the password itself.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # admin | reviewer | editor
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]
    # Part of the login session's id: raising it (new password, disabled) ends every open session.
    session_epoch: Mapped[int] = mapped_column(default=0)
    # Set while the password is one somebody else handed out (generated); the console asks for a new one first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    real_name: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # The member's own WeChat account (bound by sending 绑定 <code>): where broadcast previews go.
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    wechat_bound_at: Mapped[dt.datetime | None]
    bind_code: Mapped[str | None] = mapped_column(String(6), unique=True)
    bind_code_expires_at: Mapped[dt.datetime | None]

    @property
    def display_name(self) -> str:
        """How staff pages name the member: 姓名（用户名）, or the username alone."""
        return f"{self.real_name}（{self.username}）" if self.real_name else self.username


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_actor_at", "actor", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    # The username (kept even if the account is later renamed or disabled), or "cli" / "-".
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(191))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
