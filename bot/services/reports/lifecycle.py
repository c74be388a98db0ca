"""Status lifecycle: 已提交 → 已受理 / 不予受理 → 核查中 → 已整改 / 情况不属实 → 已办结.

Every change is a ReportEvent (who, when, note), and the reporter hears of it through the outbox.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.config import ReportsConfig
from bot.models.reports import Report, ReportEvent, ReportStatus
from bot.services import outbox
from bot.services.reports import deadlines
from bot.services.reports.identity import IdentityVault, reporter_openid

S = ReportStatus
LABELS = {
    S.SUBMITTED: "已提交", S.ACCEPTED: "已受理", S.REJECTED: "不予受理", S.VERIFYING: "核查中",
    S.RECTIFIED: "已整改", S.UNFOUNDED: "情况不属实", S.CLOSED: "已办结",
}
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.VERIFYING}),
    S.VERIFYING: frozenset({S.RECTIFIED, S.UNFOUNDED}),
    S.RECTIFIED: frozenset({S.CLOSED}),
    S.UNFOUNDED: frozenset({S.CLOSED}),
    S.REJECTED: frozenset(),
    S.CLOSED: frozenset(),
}
NEEDS_REASON = frozenset({S.REJECTED, S.UNFOUNDED})
# A report event's kind as staff read it (console and `reports show`).
EVENT_KINDS = {"status": "状态", "reply": "回复举报人", "note": "内部备注", "assign": "分派", "reward": "奖励",
               "duplicate": "疑似重复"}

NOTICE = "【举报进度】您的举报 {ticket} 状态更新为：{label}。{detail}\n发送 查询 {ticket} 可查看详情。"
DETAILS = {
    S.ACCEPTED: "我们将在 {due} 前完成核查。",
    S.REJECTED: "原因：{note}",
    S.VERIFYING: "工作人员正在现场核查。",
    S.RECTIFIED: "隐患已督促整改。{note}",
    S.UNFOUNDED: "说明：{note}",
    S.CLOSED: "本件已办结，感谢您为安全生产出力！{note}",
}


def with_note(detail: str, note: str) -> str:
    """The status's sentence, with the staff's note to the reporter where it has no place for one
    (受理, 核查中): what staff write under 说明（举报人可见） reaches the reporter in the notice, not only under 查询."""
    return detail if "{note}" in detail or not note else detail + "说明：{note}"


class TransitionError(ValueError):
    """A status change the lifecycle does not allow (the message says why, in Chinese)."""


def cn_date(moment: dt.date | dt.datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日"


def label(status: str) -> str:
    return LABELS.get(status, status)


def record(session: Session, report: Report, *, kind: str, actor: str, now: dt.datetime, note: str | None = None,
           public: bool, from_status: str | None = None, to_status: str | None = None) -> ReportEvent:
    event = ReportEvent(report_id=report.id, at=now, actor=actor, kind=kind, note=note or None, public=public,
                        from_status=from_status, to_status=to_status)
    session.add(event)
    session.flush()
    return event


def notify(session: Session, vault: IdentityVault, report: Report, event: ReportEvent, text: str,
           now: dt.datetime, summary: str = "") -> bool:
    """Tell the reporter through the outbox; False when no contact is left (erased). `summary` is
    what a template's note keyword says (the text itself by default)."""
    openid = reporter_openid(vault, report)
    if openid is None:
        return False
    payload = outbox.notice_payload(text, ticket=report.ticket, status=label(report.status),
                                    note=summary or event.note or text, time=outbox.cn_time(now))
    outbox.enqueue(session, key=notice_key(vault, event.id), purpose=NOTICE_PURPOSE,
                   openid=openid, payload=payload, now=now)
    return True


NOTICE_PURPOSE = "report_status"
NOTICE_TAG = "outbox/report-notice"  # the vault's purpose for notice keys


def notice_key(vault: IdentityVault, event_id: int) -> str:
    """The outbox key of the notice about one report event: a keyed hash of the event, so that the
    outbox row (kept beside the recipient's openid until it is forgotten) names no ticket and, without
    the identity key, no event either."""
    return "report:" + vault.keyed_tag(NOTICE_TAG, str(event_id))[:32]


def legacy_notice_key(event_id: int) -> str:
    """What migration 0015 made of a notice key from before (`report:<ticket>:<kind>:<event id>`)."""
    return f"report-legacy:{event_id}"


def change_status(session: Session, vault: IdentityVault, report: Report, to_status: str, *, actor: str,
                  now: dt.datetime, settings: ReportsConfig, note: str = "") -> ReportEvent:
    note = note.strip()
    if to_status not in LABELS:
        raise TransitionError(f"没有这个状态：{to_status}")
    if to_status not in TRANSITIONS[report.status]:
        allowed = "、".join(label(s) for s in sorted(TRANSITIONS[report.status])) or "无（已是最终状态）"
        raise TransitionError(f"“{label(report.status)}”不能改为“{label(to_status)}”；可改为：{allowed}")
    if to_status in NEEDS_REASON and not note:
        raise TransitionError(f"改为“{label(to_status)}”必须写明理由")
    from_status = report.status
    report.status = to_status
    if to_status == S.ACCEPTED:
        report.accepted_at = now
    elif to_status in (S.RECTIFIED, S.UNFOUNDED):
        report.verified_at = now
    if to_status in deadlines.FINAL:
        report.closed_at = now
    report.due_at = deadlines.due_for(report, settings)
    event = record(session, report, kind="status", actor=actor, now=now, note=note, public=True,
                   from_status=from_status, to_status=to_status)
    due = cn_date(report.due_at) if report.due_at else ""
    detail = with_note(DETAILS.get(to_status, ""), note).format(note=note, due=due).strip()
    notify(session, vault, report, event, NOTICE.format(ticket=report.ticket, label=label(to_status), detail=detail),
           now, summary=detail or label(to_status))
    return event
