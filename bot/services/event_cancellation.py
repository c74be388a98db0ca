"""Telling the citizens who asked for a reminder that their event was cancelled.

Each gets a customer-service message through the outbox (like every notice), in the same transaction
as the cancellation; their reminder is withdrawn. WeChat lets the account write to a citizen only
within 48 hours of their last message (bot/services/service_window.py), and event notices have no
template to go outside it, so the answer says how many the message can reach and how many it cannot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.models.events import EventReminder, ReminderStatus
from bot.services import notices, outbox
from bot.services.events import Event

PURPOSE = "event_cancelled"
TEXT = ("【活动取消】您订阅提醒的活动「{title}」（原定{when}，地点：{place}）已取消，提醒也随之取消。"
        "{reason}给您带来不便，敬请谅解。发送 活动 可查看其他活动安排。")


@dataclasses.dataclass(frozen=True)
class Told:
    reminded: int       # citizens who had asked for a reminder
    reachable: int      # of them, those a customer-service message can reach now
    unreachable: int    # outside the 48-hour window: they cannot be told

    def summary(self) -> str:
        if not self.reminded:
            return "没有市民订阅这个活动的提醒。"
        text = f"已为订阅提醒的 {self.reminded} 位市民安排取消通知"
        if self.unreachable:
            text += (f"；其中 {self.unreachable} 位超过 48 小时没有给公众号发消息，微信不允许再给他们发客服消息，"
                     "这条通知到不了他们（可在“无法送达的通知”中查看）")
        return text + "。"


def tell_reminded(session: Session, config: Config, event: Event, now: dt.datetime, reason: str = "") -> Told:
    """Queue a cancellation notice for everyone with a reminder of `event`, and withdraw the reminders."""
    rows = list(session.scalars(select(EventReminder).where(
        EventReminder.event_id == event.id,
        EventReminder.status.in_((ReminderStatus.WAITING, ReminderStatus.QUEUED))).order_by(EventReminder.id)))
    reason_text = f"原因：{reason.strip()}。" if reason.strip() else ""
    text = TEXT.format(title=event.title, when=event.when_text(), place=event.place, reason=reason_text)
    unreachable = 0
    for row in rows:
        delivery = outbox.enqueue(session, key=f"event-cancelled:{row.id}", purpose=PURPOSE, openid=row.openid,
                                  payload=outbox.text_payload(text), now=now)
        if notices.forecast(session, config, delivery, now) is not None:
            unreachable += 1
        # As the event stood when cancelled (the reminder job may not have caught up with an edit yet).
        row.title, row.place, row.event_start = event.title[:200], event.place[:200], event.start
        row.status = ReminderStatus.WITHDRAWN
    session.flush()
    return Told(len(rows), len(rows) - unreachable, unreachable)
