"""What became of the notices staff actions send to citizens, in staff's words (always Chinese).

A notice is an outbox row (bot/models/outbox.py). The console shows each one's real state where the
action was taken (a report's page), lists the ones no channel could deliver, and says before the
sender has tried when a notice cannot arrive (no open window and nothing configured to go outside it).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.models import Citizen, Delivery, DeliveryStatus
from bot.services import notice_templates
from bot.services.service_window import Window

S = DeliveryStatus
STATES = {S.PENDING: "待发送", S.SENDING: "待发送", S.SENT: "已送达", S.UNDELIVERABLE: "无法送达",
          S.FAILED: "无法送达", S.UNCERTAIN: "不确定是否送达", S.CANCELLED: "已取消"}
UNDELIVERED = (S.UNDELIVERABLE, S.FAILED)
CHANNELS = {"custom": "客服消息", "template": "模板消息", "subscribe": "订阅通知", "mass": "群发"}
# WeChat's codes as staff should read them (客服消息 / 模板消息 / 订阅通知 error tables).
ERRCODES = {
    -1: "微信系统繁忙", 40003: "对方的 OpenID 无效", 40037: "模板 ID 无效", 43004: "对方已取消关注公众号",
    43101: "对方没有同意接收这条订阅通知（或同意的次数已用完）", 45015: "已超出 48 小时客服消息时限",
    45047: "客服消息条数已用完", 47003: "模板参数不符合要求", 48001: "公众号没有这个接口的权限（订阅号不能发模板消息）",
    45028: "群发次数已用完",
}
# The few reasons the sender writes in English, by how they begin.
ENGLISH = {"the citizen unfollowed": "对方已取消关注公众号", "the citizen does not follow": "对方没有关注公众号",
           "gave up after": "多次重试仍未成功", "no answer from WeChat": "微信没有应答，可能已送达，未自动重发",
           "the sender stopped": "发送时程序中断，可能已送达，未自动重发", "cancelled by staff": "工作人员已取消",
           "requeued by staff": "工作人员已安排重发", "unexpected error": "发送时出现意外错误"}
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
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
    error = delivery.last_error or ""
    if _CHINESE.search(error):
        return error
    if delivery.last_errcode in ERRCODES:
        return f"{ERRCODES[delivery.last_errcode]}（错误码 {delivery.last_errcode}）"
    for start, chinese in ENGLISH.items():
        if error.startswith(start):
            return chinese + (f"（错误码 {delivery.last_errcode}）" if delivery.last_errcode else "")
    if delivery.last_errcode is not None:
        return f"微信返回错误码 {delivery.last_errcode}"
    return "原因未记录" if error else ""


def forecast(session: Session, config: Config, delivery: Delivery, now: dt.datetime) -> str | None:
    """Why this pending notice will not arrive, or None when some channel may carry it: no open
    customer-service allowance, and no template or subscribe message configured."""
    if delivery.status not in (S.PENDING, S.SENDING) or delivery.openid is None:
        return None
    if config.wechat.account_type == "service" and any(
            notice_templates.configured(config.push, delivery.purpose, kind) for kind in ("template", "subscribe")):
        return None
    citizen = session.scalar(select(Citizen).where(Citizen.openid == delivery.openid))
    if citizen is None:
        return "对方从未与公众号互动，客服消息无法送达，也没有配置模板消息或订阅通知"
    window = Window(citizen.last_interaction_at, citizen.window_event_at, citizen.window_event_kind,
                    following=citizen.is_following)
    sent = session.scalars(select(Delivery.sent_at).where(
        Delivery.openid == delivery.openid, Delivery.channel == "custom", Delivery.status == S.SENT,
        Delivery.sent_at >= now - dt.timedelta(hours=48)))
    if window.may_send(now, sent):
        return None
    return f"{window.why_closed(now)}；本公众号没有配置模板消息或订阅通知"


def of_report(session: Session, ticket: str) -> dict[int, Delivery]:
    """The notices of a report's events, by event id (keys `report:<ticket>:<kind>:<event id>`)."""
    rows = session.scalars(select(Delivery).where(Delivery.key.like(f"report:{ticket}:%")))
    found = {}
    for row in rows:
        event_id = row.key.rsplit(":", 1)[-1]
        if event_id.isdigit():
            found[int(event_id)] = row
    return found


def report_ticket(delivery: Delivery) -> str | None:
    """The report a notice belongs to, from its key."""
    parts = delivery.key.split(":")
    return parts[1] if len(parts) >= 4 and parts[0] == "report" else None


def undelivered(session: Session, limit: int = 200) -> list[Delivery]:
    """Notices to one citizen that no channel delivered, newest first."""
    return list(session.scalars(select(Delivery).where(Delivery.openid.is_not(None), Delivery.status.in_(UNDELIVERED))
                                .order_by(Delivery.id.desc()).limit(limit)))


def undelivered_count(session: Session) -> int:
    return session.scalar(select(func.count(Delivery.id)).where(
        Delivery.openid.is_not(None), Delivery.status.in_(UNDELIVERED))) or 0
