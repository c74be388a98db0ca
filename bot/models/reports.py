"""Hazard reports (隐患举报): drafts, reports, their history, evidence, and the identity-reveal audit.

The reporter's openid, name and phone are never stored in clear: `*_enc` columns hold AES-GCM
ciphertext and `owner` a keyed HMAC of the openid (bot/services/reports/identity.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class ReportStatus:
    SUBMITTED = "submitted"    # 已提交
    ACCEPTED = "accepted"      # 已受理
    REJECTED = "rejected"      # 不予受理 (reason)
    VERIFYING = "verifying"    # 核查中
    RECTIFIED = "rectified"    # 已整改
    UNFOUNDED = "unfounded"    # 情况不属实 (reason)
    CLOSED = "closed"          # 已办结


class ReportDraft(Base):
    """A report being written: in the DB from the first step, so losing the store loses nothing."""

    __tablename__ = "report_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The report made from this draft carries the same key: a draft becomes at most one report.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    owner: Mapped[str] = mapped_column(String(64), unique=True)  # one draft per citizen
    step: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    description_prefilled: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    location_given: Mapped[bool] = mapped_column(Boolean, default=False)  # answered (maybe 跳过)
    township: Mapped[str | None] = mapped_column(String(32))
    township_source: Mapped[str | None] = mapped_column(String(16))
    photos_done: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool | None] = mapped_column(Boolean)
    name_enc: Mapped[str | None] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(20), unique=True)  # YH20210601-7KQ2MX
    draft_key: Mapped[str] = mapped_column(String(32), unique=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    openid_enc: Mapped[str | None] = mapped_column(Text)
    name_enc: Mapped[str | None] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    contact_erased_at: Mapped[dt.datetime | None]
    query_code_hash: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32), index=True)
    department: Mapped[str] = mapped_column(String(64))  # who handles it, as the content said then
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    township: Mapped[str | None] = mapped_column(String(32), index=True)
    township_source: Mapped[str | None] = mapped_column(String(16))  # location | text | staff
    status: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[dt.datetime] = mapped_column(index=True)
    accepted_at: Mapped[dt.datetime | None]
    verified_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    # The deadline of the current stage (accept, verify, feedback); None once final.
    due_at: Mapped[dt.datetime | None]
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    reward_eligible: Mapped[bool | None] = mapped_column(Boolean)
    reward_amount: Mapped[int | None] = mapped_column(Integer)  # yuan
    reward_claim_by: Mapped[dt.date | None] = mapped_column(Date)


class ReportEvent(Base):
    """Every change to a report: status, reply, internal note, assignment, reward, duplicate link."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # status | reply | note | assign | reward | duplicate
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean)  # shown to the reporter


class PhotoStatus:
    PENDING = "pending"    # MediaId known, file not yet fetched (retried)
    STORED = "stored"
    EXPIRED = "expired"    # WeChat dropped the media (3 days) before we got it
    FAILED = "failed"      # WeChat says the media id is invalid


class ReportPhoto(Base):
    __tablename__ = "report_photos"
    __table_args__ = (Index("ix_report_photos_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_key: Mapped[str] = mapped_column(String(96), unique=True)  # one row per WeChat message
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("report_drafts.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # image | video | voice
    media_id: Mapped[str] = mapped_column(String(255))
    pic_url: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)  # relative to [reports] photo_dir
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    stored_at: Mapped[dt.datetime | None]


class ReportAudit(Base):
    """Who revealed a reporter's identity or exported it, and when (and who was refused)."""

    __tablename__ = "report_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    ticket: Mapped[str | None] = mapped_column(String(20), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
