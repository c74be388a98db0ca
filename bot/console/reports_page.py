"""Hazard reports in the console: dashboard panels, the filtered list, a report's page, its actions, exports.

Every change goes through bot/services/reports/triage.py (which keeps the report's history, the
reporter's notices in the outbox and the identity audit) and is also written to the console's audit
log with before/after. The reporter's identity is never on a page unless an admin reveals it with a
reason; the revealed identity is shown once, in that response, and stored nowhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console import current_bot, db, now
from bot.console.audit import ACTION_NAMES, record
from bot.console.charts import bar_chart
from bot.console.dashboard import Figure, Panel, Table
from bot.console.moments import filter_day
from bot.console.registry import page, panel, route
from bot.models.reports import PhotoStatus, Report, ReportPhoto
from bot.runtime import Bot
from bot.services import notices
from bot.services.reports import deadlines, evidence, lifecycle
from bot.services.reports import triage as reports
from bot.services.reports.evidence import PHOTO_STATUS, photo_dir
from bot.services.reports.lifecycle import EVENT_KINDS

PAGE_SIZE = 30
NO_TOWNSHIP = "none"

ACTION_NAMES.update({
    "report.status": "举报改状态", "report.assign": "举报分派乡镇", "report.note": "举报内部备注",
    "report.reply": "回复举报人", "report.reward": "举报奖励", "report.reveal": "查看举报人身份",
    "report.reveal_denied": "查看举报人身份被拒", "report.export": "导出举报", "report.export_identity": "导出举报（含身份）",
    "report.export_identity_denied": "导出举报（含身份）被拒",
})

# The buttons on a report's page: target status → (button, whether a reason is required).
STATUS_ACTIONS = {
    "accepted": "受理", "rejected": "不予受理", "verifying": "开始核查", "rectified": "已整改",
    "unfounded": "情况不属实", "closed": "办结",
}


# --- dashboard ------------------------------------------------------------------------------------

def _grouped(session: Session, column: Any) -> dict[Any, int]:
    return {key: int(n) for key, n in session.execute(select(column, func.count()).group_by(column)).all()}


@panel("reports", "隐患举报", action="view_reports", order=30)
def reports_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    by_status = _grouped(session, Report.status)
    overdue = session.scalar(select(func.count()).select_from(Report).where(
        Report.status.not_in(deadlines.FINAL), Report.due_at.is_not(None), Report.due_at < moment)) or 0
    statuses = list(lifecycle.LABELS) + sorted(set(by_status) - set(lifecycle.LABELS))
    items = [(lifecycle.label(s), by_status.get(s, 0)) for s in statuses]
    return Panel(
        summary=[("举报总数", Figure("reports.total", sum(by_status.values()))),
                 ("超期未办", Figure("reports.overdue", overdue)),
                 ("待受理", Figure("reports.waiting", by_status.get("submitted", 0)))],
        chart=bar_chart(items, "举报按状态"),
        table=Table(["状态", "件数"], [(label, [Figure(f"reports.status.{s}", n)])
                                      for s, (label, n) in zip(statuses, items, strict=True)], caption="按状态"),
        note="超期：当前阶段已过办理期限（受理、核查、反馈）且尚未办结或驳回。",
    )


@panel("reports_categories", "举报按类别", action="view_reports", order=31)
def reports_categories_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    by_category = _grouped(session, Report.category)
    categories = bot.content.report_categories
    known = [c.id for c in categories.items]
    ids = known + sorted(set(by_category) - set(known))
    items = [((categories.get(c).name if categories.get(c) else c), by_category.get(c, 0)) for c in ids]
    return Panel(chart=bar_chart(items, "举报按类别"),
                 table=Table(["类别", "件数"], [(name, [Figure(f"reports.category.{c}", n)])
                                              for c, (name, n) in zip(ids, items, strict=True)], collapsed=True,
                             caption="明细"))


@panel("reports_townships", "举报按乡镇", action="view_reports", order=32)
def reports_townships_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    by_township = _grouped(session, Report.township)
    towns = bot.content.townships
    rows = [(t.name, [Figure(f"reports.township.{t.id}", by_township.get(t.id, 0))]) for t in towns.items]
    rows += [(other, [Figure(f"reports.township.{other}", by_township[other])])
             for other in sorted(k for k in by_township if k is not None and towns.get(k) is None)]
    rows.append(("未定乡镇", [Figure(f"reports.township.{NO_TOWNSHIP}", by_township.get(None, 0))]))
    return Panel(table=Table(["乡镇", "件数"], rows),
                 note="乡镇按举报人发送的位置、填写的地址或工作人员的分派确定。")


# --- the list -------------------------------------------------------------------------------------

def current_filter(args: Any) -> reports.ReportFilter:
    status = args.get("status") or None
    return reports.ReportFilter(
        status=status if status in lifecycle.LABELS else None, category=args.get("category") or None,
        township=args.get("township") or None, overdue=args.get("overdue") == "1",
        since=filter_day(args.get("since"), "从"), until=filter_day(args.get("until"), "到"))


def filter_args(flt: reports.ReportFilter) -> dict[str, str]:
    """The filter as query arguments (for paging and export links)."""
    out = {"status": flt.status or "", "category": flt.category or "", "township": flt.township or "",
           "overdue": "1" if flt.overdue else "", "since": flt.since.isoformat() if flt.since else "",
           "until": flt.until.isoformat() if flt.until else ""}
    return {k: v for k, v in out.items() if v}


def _names() -> dict[str, Any]:
    content = current_bot().content
    return {"categories": content.report_categories, "townships": content.townships,
            "labels": lifecycle.LABELS}


@page("/reports", "隐患举报", action="view_reports", order=20)
def reports_list() -> str:
    flt = current_filter(request.args)
    page_no = max(1, request.args.get("page", 1, type=int) or 1)
    moment = now()
    size = current_app.config.get("CONSOLE_REPORTS_PAGE_SIZE", PAGE_SIZE)  # an app of its own may page shorter
    rows = reports.list_reports(db(), flt, moment, limit=size + 1, offset=(page_no - 1) * size)
    return render_template("console/reports.html", rows=rows[:size], more=len(rows) > size,
                           page_no=page_no, flt=flt, args=filter_args(flt), moment=moment,
                           overdue=lambda r: deadlines.is_overdue(r, moment), **_names())


# --- one report -----------------------------------------------------------------------------------

def _detail(ticket: str) -> reports.ReportDetail:
    try:
        return reports.detail(db(), ticket, now())
    except reports.NotFound:
        abort(404)


def render_detail(ticket: str, identity: Any = None, reveal_reason: str = "") -> str:
    found = _detail(ticket)
    allowed = sorted(lifecycle.TRANSITIONS.get(found.report.status, ()), key=list(STATUS_ACTIONS).index)
    sent = event_notices(found.report.ticket)
    unreachable = any(n["unreachable"] for n in sent.values())
    return render_template("console/report.html", d=found, r=found.report, identity=identity, notices=sent,
                           unreachable=unreachable, can_still_query=notices.CAN_STILL_QUERY.format(ticket=found.report.ticket),
                           reveal_reason=reveal_reason, allowed=allowed, status_actions=STATUS_ACTIONS,
                           needs_reason=lifecycle.NEEDS_REASON, photo_status=PHOTO_STATUS, event_kinds=EVENT_KINDS,
                           rewardable=found.report.status in reports.REWARDABLE, photo_error=evidence.error_text, **_names())

def event_notices(ticket: str) -> dict[int, dict[str, Any]]:
    """Each event's notice to the reporter: its state, why, and whether it cannot arrive."""
    session, moment, config = db(), now(), current_bot().config
    out = {}
    for event_id, delivery in notices.of_report(session, current_bot().vault, ticket).items():
        doomed = notices.forecast(session, config, delivery, moment)
        out[event_id] = {"status": delivery.status, "state": notices.state(delivery),
                         "reason": f"预计无法送达：{doomed}" if doomed else notices.reason(delivery),
                         "unreachable": doomed is not None or delivery.status in notices.UNDELIVERED}
    return out


def notice_flash(ticket: str, event: Any) -> tuple[str, str]:
    """What became of the notice the action just queued, as the flash after it says."""
    delivery = notices.of_report(db(), current_bot().vault, ticket).get(event.id) if event is not None else None
    still = notices.CAN_STILL_QUERY.format(ticket=ticket)
    if delivery is None:
        return "举报人的联系方式已清除，没有发送通知。" + still, "error"
    doomed = notices.forecast(db(), current_bot().config, delivery, now())
    if doomed:
        return f"给举报人的通知无法送达：{doomed}。" + still, "error"
    return "给举报人的通知待发送，送达情况见下方“办理记录”的“通知举报人”一栏。", "success"


@route("/reports/<ticket>", action="view_reports")
def report_detail(ticket: str) -> str:
    return render_detail(ticket)


@route("/reports/photos/<int:photo_id>", action="view_reports")
def report_photo(photo_id: int) -> Response:
    photo = db().get(ReportPhoto, photo_id)
    if photo is None or photo.status != PhotoStatus.STORED or not photo.path or photo.report_id is None:
        abort(404)
    # send_from_directory refuses a path that leaves the photo directory.
    response = send_from_directory(photo_dir(current_bot().config), photo.path, max_age=0)
    response.headers["Content-Disposition"] = "inline"
    return response


def _back(ticket: str) -> Response:
    return redirect(url_for("console.report_detail", ticket=ticket))


def _act(ticket: str, action: str, change: Any, success: str, notifies: Any = lambda event: True) -> Response:
    """Run a service call on the report, audit its before/after, commit; errors become a flash.
    When `notifies(event)`, the flash also says what became of the notice to the reporter."""
    session = db()
    try:
        report = reports.get(session, ticket)
    except reports.NotFound:
        abort(404)
    before = snapshot(report)
    try:
        event = change(session, report)
    except (ValueError, reports.PermissionDenied) as exc:
        session.rollback()
        flash(f"操作未执行：{error_text(exc)}", "error")
        return _back(report.ticket)
    record(action, report.ticket, before, snapshot(report), note=event.note if event is not None else None)
    session.commit()
    if event is not None and notifies(event):
        told, category = notice_flash(report.ticket, event)
        flash(f"{success}{told}", category)
    else:
        flash(success, "success")
    return _back(report.ticket)


def snapshot(report: Report) -> dict[str, Any]:
    return {"status": report.status, "township": report.township,
            "due_at": report.due_at.isoformat() if report.due_at else None,
            "reward_eligible": report.reward_eligible, "reward_amount": report.reward_amount}


ERRORS = {"empty note": "备注不能为空", "empty reply": "回复内容不能为空",
          "a reward is decided after verification (已整改 or 已办结)": "核查为“已整改”或“已办结”后才能认定奖励",
          "an eligible reward needs a positive amount": "符合奖励条件时须填写大于 0 的金额"}


def error_text(exc: Exception) -> str:
    text = str(exc)
    if text.startswith("no township"):
        return "请选择乡镇"
    return ERRORS.get(text, text)


def _settings() -> Any:
    return current_bot().config.reports


def _vault() -> Any:
    return current_bot().vault


@route("/reports/<ticket>/status", action="triage_reports", methods=["POST"])
def report_status(ticket: str) -> Response:
    to_status = request.form.get("to", "")
    note = request.form.get("note", "")

    def change(session: Session, report: Report) -> Any:
        return reports.change_status(session, _vault(), report.ticket, to_status, actor=current_user.username,
                                     role=current_user.role, now=now(), settings=_settings(), note=note)

    return _act(ticket, "report.status", change, f"已改为“{lifecycle.label(to_status)}”。")


@route("/reports/<ticket>/township", action="triage_reports", methods=["POST"])
def report_township(ticket: str) -> Response:
    def change(session: Session, report: Report) -> Any:
        return reports.assign_township(session, report.ticket, request.form.get("township", ""),
                                       actor=current_user.username, role=current_user.role, now=now(),
                                       townships=current_bot().content.townships)

    return _act(ticket, "report.assign", change, "已分派乡镇。", notifies=lambda event: False)


@route("/reports/<ticket>/note", action="triage_reports", methods=["POST"])
def report_note(ticket: str) -> Response:
    def change(session: Session, report: Report) -> Any:
        return reports.add_note(session, report.ticket, request.form.get("text", ""), actor=current_user.username,
                                role=current_user.role, now=now())

    return _act(ticket, "report.note", change, "已添加内部备注（举报人看不到）。", notifies=lambda event: False)


@route("/reports/<ticket>/reply", action="triage_reports", methods=["POST"])
def report_reply(ticket: str) -> Response:
    def change(session: Session, report: Report) -> Any:
        return reports.reply_to_reporter(session, _vault(), report.ticket, request.form.get("text", ""),
                                         actor=current_user.username, role=current_user.role, now=now())

    return _act(ticket, "report.reply", change, "回复已保存。")


MAX_REWARD_DIGITS = 7  # up to 9,999,999 yuan


@route("/reports/<ticket>/reward", action="triage_reports", methods=["POST"])
def report_reward(ticket: str) -> Response:
    eligible = request.form.get("eligible") == "1"
    amount_text = request.form.get("amount", "").strip()
    if eligible and not (amount_text.isdigit() and len(amount_text) <= MAX_REWARD_DIGITS):
        # Longer numbers overflow the database's integer column (a 500 on PostgreSQL).
        flash(f"操作未执行：符合奖励条件时须填写大于 0 的整数金额（元），最多 {MAX_REWARD_DIGITS} 位", "error")
        return _back(ticket)
    amount = int(amount_text) if eligible else None

    def change(session: Session, report: Report) -> Any:
        return reports.mark_reward(session, _vault(), report.ticket, eligible=eligible, amount=amount,
                                   actor=current_user.username, role=current_user.role, now=now(),
                                   settings=_settings(), note=request.form.get("note", ""))

    return _act(ticket, "report.reward", change, "奖励认定已保存。", notifies=lambda event: eligible)


NOTE_LIMIT = 500  # a refused caller's reason is kept in the audit, not an unbounded text


def _reveal_refused(ticket: str) -> None:
    """Someone without the right asked who reported: the identity audit and the console log both say so."""
    session = db()
    reason = request.form.get("reason", "").strip()[:NOTE_LIMIT]
    try:
        reports.reveal_identity(session, _vault(), ticket, actor=current_user.username, role=current_user.role,
                                reason=reason, now=now())
    except (reports.PermissionDenied, reports.NotFound):
        pass  # only roles the service refuses get here; it wrote report_audit (an unknown ticket has no report)
    record("report.reveal_denied", ticket, note=reason or None)
    session.commit()


@route("/reports/<ticket>/reveal", action="reveal_identity", methods=["POST"], on_refused=_reveal_refused)
def report_reveal(ticket: str) -> Response | str:
    session = db()
    found = _detail(ticket)
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash("查看举报人身份必须填写理由。", "error")
        return _back(found.report.ticket)
    identity = reports.reveal_identity(session, _vault(), found.report.ticket, actor=current_user.username,
                                       role=current_user.role, reason=reason, now=now())
    # The console log says who looked and why; never what they saw.
    record("report.reveal", found.report.ticket, note=reason)
    session.commit()
    return render_detail(found.report.ticket, identity=identity, reveal_reason=reason)


# --- export ---------------------------------------------------------------------------------------

FORMATS = {"csv": ("text/csv; charset=utf-8", reports.to_csv),
           "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", reports.to_xlsx)}


def _download(fmt: str, header: list[str], rows: list[list[object]], stem: str) -> Response:
    mimetype, render = FORMATS[fmt]
    response = Response(render(header, rows), mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={stem}-{now():%Y%m%d-%H%M}.{fmt}"
    return response


def _filter_note(flt: reports.ReportFilter) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in dataclasses.asdict(flt).items() if v}


@route("/reports/export", action="export_reports", methods=["POST"])
def reports_export() -> Response:
    """A POST with the CSRF token: an export writes an audit row, which a link (or a page that
    embeds one) must not be able to make a staff member's browser do."""
    fmt = request.form.get("format", "xlsx")
    if fmt not in FORMATS:
        abort(404)
    flt = current_filter(request.form)
    content = current_bot().content
    header, rows = reports.export_rows(db(), _vault(), flt, actor=current_user.username, role=current_user.role,
                                       now=now(), categories=content.report_categories, townships=content.townships)
    record("report.export", None, None, {"format": fmt, "rows": len(rows), "filter": _filter_note(flt)})
    db().commit()
    return _download(fmt, header, rows, "reports")


def _export_identity_refused() -> None:
    """Someone without the right asked for the ledger with identities: audited like the reveal."""
    session = db()
    flt = current_filter(request.form)
    try:
        reports.export_rows(session, _vault(), flt, actor=current_user.username, role=current_user.role, now=now(),
                            include_identity=True)
    except reports.PermissionDenied:
        pass  # refused, and written to report_audit, before any row is read
    record("report.export_identity_denied", None, None, {"filter": _filter_note(flt)},
           note=request.form.get("reason", "").strip()[:NOTE_LIMIT] or None)
    session.commit()


@route("/reports/export/identity", action="export_identity", methods=["POST"], on_refused=_export_identity_refused)
def reports_export_identity() -> Response:
    form = request.form
    fmt = form.get("format", "xlsx")
    reason = form.get("reason", "").strip()
    flt = current_filter(form)
    if fmt not in FORMATS or form.get("confirm") != "1" or not reason:
        flash("导出含举报人身份的数据，须勾选确认并填写理由。", "error")
        return redirect(url_for("console.reports_list", **filter_args(flt)))
    content = current_bot().content
    header, rows = reports.export_rows(db(), _vault(), flt, actor=current_user.username, role=current_user.role,
                                       now=now(), include_identity=True, categories=content.report_categories,
                                       townships=content.townships)
    record("report.export_identity", None, None, {"format": fmt, "rows": len(rows), "filter": _filter_note(flt)},
           note=reason)
    db().commit()
    return _download(fmt, header, rows, "reports-identity")
