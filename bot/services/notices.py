"""What became of the notices staff actions send to citizens, in staff's words (always Chinese).

A notice is an outbox row (bot/models/outbox.py). The console shows each one's real state where the
action was taken (a report's page), lists the ones no channel could deliver, and says before the
sender has tried when a notice cannot arrive (no open window and nothing configured to go outside it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.config import Config
from bot.models import Citizen, Delivery, DeliveryStatus, Report, ReportEvent
from bot.services import notice_templates, subscribe_consents
from bot.services.reports import lifecycle
from bot.services.reports.identity import IdentityVault, vault_for
from bot.services.service_window import Window

S = DeliveryStatus
STATES = {S.PENDING: "待发送", S.SENDING: "待发送", S.SENT: "已送达", S.UNDELIVERABLE: "无法送达",
          S.FAILED: "无法送达", S.UNCERTAIN: "不确定是否送达", S.CANCELLED: "已取消"}
UNDELIVERED = (S.UNDELIVERABLE, S.FAILED)
CHANNELS = {"custom": "客服消息", "template": "模板消息", "subscribe": "订阅通知", "mass": "群发"}
# WeChat's codes as staff should read them (客服消息 / 模板消息 / 订阅通知 error tables).
ERRCODES = {
    -1: "微信系统繁忙", 40003: "对方的微信用户标识无效", 40037: "模板 ID 无效", 43004: "对方已取消关注公众号",
    43101: "对方没有同意接收这条订阅通知（或同意的次数已用完）", 45015: "已超出 48 小时客服消息时限",
    45047: "客服消息条数已用完", 47003: "模板参数不符合要求", 48001: "公众号没有这个接口的权限（订阅号不能发模板消息）",
    45028: "群发次数已用完", 40007: "微信里已找不到这个文件（媒体编号无效或已过期）",
}
# The few reasons the sender writes in English, by how they begin.
ENGLISH = {"the citizen unfollowed": "对方已取消关注公众号", "the citizen does not follow": "对方没有关注公众号",
           "gave up after": "多次重试仍未成功", "no answer from WeChat": "微信没有应答，可能已送达，未自动重发",
           "the sender stopped": "发送时程序中断，可能已送达，未自动重发", "cancelled by staff": "工作人员已取消",
           "requeued by staff": "工作人员已安排重发", "unexpected error": "发送时出现意外错误",
           # A report photo's download (bot/services/reports/evidence.py).
           "WeChat media expired": "微信只保留 3 天，过期前未能下载",
           "WeChat answered": "微信返回的不是文件"}
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_CODED = re.compile(r"(-?\d+) (.*)", re.DOTALL)
CAN_STILL_QUERY = ("举报人仍可在公众号发送“查询 {ticket}”查看进度和回复（在提交举报的微信号上直接发送；"
                   "换了微信号需在编号后加查询码）。")


def state(delivery: Delivery) -> str:
    return STATES.get(delivery.status, delivery.status)


def reason(delivery: Delivery) -> str:
    """Why the notice is where it is, in Chinese ("" when there is nothing to say)."""
    if delivery.status == S.SENT:
        return f"以{CHANNELS.get(delivery.channel or '', '消息')}送达" + (
            f"，{delivery.sent_at:%m-%d %H:%M}" if delivery.sent_at else "")
    text = _in_chinese(delivery)
    if delivery.status in (S.PENDING, S.SENDING):
        return f"上次未成功（{text}），{delivery.not_before:%m-%d %H:%M} 再试" if text else "等待发送"
    return text


def _in_chinese(delivery: Delivery) -> str:
    return error_text(delivery.last_error, delivery.last_errcode)


def error_text(error: str | None, errcode: int | None) -> str:
    """An outbox row's last error as staff read it: Chinese as written, else the sender's English
    phrase with WeChat's code read beside it, else the code alone; English that matches neither is
    never shown ("" when there is none).

    The phrase comes first: it is what the sender concluded (可能已送达, gave up, staff requeued),
    while the code is what WeChat last answered, often on an earlier attempt (recover_expired and
    requeue rewrite only the error)."""
    error = error or ""
    if _CHINESE.search(error):
        return error
    code = _code_text(errcode)
    for start, chinese in ENGLISH.items():
        if error.startswith(start):
            return chinese + (f"（{code}）" if code else "")
    if errcode in ERRCODES:
        return f"{ERRCODES[errcode]}（错误码 {errcode}）"
    if errcode is not None:
        return f"微信返回错误码 {errcode}"
    return "原因未记录" if error else ""


def _code_text(errcode: int | None) -> str:
    """WeChat's code beside a sender's phrase: its meaning where known ("" for none)."""
    if not errcode:
        return ""
    return f"{ERRCODES[errcode]}，错误码 {errcode}" if errcode in ERRCODES else f"错误码 {errcode}"


def coded_error_text(error: str | None) -> str:
    """An error kept as one text with WeChat's code first ("40007 invalid media_id hint: [...]", as a
    report photo's download records it), by error_text."""
    match = _CODED.fullmatch(error or "")
    return error_text(match.group(2), int(match.group(1))) if match else error_text(error, None)


def forecast(session: Session, config: Config, delivery: Delivery, now: dt.datetime) -> str | None:
    """Why this pending notice will not arrive, or None when some channel may carry it: no open
    customer-service allowance, and no template message configured nor a 订阅通知 the citizen accepted."""
    if delivery.status not in (S.PENDING, S.SENDING) or delivery.openid is None:
        return None
    service = config.wechat.account_type == "service"
    if service and notice_templates.configured(config.push, delivery.purpose, "template"):
        return None
    subscribe = notice_templates.configured(config.push, delivery.purpose, "subscribe") if service else None
    if subscribe is not None and subscribe_consents.holds(
            session, subscribe_consents.citizen_key(vault_for(config, session), delivery.openid), subscribe.template_id,
            long_term=notice_templates.long_term(config.push, delivery.purpose)):
        return None
    outside = subscribe_consents.NO_CONSENT if subscribe is not None else "本公众号没有配置模板消息或订阅通知"
    citizen = session.scalar(select(Citizen).where(Citizen.openid == delivery.openid))
    if citizen is None:
        return f"对方从未与公众号互动，客服消息无法送达；{outside}"
    window = Window(citizen.last_interaction_at, citizen.window_event_at, citizen.window_event_kind,
                    following=citizen.is_following)
    sent = session.scalars(select(Delivery.sent_at).where(
        Delivery.openid == delivery.openid, Delivery.channel == "custom", Delivery.status == S.SENT,
        Delivery.sent_at >= now - dt.timedelta(hours=48)))
    if window.may_send(now, sent):
        return None
    return f"{window.why_closed(now)}；{outside}"


def notice_keys(vault: IdentityVault, event_ids: Iterable[int]) -> dict[str, int]:
    """The outbox keys a report's notices can have, each with its event id (older rows' too)."""
    keys = {}
    for event_id in event_ids:
        keys[lifecycle.notice_key(vault, event_id)] = keys[lifecycle.legacy_notice_key(event_id)] = event_id
    return keys


def of_report(session: Session, vault: IdentityVault, ticket: str) -> dict[int, Delivery]:
    """The notices of a report's events, by event id (their keys are keyed hashes: lifecycle.notice_key)."""
    keys = notice_keys(vault, session.scalars(select(ReportEvent.id).join(Report, Report.id == ReportEvent.report_id)
                                              .where(Report.ticket == ticket)))
    rows = session.scalars(select(Delivery).where(Delivery.key.in_(keys))) if keys else []
    return {keys[row.key]: row for row in rows}


def report_tickets(session: Session, vault: IdentityVault, deliveries: Iterable[Delivery]) -> dict[int, str]:
    """The report each of these notices belongs to (delivery id → ticket), found by recomputing the
    keys of the reports' public events: the keys themselves name no ticket."""
    wanted = {d.key: d.id for d in deliveries if d.purpose == lifecycle.NOTICE_PURPOSE}
    if not wanted:
        return {}
    events = session.execute(select(ReportEvent.id, Report.ticket).join(Report, Report.id == ReportEvent.report_id)
                             .where(ReportEvent.public.is_(True)))
    found = {}
    for event_id, ticket in events:
        for key in (lifecycle.notice_key(vault, event_id), lifecycle.legacy_notice_key(event_id)):
            if key in wanted:
                found[wanted[key]] = ticket
    return found


def purge_report(session: Session, vault: IdentityVault, report: Report) -> int:
    """Delete the notices of a report whose contacts are erased: their rows held the recipient."""
    keys = notice_keys(vault, session.scalars(select(ReportEvent.id).where(ReportEvent.report_id == report.id)))
    if not keys:
        return 0
    return session.execute(delete(Delivery).where(Delivery.key.in_(keys))).rowcount


def forget_recipients(session: Session, now: dt.datetime) -> int:
    """Null the recipient of report notices that are final: at once for those never sent, 48 hours
    after sending for the rest, since the sender counts a citizen's customer-service messages of the
    last 48 hours by openid (the window's allowance). Uncertain ones keep it: staff may requeue them.
    Returns how many rows were changed."""
    counted_since = now - dt.timedelta(hours=48)
    done = (S.FAILED, S.UNDELIVERABLE, S.CANCELLED)
    return session.execute(update(Delivery).where(
        Delivery.purpose == lifecycle.NOTICE_PURPOSE, Delivery.openid.is_not(None),
        or_(Delivery.status.in_(done), and_(Delivery.status == S.SENT, Delivery.sent_at < counted_since)))
        .values(openid=None)).rowcount


def undelivered(session: Session, limit: int = 200) -> list[Delivery]:
    """Notices to one citizen that no channel delivered, newest first."""
    return list(session.scalars(select(Delivery).where(_to_one_citizen(), Delivery.status.in_(UNDELIVERED))
                                .order_by(Delivery.id.desc()).limit(limit)))


def undelivered_count(session: Session) -> int:
    return session.scalar(select(func.count(Delivery.id)).where(
        _to_one_citizen(), Delivery.status.in_(UNDELIVERED))) or 0


def _to_one_citizen() -> ColumnElement[bool]:
    # A report notice's openid is forgotten once it is final (forget_recipients): it still was one.
    return or_(Delivery.openid.is_not(None), Delivery.purpose == lifecycle.NOTICE_PURPOSE)
