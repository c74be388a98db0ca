"""What staff do with reports, for the CLI now and the console later.

Staff identity is `actor` (a name) and `role` (admin | reviewer | editor). Reviewers and admins
handle reports; only an admin sees who reported, and every reveal (and every refusal) is audited in
`report_audit`. Exports leave the reporter's identity out unless an admin asks for it (audited).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Sequence

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import ReportsConfig
from bot.models.reports import Report, ReportAudit, ReportEvent, ReportPhoto, ReportStatus
from bot.services.reports import deadlines, duplicates, lifecycle
from bot.services.reports.identity import Identity, IdentityVault, reveal
from bot.services.townships import Townships

HANDLERS = frozenset({"admin", "reviewer"})
ADMIN = "admin"
REWARDABLE = frozenset({ReportStatus.RECTIFIED, ReportStatus.CLOSED})

REPLY_NOTICE = "【举报回复】关于您的举报 {ticket}：{text}\n发送 查询 {ticket} 可查看详情。"
REWARD_NOTICE = ("【举报奖励】您的举报 {ticket} 经核查符合奖励条件，奖励 {amount} 元。请于 {claim_by} 前，"
                 "凭本人有效身份证件、举报编号和查询码到县应急管理局领取（也可提供本人银行账户）；"
                 "逾期未领取视为放弃。")


class PermissionDenied(PermissionError):
    """The role may not do this."""


class NotFound(LookupError):
    """No report with this ticket."""


@dataclasses.dataclass(frozen=True)
class ReportFilter:
    status: str | None = None
    category: str | None = None
    township: str | None = None
    overdue: bool = False
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive


@dataclasses.dataclass(frozen=True)
class ReportDetail:
    report: Report
    events: list[ReportEvent]
    photos: list[ReportPhoto]
    linked: list[Report]  # possible duplicates, both ways
    overdue: bool


def _require(role: str, allowed: frozenset[str], what: str) -> None:
    if role not in allowed:
        raise PermissionDenied(f"role {role!r} may not {what}")


def _audit(session: Session, *, actor: str, role: str, action: str, now: dt.datetime, ticket: str | None = None,
           detail: str | None = None) -> None:
    session.add(ReportAudit(at=now, actor=actor, role=role, action=action, ticket=ticket, detail=detail))
    session.flush()


def get(session: Session, ticket: str) -> Report:
    report = session.scalar(select(Report).where(Report.ticket == ticket.strip().upper()))
    if report is None:
        raise NotFound(ticket)
    return report


def list_reports(session: Session, flt: ReportFilter, now: dt.datetime, limit: int = 200,
                 offset: int = 0) -> list[Report]:
    query = select(Report)
    if flt.status:
        query = query.where(Report.status == flt.status)
    if flt.category:
        query = query.where(Report.category == flt.category)
    if flt.township:
        query = query.where(Report.township == flt.township)
    if flt.overdue:
        query = query.where(Report.status.not_in(deadlines.FINAL), Report.due_at.is_not(None), Report.due_at < now)
    if flt.since:
        query = query.where(Report.submitted_at >= _day_start(flt.since, now))
    if flt.until:
        query = query.where(Report.submitted_at < _day_start(flt.until + dt.timedelta(days=1), now))
    query = query.order_by(Report.submitted_at.desc(), Report.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def _day_start(day: dt.date, now: dt.datetime) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)


def detail(session: Session, ticket: str, now: dt.datetime) -> ReportDetail:
    report = get(session, ticket)
    events = list(session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                                  .order_by(ReportEvent.at, ReportEvent.id)))
    photos = list(session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id)
                                  .order_by(ReportPhoto.id)))
    return ReportDetail(report, events, photos, duplicates.linked(session, report), deadlines.is_overdue(report, now))


def change_status(session: Session, vault: IdentityVault, ticket: str, to_status: str, *, actor: str, role: str,
                  now: dt.datetime, settings: ReportsConfig, note: str = "") -> ReportEvent:
    _require(role, HANDLERS, "change a report's status")
    return lifecycle.change_status(session, vault, get(session, ticket), to_status, actor=actor, now=now,
                                   settings=settings, note=note)


def assign_township(session: Session, ticket: str, township_id: str, *, actor: str, role: str, now: dt.datetime,
                    townships: Townships) -> ReportEvent:
    _require(role, HANDLERS, "assign a report")
    township = townships.get(township_id)
    if township is None:
        raise ValueError(f"no township {township_id!r}")
    report = get(session, ticket)
    previous = townships.get(report.township) if report.township else None  # by name: staff read the note
    was = previous.name if previous else "已删除的乡镇" if report.township else "未定"
    report.township, report.township_source = township.id, "staff"
    return lifecycle.record(session, report, kind="assign", actor=actor, now=now, public=False,
                            note=f"乡镇：{was} → {township.name}")


def add_note(session: Session, ticket: str, text: str, *, actor: str, role: str, now: dt.datetime) -> ReportEvent:
    """An internal note; the reporter never sees it."""
    _require(role, HANDLERS, "annotate a report")
    if not text.strip():
        raise ValueError("empty note")
    return lifecycle.record(session, get(session, ticket), kind="note", actor=actor, now=now, public=False,
                            note=text.strip())


def reply_to_reporter(session: Session, vault: IdentityVault, ticket: str, text: str, *, actor: str, role: str,
                      now: dt.datetime) -> ReportEvent:
    """A reply shown under 查询 and sent to the reporter through the outbox."""
    _require(role, HANDLERS, "reply to a reporter")
    if not text.strip():
        raise ValueError("empty reply")
    report = get(session, ticket)
    event = lifecycle.record(session, report, kind="reply", actor=actor, now=now, public=True, note=text.strip())
    lifecycle.notify(session, vault, report, event, REPLY_NOTICE.format(ticket=report.ticket, text=text.strip()), now)
    return event


def mark_reward(session: Session, vault: IdentityVault, ticket: str, *, eligible: bool, amount: int | None,
                actor: str, role: str, now: dt.datetime, settings: ReportsConfig, note: str = "") -> ReportEvent:
    """Record the reward decision; an eligible reporter is told the amount and the claim deadline."""
    _require(role, HANDLERS, "decide a reward")
    report = get(session, ticket)
    if report.status not in REWARDABLE:
        raise ValueError("a reward is decided after verification (已整改 or 已办结)")
    if eligible and (amount is None or amount <= 0):
        raise ValueError("an eligible reward needs a positive amount")
    report.reward_eligible = eligible
    report.reward_amount = amount if eligible else None
    report.reward_claim_by = (now + dt.timedelta(days=settings.reward_claim_days)).date() if eligible else None
    text = f"符合奖励条件，{amount} 元，领取期限 {report.reward_claim_by}" if eligible else "不符合奖励条件"
    event = lifecycle.record(session, report, kind="reward", actor=actor, now=now, public=eligible,
                             note=text + (f"（{note.strip()}）" if note.strip() else ""))
    if eligible:
        lifecycle.notify(session, vault, report, event, REWARD_NOTICE.format(
            ticket=report.ticket, amount=amount, claim_by=lifecycle.cn_date(report.reward_claim_by)), now)
    return event


def reveal_identity(session: Session, vault: IdentityVault, ticket: str, *, actor: str, role: str, reason: str,
                    now: dt.datetime) -> Identity:
    """Admin only; audited, and a refusal is audited too. The caller commits."""
    report = get(session, ticket)
    if role != ADMIN:
        _audit(session, actor=actor, role=role, action="reveal_identity_denied", now=now, ticket=report.ticket,
               detail=reason)
        raise PermissionDenied("only an admin may see who reported")
    if not reason.strip():
        raise ValueError("a reveal needs a reason")
    _audit(session, actor=actor, role=role, action="reveal_identity", now=now, ticket=report.ticket,
           detail=reason.strip())
    return reveal(vault, report)


def audit_log(session: Session, ticket: str | None = None) -> list[ReportAudit]:
    query = select(ReportAudit).order_by(ReportAudit.id)
    if ticket:
        query = query.where(ReportAudit.ticket == ticket)
    return list(session.scalars(query))


# --- export -------------------------------------------------------------------------------------

COLUMNS = ["举报编号", "提交时间", "类别", "负责部门", "状态", "乡镇", "地址", "纬度", "经度", "描述", "照片数",
           "可能重复", "截止时间", "是否超期", "奖励", "奖励金额", "领取期限"]
IDENTITY_COLUMNS = ["是否匿名", "姓名", "手机号"]


def export_rows(session: Session, vault: IdentityVault, flt: ReportFilter, *, actor: str, role: str,
                now: dt.datetime, include_identity: bool = False, categories: object = None,
                townships: Townships | None = None) -> tuple[list[str], list[list[object]]]:
    """The ledger (台账) as header + rows. Identity only for an admin who asks; that is audited."""
    if include_identity:
        if role != ADMIN:
            _audit(session, actor=actor, role=role, action="export_identity_denied", now=now)
            raise PermissionDenied("only an admin may export reporters' identities")
    reports = list_reports(session, flt, now, limit=100_000)
    if include_identity:
        _audit(session, actor=actor, role=role, action="export_identity", now=now,
               detail=f"{len(reports)} reports; filter {dataclasses.asdict(flt)}")
    originals = {r.id: r.ticket for r in session.scalars(select(Report).where(
        Report.id.in_({r.duplicate_of_id for r in reports if r.duplicate_of_id})))}
    photo_counts: dict[int, int] = {}
    for report_id in session.scalars(select(ReportPhoto.report_id).where(
            ReportPhoto.report_id.in_([r.id for r in reports]))):
        photo_counts[report_id] = photo_counts.get(report_id, 0) + 1
    header = COLUMNS + (IDENTITY_COLUMNS if include_identity else [])
    rows = []
    for r in reports:
        category = categories.get(r.category) if categories is not None else None  # type: ignore[attr-defined]
        township = townships.get(r.township) if townships is not None and r.township else None
        row: list[object] = [
            r.ticket, r.submitted_at.strftime("%Y-%m-%d %H:%M"), category.name if category else r.category,
            r.department, lifecycle.label(r.status), township.name if township else (r.township or ""),
            r.address or "", r.latitude if r.latitude is not None else "", r.longitude if r.longitude is not None else "",
            r.description, photo_counts.get(r.id, 0), originals.get(r.duplicate_of_id, "") if r.duplicate_of_id else "",
            r.due_at.strftime("%Y-%m-%d %H:%M") if r.due_at else "", "是" if deadlines.is_overdue(r, now) else "否",
            {True: "符合", False: "不符合", None: ""}[r.reward_eligible], r.reward_amount or "",
            r.reward_claim_by.isoformat() if r.reward_claim_by else "",
        ]
        if include_identity:
            who = reveal(vault, r)
            row += ["是" if r.anonymous else "否", who.name or "", who.phone or ""]
        rows.append(row)
    return header, rows


def _csv_safe(value: object) -> object:
    # A cell starting with = + - @ is a formula to Excel; citizen text must never run as one.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_csv_safe(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel then reads it as UTF-8


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "举报台账"
    sheet.append(list(header))
    for row in rows:
        sheet.append([_csv_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
