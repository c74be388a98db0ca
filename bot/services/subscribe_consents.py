"""Consents to 订阅通知 (subscribe notices), per citizen and template, from WeChat's own events.

Official Account docs, 订阅通知 "订阅通知介绍" (doc/service/guide/product/subscription_messages/intro,
formerly doc/offiaccount/Subscription_Messages/intro.html): "一次性订阅，指用户订阅一次，服务号可不
限时间地下发一条对应的订阅通知；长期订阅，指用户订阅一次，服务号可长期多次下发通知，长期订阅通知仅向
政务民生、医疗等公共服务领域开放". So a one-time consent allows one send (each accept one more), a
long-term one (`[push] <purpose>_subscribe_long_term`, only for templates of those categories)
allows sends until it is withdrawn.

What WeChat pushes ("订阅通知的事件推送", doc/service/guide/product/subscription_messages/push):
- subscribe_msg_popup_event: the citizen's choice in a popup, one `List` per template
  (SubscribeStatusString accept / reject; PopupScene 1 = H5 page, 2 = article);
- subscribe_msg_change_event: a change in the service-notice settings ("仅推送用户拒收通知": rejects);
- subscribe_msg_sent_event: the result of a send (TemplateId, MsgID, ErrorCode, ErrorStatus).

A send (sendNewSubscribeMsg, POST cgi-bin/message/subscribe/bizsend, doc/service/api/notify/notify/
api_sendnewsubscribemsg) that WeChat answers with 43101 — "用户拒绝接受消息，如果用户之前曾经订阅过，则表示
用户取消了订阅关系" in the subscribe-message send doc's error table (miniprogram/dev/OpenApiDoc/
mp-message-management/subscribe-message/sendMessage); bizsend answers it too in field reports
(developers.weixin.qq.com community, question by oCJUswxGYCKfSaZfFcZGQNKoXwhU; "一次性订阅消息订阅1次可
下发1次，43101一般是订阅次数用完了或者是用户取消订阅了", answer in thread 000c2e23a588d01832b15c70f61c00)
— means whatever we recorded no longer holds: the consent is marked refused until a new accept.

The citizen is stored as a keyed hash of the openid (IdentityVault.keyed_tag, own purpose), as the
other tables that must not say who someone is do; the sender recomputes it from the row's openid.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.models import ConsentStatus, SubscribeConsent
from bot.services.reports.identity import IdentityVault

CONSENT_TAG = "openid/subscribe-consent"
REFUSED_BY_WECHAT = 43101
T = SubscribeConsent.__table__

# Why a notice did not go as a 订阅通知, in staff's words (shown beside the notice).
NO_CONSENT = "对方没有同意接收这类订阅通知（或一次性同意已用完），未发送订阅通知"
REFUSED = ("微信拒收订阅通知（错误码 43101：对方拒收或已撤回同意），已作废记录的同意，"
           "对方再次在弹窗中同意后才会发送")


@dataclasses.dataclass(frozen=True)
class Choice:
    """One `List` item of a popup or change event."""

    template_id: str
    status: str  # accept | reject (anything else is ignored)


def citizen_key(vault: IdentityVault, openid: str) -> str:
    return vault.keyed_tag(CONSENT_TAG, openid)


def choices(items: Iterable[Mapping[str, Any]]) -> list[Choice]:
    """The usable choices of an event's items: a template id and accept or reject."""
    found = []
    for item in items:
        template_id = str(item.get("TemplateId") or "").strip()
        status = str(item.get("SubscribeStatusString") or "").strip().lower()
        if template_id and status in (ConsentStatus.ACCEPT, ConsentStatus.REJECT):
            found.append(Choice(template_id, status))
    return found


def record(session: Session, vault: IdentityVault, openid: str, made: Iterable[Choice], now: dt.datetime,
           *, popup: bool) -> int:
    """Record each choice. An accept in a popup allows one more one-time send; an accept reported by
    the settings page restores a long-term consent only (it carries no new send); a reject, wherever
    made, withdraws what was left (the citizen's latest word counts). Returns how many were recorded."""
    key = citizen_key(vault, openid)
    count = 0
    for choice in made:
        row = session.scalar(select(SubscribeConsent).where(SubscribeConsent.citizen == key,
                                                            SubscribeConsent.template_id == choice.template_id))
        if row is None:
            row = SubscribeConsent(citizen=key, template_id=choice.template_id, status=choice.status, sends_left=0,
                                   updated_at=now)
            session.add(row)
        row.status, row.updated_at = choice.status, now
        if choice.status == ConsentStatus.REJECT:
            row.sends_left = 0
        elif popup:
            row.sends_left = (row.sends_left or 0) + 1
        count += 1
    session.flush()
    return count


def holds(executor: Session | Connection, key: str, template_id: str, *, long_term: bool) -> bool:
    """Whether a send to this citizen (by citizen_key) with this template has their consent now."""
    row = executor.execute(select(T.c.status, T.c.sends_left).where(
        T.c.citizen == key, T.c.template_id == template_id)).first()
    return row is not None and row.status == ConsentStatus.ACCEPT and (long_term or row.sends_left > 0)


def take(conn: Connection, key: str, template_id: str, now: dt.datetime, *, long_term: bool) -> bool:
    """Claim the consent for one send: a one-time consent is used up by it (taken before the call, in
    one UPDATE, so two senders cannot spend one consent twice). False: no consent, nothing to send."""
    if long_term:
        return holds(conn, key, template_id, long_term=True)
    taken = conn.execute(update(T).where(T.c.citizen == key, T.c.template_id == template_id,
                                         T.c.status == ConsentStatus.ACCEPT, T.c.sends_left > 0)
                         .values(sends_left=T.c.sends_left - 1, updated_at=now))
    return taken.rowcount == 1


def give_back(conn: Connection, key: str, template_id: str, now: dt.datetime) -> None:
    """A send WeChat did not carry out (busy, a refused value): its one-time consent is still there."""
    conn.execute(update(T).where(T.c.citizen == key, T.c.template_id == template_id,
                                 T.c.status == ConsentStatus.ACCEPT)
                 .values(sends_left=T.c.sends_left + 1, updated_at=now))


def refused(executor: Session | Connection, key: str, template_id: str, now: dt.datetime) -> None:
    """WeChat answered 43101: nothing recorded for this template holds any more."""
    executor.execute(update(T).where(T.c.citizen == key, T.c.template_id == template_id)
                     .values(status=ConsentStatus.REFUSED, sends_left=0, updated_at=now))
