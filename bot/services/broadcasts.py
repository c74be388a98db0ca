"""Staff broadcasts: compose, preview, check the quota, send now or later, follow progress.

Every push goes through the outbox. An audience of everyone, a township or a tag is one mass
send (WeChat's quota applies: a subscription account once a day, a service account 4 a month per
follower, and the push plan's items count too). "Active" means the citizens who interacted in
the last 48 hours: each gets a customer-service message, which costs no mass-send quota.

Checking the quota and queuing the send is one step under a lock (`_hold_quota`): two staff members
sending at the same moment cannot both see the last free send and both take it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from bot.clock import TZ
from bot.config import Config
from bot.models import Broadcast, BroadcastStatus, Citizen, Delivery, DeliveryStatus
from bot.services import articles
from bot.services.outbox import enqueue
from bot.services.pushplan import SERVICE_MASS_PER_MONTH, SUBSCRIPTION_MASS_PER_DAY
from bot.services.service_window import Window, active_since
from bot.wechat.api import mass_text_refusal

WINDOW = dt.timedelta(hours=48)
# mass/preview: "每日调用次数有限制（100次）" (Batch Sends, 预览接口); beyond it WeChat answers 45009.
PREVIEWS_PER_DAY = 100
NOT_COUNTING = (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERABLE, DeliveryStatus.CANCELLED)
# The PostgreSQL advisory lock that makes "check the quota, then queue" one step (any fixed number
# this code alone uses; "mass" in ASCII).
QUOTA_LOCK = 0x6D617373


class BroadcastRefused(Exception):
    """A broadcast cannot go out as asked; the message says why, in words staff understand."""


@dataclasses.dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    pending: int
    other: dict[str, int]
    wechat: list[dict[str, Any]]   # MASSSENDJOBFINISH counts, once WeChat reports them
    reasons: tuple[str, ...] = ()  # why deliveries failed (e.g. the job WeChat refused), for staff


def parse_audience(text: str, content: Any) -> dict[str, Any]:
    """`all` | `active` | `township:<id or name>` | `tag:<number>` → the stored audience."""
    if text in ("all", "全部"):
        return {"all": True}
    if text in ("active", "活跃"):
        return {"active": True}
    kind, _, value = text.partition(":")
    if kind == "township" and value:
        township = content.townships.get(value) or content.townships.find(value)
        if township is None:
            raise BroadcastRefused(f"没有这个乡镇：{value}")
        return {"township": township.id}
    if kind == "tag" and value.isdigit():
        return {"tag_id": int(value)}
    raise BroadcastRefused("发送对象无效：请从“发送对象”列表中选择（选“指定标签”时填写数字标签号）")


def describe_audience(audience: dict[str, Any], content: Any) -> str:
    if audience.get("all"):
        return "全部关注者"
    if audience.get("active"):
        return "48小时内互动过的用户"
    if "township" in audience:
        township = content.townships.get(audience["township"])
        return f"{township.name if township else audience['township']}的关注者"
    return f"标签 {audience.get('tag_id')}"


def compose(session: Session, *, title: str, payload: dict[str, Any], audience: dict[str, Any],
            created_by: str, now: dt.datetime, content_dir: Path | None = None) -> Broadcast:
    """A draft broadcast, refused (BroadcastRefused, in Chinese) if WeChat would refuse to send it.
    `content_dir` is where an article's cover file is looked for (checked when given)."""
    _check_draft(title, payload, audience, content_dir)
    broadcast = Broadcast(title=title.strip()[:64], payload=payload, audience=audience,
                          status=BroadcastStatus.DRAFT, created_by=created_by, created_at=now)
    session.add(broadcast)
    session.flush()
    return broadcast


def _check_draft(title: str, payload: dict[str, Any], audience: dict[str, Any], content_dir: Path | None) -> None:
    if not title.strip():
        raise BroadcastRefused("请填写标题")
    if payload.get("type") not in ("text", "news"):
        raise BroadcastRefused("内容只能是文字或图文")
    if payload["type"] == "text":
        _check_text(payload.get("content", ""), audience)
    else:
        _check_article(payload["articles"][0], audience, content_dir)


def _draft(session: Session, broadcast_id: int, doing: str) -> Broadcast:
    broadcast = get(session, broadcast_id)
    if broadcast.status != BroadcastStatus.DRAFT:
        raise BroadcastRefused(f"只有草稿可以{doing}：这条群发已经排队或发出")
    return broadcast


def update_draft(session: Session, broadcast_id: int, *, title: str, payload: dict[str, Any],
                 audience: dict[str, Any], content_dir: Path | None = None) -> Broadcast:
    """Change a draft (never one already queued or sent), checked as a new one is."""
    broadcast = _draft(session, broadcast_id, "修改")
    _check_draft(title, payload, audience, content_dir)
    broadcast.title, broadcast.payload, broadcast.audience = title.strip()[:64], payload, audience
    return broadcast


def delete_draft(session: Session, broadcast_id: int) -> Broadcast:
    """Remove a draft; its previews (deliveries already made) stay in the outbox's history."""
    broadcast = _draft(session, broadcast_id, "删除")
    session.delete(broadcast)
    session.flush()
    return broadcast


def _check_text(text: str, audience: dict[str, Any]) -> None:
    if not text.strip():
        raise BroadcastRefused("文字内容不能为空")
    if not audience.get("active"):  # a mass send; the active go one by one as customer-service messages
        refusal = mass_text_refusal(text)
        if refusal:
            raise BroadcastRefused(refusal)


def _check_article(article: dict[str, Any], audience: dict[str, Any], content_dir: Path | None) -> None:
    if audience.get("active"):
        # Customer-service news: a card that opens its link; it never goes through the draft box.
        if not article.get("title", "").strip() or not article.get("url"):
            raise BroadcastRefused("发给48小时内互动过的用户的图文是客服消息，点开即打开原文链接：请填写标题和原文链接")
        return
    problems = articles.text_problems(title=article.get("title", ""), digest=article.get("description", ""),
                                      body=article.get("content", ""), author=article.get("author", ""),
                                      source_url=article.get("url", ""))
    if problems:
        raise BroadcastRefused("图文消息：" + "；".join(problems))
    if content_dir is not None:
        problem = articles.cover_problem(content_dir / article.get("cover", ""))
        if problem:
            raise BroadcastRefused(problem)


def get(session: Session, broadcast_id: int) -> Broadcast:
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise BroadcastRefused(f"没有编号为 {broadcast_id} 的群发")
    return broadcast


def preview(session: Session, broadcast_id: int, openids: list[str], now: dt.datetime) -> list[Delivery]:
    """Send the broadcast to test accounts first (WeChat's mass preview; no quota)."""
    broadcast = get(session, broadcast_id)
    if not openids:
        raise BroadcastRefused("请至少给出一个预览用的 openid")
    done = session.scalar(select(func.count(Delivery.id)).where(
        Delivery.key.like(f"broadcast:{broadcast.id}:preview:%"))) or 0
    today = previews_on(session, now)
    if today + len(openids) > PREVIEWS_PER_DAY:
        raise BroadcastRefused(f"微信每天最多预览 {PREVIEWS_PER_DAY} 次，今天已预览 {today} 次：请明天再预览，"
                               f"或减少预览的微信号")
    return [enqueue(session, key=f"broadcast:{broadcast.id}:preview:{done + n}:{openid}", purpose="broadcast_preview",
                    openid=openid, payload={**broadcast.payload, "via": "preview"}, now=now)
            for n, openid in enumerate(openids, start=1)]


def previews_on(session: Session, moment: dt.datetime) -> int:
    """Previews queued on this moment's day (Beijing time): WeChat allows 100 a day."""
    start, end = _day_bounds(moment)
    return session.scalar(select(func.count(Delivery.id)).where(
        Delivery.purpose == "broadcast_preview", Delivery.created_at >= start, Delivery.created_at < end)) or 0


def _day_bounds(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = moment.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


def _month_bounds(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = moment.astimezone(TZ).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    after = (start + dt.timedelta(days=32)).replace(day=1)
    return start, after


def mass_sends_between(session: Session, content: Any, start: dt.datetime, end: dt.datetime) -> list[str]:
    """Mass sends queued or done in [start, end), plus push-plan items not queued yet: what they are."""
    rows = session.execute(select(Delivery.key, Delivery.purpose).where(
        Delivery.openid.is_(None), Delivery.not_before >= start, Delivery.not_before < end,
        Delivery.status.not_in(NOT_COUNTING))).all()
    keys = {key for key, _ in rows}
    planned = [f"plan:{i.id}" for i in content.pushes.items if start <= i.when < end and f"plan:{i.id}" not in keys]
    return sorted(keys) + planned


def describe_mass_send(session: Session, content: Any, key: str) -> str:
    """A mass send's outbox key as staff know it: 群发 7“title” or 推送计划“title”, never the key."""
    kind, _, ident = key.partition(":")
    if kind == "broadcast" and ident.isdigit():
        item = session.get(Broadcast, int(ident))
        return f"群发 {ident}“{item.title}”" if item else f"群发 {ident}"
    if kind == "plan":
        item = next((i for i in content.pushes.items if i.id == ident), None)
        return f"推送计划“{item.title}”" if item else "推送计划中的一条"
    return "一次群发"


def quota_refusal(session: Session, content: Any, config: Config, at: dt.datetime) -> str | None:
    """Why one more mass send at `at` would break WeChat's quota, or None when it fits."""
    if config.wechat.account_type == "subscription":
        taken = [describe_mass_send(session, content, k) for k in mass_sends_between(session, content, *_day_bounds(at))]
        if len(taken) >= SUBSCRIPTION_MASS_PER_DAY:
            return (f"{at.astimezone(TZ):%m月%d日}已有群发（{'、'.join(taken)}）。订阅号每天只能群发 "
                    f"{SUBSCRIPTION_MASS_PER_DAY} 次：请换一天，或把发送对象改为“48小时内互动过的用户”。")
        return None
    taken = [describe_mass_send(session, content, k) for k in mass_sends_between(session, content, *_month_bounds(at))]
    if len(taken) >= SERVICE_MASS_PER_MONTH:
        return (f"{at.astimezone(TZ):%Y年%m月}已有 {len(taken)} 次群发（{'、'.join(taken)}）。服务号每位关注者每月最多"
                f"收到 {SERVICE_MASS_PER_MONTH} 次群发：请下月再发，或把发送对象改为“48小时内互动过的用户”。")
    return None


def send(session: Session, content: Any, config: Config, broadcast_id: int, now: dt.datetime,
         at: dt.datetime | None = None) -> Broadcast:
    """Queue the broadcast now or for `at`; refuses (BroadcastRefused) when the quota is used up."""
    _hold_quota(session)
    broadcast = get(session, broadcast_id)
    session.refresh(broadcast)  # as it is now that we hold the lock (the same draft sent twice at once)
    if broadcast.status != BroadcastStatus.DRAFT:
        raise BroadcastRefused(f"这条群发已经是“{broadcast.status}”状态，不能再次发送")
    when = max(at or now, now)
    if broadcast.audience.get("active"):
        if at is not None and at > now:
            raise BroadcastRefused("只发给活跃用户的消息只能立即发送：48小时窗口到时可能已经关闭")
        openids = active_openids(session, now)
        if not openids:
            raise BroadcastRefused("48小时内没有互动过的用户，没有人能收到这条消息")
        for openid in openids:
            enqueue(session, key=f"broadcast:{broadcast.id}:to:{openid}", purpose="broadcast", openid=openid,
                    payload=broadcast.payload, now=now, not_before=when)
        broadcast.recipients = len(openids)
    else:
        refusal = quota_refusal(session, content, config, when)
        if refusal:
            raise BroadcastRefused(refusal)
        enqueue(session, key=f"broadcast:{broadcast.id}", purpose="broadcast", audience=broadcast.audience,
                payload=broadcast.payload, now=now, not_before=when)
        broadcast.recipients = 1
    broadcast.send_at = when
    broadcast.queued_at = now
    broadcast.status = BroadcastStatus.SCHEDULED if when > now else BroadcastStatus.QUEUED
    return broadcast


def _hold_quota(session: Session) -> None:
    """Until the transaction ends, no one else checks the quota or queues a broadcast. PostgreSQL: a
    transaction-scoped advisory lock, taken before the mass sends are counted, so a second sender waits
    and then counts the first one's send (READ COMMITTED reads afresh at each statement). SQLite: every
    transaction already holds the database's write lock from its BEGIN IMMEDIATE (bot/infra/db.py)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUOTA_LOCK})


def active_openids(session: Session, now: dt.datetime) -> list[str]:
    """Followers whose last message still allows a customer-service message: written within 48
    hours, and fewer than 5 sent since (service_window.py). A menu click, follow or scan allows
    only a minute, too short for a broadcast, and counts for nothing here."""
    citizens = session.execute(select(Citizen.openid, Citizen.last_interaction_at).where(
        Citizen.last_interaction_at > active_since(now), Citizen.unsubscribed_at.is_(None)).order_by(Citizen.id)).all()
    sent: dict[str, list[dt.datetime]] = {}
    for openid, at in session.execute(select(Delivery.openid, Delivery.sent_at).where(
            Delivery.channel == "custom", Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at > active_since(now), Delivery.openid.is_not(None))):
        sent.setdefault(openid, []).append(at)
    return [openid for openid, at in citizens
            if Window(at, None, None).may_send(now, sent.get(openid, ()))]


def cancel(session: Session, broadcast_id: int, now: dt.datetime) -> int:
    """Stop what has not gone out yet. Returns how many deliveries were cancelled."""
    broadcast = get(session, broadcast_id)
    count = session.execute(update(Delivery).where(
        _deliveries_of(broadcast.id), Delivery.status == DeliveryStatus.PENDING).values(
        status=DeliveryStatus.CANCELLED, last_error=f"cancelled by staff at {now:%Y-%m-%d %H:%M}")).rowcount
    broadcast.status = BroadcastStatus.CANCELLED
    return count


def _deliveries_of(broadcast_id: int) -> Any:
    # "broadcast:7" (mass) or "broadcast:7:to:<openid>" (active); previews are not progress.
    return (Delivery.purpose == "broadcast") & (
        (Delivery.key == f"broadcast:{broadcast_id}") | Delivery.key.like(f"broadcast:{broadcast_id}:to:%"))


def progress(session: Session, broadcast_id: int) -> Progress:
    broadcast = get(session, broadcast_id)
    counts = dict(session.execute(select(Delivery.status, func.count(Delivery.id)).where(
        _deliveries_of(broadcast.id)).group_by(Delivery.status)).all())
    reports = [r for r in session.scalars(select(Delivery.result).where(
        _deliveries_of(broadcast.id), Delivery.openid.is_(None))) if r]
    from bot.services.notices import error_text  # staff's words for an outbox error (imports this module's peers)

    reasons = tuple(dict.fromkeys(error_text(error, code) for error, code in session.execute(
        select(Delivery.last_error, Delivery.last_errcode).where(
            _deliveries_of(broadcast.id), Delivery.status == DeliveryStatus.FAILED).limit(20)) if error or code))
    return Progress(
        total=sum(counts.values()), sent=counts.pop(DeliveryStatus.SENT, 0), failed=counts.pop(DeliveryStatus.FAILED, 0),
        pending=counts.pop(DeliveryStatus.PENDING, 0) + counts.pop(DeliveryStatus.SENDING, 0),
        other=counts, wechat=reports, reasons=reasons)


def listing(session: Session, limit: int = 50) -> list[Broadcast]:
    return list(session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))


# MASSSENDJOBFINISH Status values (Batch Sends, doc/service/guide/product/message/Batch_Sends.html,
# "4、事件推送群发结果"): "send success", "send fail", or err(code) for a job refused in review,
# by the originality check, or (API 群发保护) by the account's administrator.
MASS_SUCCESS = "send success"
MASS_STATUS_NAMES = {
    "send success": "发送成功", "send fail": "发送失败",
    "err(10001)": "审核未通过：涉嫌广告", "err(20001)": "审核未通过：涉嫌政治", "err(20004)": "审核未通过：涉嫌社会",
    "err(20002)": "审核未通过：涉嫌色情", "err(20006)": "审核未通过：涉嫌违法犯罪", "err(20008)": "审核未通过：涉嫌欺诈",
    "err(20013)": "审核未通过：涉嫌版权", "err(22000)": "审核未通过：涉嫌互推（互相宣传）",
    "err(21000)": "审核未通过：涉嫌其他",
    "err(30001)": "原创校验出现系统错误，且设置了“被判为转载就不群发”",
    "err(30002)": "原创校验判定为不能群发", "err(30003)": "原创校验判定为转载，且设置了“被判为转载就不群发”",
    "err(40001)": "公众号管理员拒绝了这次群发（API 群发保护）",
    "err(40002)": "公众号管理员 30 分钟内没有确认，群发已取消（API 群发保护）",
}


def describe_mass_status(status: str) -> str:
    """WeChat's Status of a finished mass job, for staff."""
    normalised = status.strip().lower().replace(" ", "") if status.strip().lower().startswith("err") else status.strip()
    return MASS_STATUS_NAMES.get(normalised) or (f"微信报告失败：{status}" if status else "微信未说明结果")


def record_job_finish(session: Session, msg_id: str, report: dict[str, Any]) -> bool:
    """WeChat's MASSSENDJOBFINISH / TEMPLATESENDJOBFINISH for the delivery with this msg id. A mass job
    that WeChat says failed makes its delivery (and its broadcast) failed, with the reason."""
    if not msg_id:
        return False
    delivery = session.scalar(select(Delivery).where(Delivery.wechat_msg_id == str(msg_id)))
    if delivery is None:
        return False
    delivery.result = {**(delivery.result or {}), **report}
    if report.get("event") == "masssendjobfinish":
        _record_mass_outcome(session, delivery, str(report.get("status", "")))
    return True


def record_subscribe_sent(session: Session, msg_id: str, code: str, status: str) -> bool:
    """subscribe_msg_sent_event with a non-zero ErrorCode for the 订阅通知 with this msg id (bizsend's
    answer carries it: WxJava WxMpSubscribeMsgServiceImpl.send reads "msgid"): WeChat did not deliver
    it, so the notice is undeliverable, with WeChat's words."""
    if not msg_id:
        return False
    delivery = session.scalar(select(Delivery).where(Delivery.wechat_msg_id == msg_id, Delivery.channel == "subscribe"))
    if delivery is None:
        return False
    delivery.result = {**(delivery.result or {}), "event": "subscribe_msg_sent_event", "error_code": code,
                       "error_status": status}
    delivery.status = DeliveryStatus.UNDELIVERABLE
    delivery.last_errcode = int(code) if code.lstrip("-").isdigit() else None
    delivery.last_error = f"微信报告订阅通知未送达：{status or '未说明原因'}（错误码 {code}）"
    return True


def _record_mass_outcome(session: Session, delivery: Delivery, status: str) -> None:
    succeeded = status.strip() == MASS_SUCCESS
    if not succeeded:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = f"微信群发失败：{describe_mass_status(status)}（{status}）"
    broadcast_id = delivery.key.removeprefix("broadcast:")
    if delivery.purpose == "broadcast" and broadcast_id.isdigit():
        broadcast = session.get(Broadcast, int(broadcast_id))
        if broadcast is not None and broadcast.status != BroadcastStatus.CANCELLED:
            broadcast.status = BroadcastStatus.SENT if succeeded else BroadcastStatus.FAILED
