"""Telling the citizens who asked for a reminder that their event was cancelled, or moved.

Each gets a customer-service message through the outbox (like every notice), in the same transaction
as the staff member's change: on a cancellation their reminder is withdrawn, on a new time or venue it
moves with the event (so the reminder job has nothing left to catch up). WeChat lets the account write to a citizen only
within 48 hours of their last message (bot/services/service_window.py); outside it these notices go
as the template message or 订阅通知 configured for them ([push] event_cancelled_template,
event_changed_template..., bot/services/notice_templates.py) like a report's progress, and the answer
says how many no channel can reach.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.models.events import EventReminder, ReminderStatus
from bot.services import notices, outbox
from bot.services.events import Event, remind_at

PURPOSE = "event_cancelled"
CHANGED_PURPOSE = "event_changed"
TEXT = ("【活动取消】您订阅提醒的活动「{title}」（原定{when}，地点：{place}）已取消，提醒也随之取消。"
        "{reason}给您带来不便，敬请谅解。发送 活动 可查看其他活动安排。")
CHANGED_TEXT = ("【活动变更】您订阅提醒的活动「{title}」{changes}。{reminder}"
                "给您带来不便，敬请谅解。发送 我的提醒 可查看或取消提醒。")


@dataclasses.dataclass(frozen=True)
class Told:
    reminded: int       # citizens who had asked for a reminder
    reachable: int      # of them, those a customer-service message can reach now
    unreachable: int    # outside the 48-hour window: they cannot be told
    notice: str = "取消通知"

    def summary(self) -> str:
        if not self.reminded:
            return "没有市民订阅这个活动的提醒。"
        text = f"已为订阅提醒的 {self.reminded} 位市民安排{self.notice}"
        if self.unreachable:
            text += (f"；其中 {self.unreachable} 位超过 48 小时没有给公众号发消息，微信不允许再给他们发客服消息，"
                     "这条通知到不了他们（可在“无法送达的通知”中查看）")
        return text + "。"


def _reminded(session: Session, event_id: str) -> list[EventReminder]:
    return list(session.scalars(select(EventReminder).where(
        EventReminder.event_id == event_id,
        EventReminder.status.in_((ReminderStatus.WAITING, ReminderStatus.QUEUED))).order_by(EventReminder.id)))


def tell_reminded(session: Session, config: Config, event: Event, now: dt.datetime, reason: str = "") -> Told:
    """Queue a cancellation notice for everyone with a reminder of `event`, and withdraw the reminders."""
    rows = _reminded(session, event.id)
    reason_text = f"原因：{reason.strip()}。" if reason.strip() else ""
    text = TEXT.format(title=event.title, when=event.when_text(), place=event.place, reason=reason_text)
    payload = outbox.notice_payload(text, event=event.title, time=start_text(event), place=event.place, change="已取消",
                                    note=reason.strip() or "活动取消，提醒随之取消")
    unreachable = 0
    for row in rows:
        delivery = outbox.enqueue(session, key=f"event-cancelled:{row.id}", purpose=PURPOSE, openid=row.openid,
                                  payload=payload, now=now)
        if notices.forecast(session, config, delivery, now) is not None:
            unreachable += 1
        # As the event stood when cancelled (the reminder job may not have caught up with an edit yet).
        row.title, row.place, row.event_start = event.title[:200], event.place[:200], event.start
        row.status = ReminderStatus.WITHDRAWN
    session.flush()
    return Told(len(rows), len(rows) - unreachable, unreachable)


def start_text(event: Event) -> str:
    """The event's start as a template's time keyword takes it (an all-day event: its date)."""
    start = event.start
    return f"{start.year}年{start.month}月{start.day}日" if event.all_day else outbox.cn_time(start)


def _moved(before: Event, after: Event) -> bool:
    return (before.start, before.end, before.all_day) != (after.start, after.end, after.all_day)


def changes(before: Event, after: Event) -> str:
    """What a citizen with a reminder needs to know changed ("" when neither time nor venue did)."""
    parts = []
    if _moved(before, after):
        parts.append(f"时间由{before.when_text()}改为{after.when_text()}")
    if before.place != after.place:
        parts.append(f"地点由{before.place}改为{after.place}")
    return "，".join(parts)


def tell_changed(session: Session, config: Config, before: Event, after: Event, now: dt.datetime,
                 edit_id: int) -> Told | None:
    """Queue a notice of the new time or venue for everyone with a reminder of the event, and move the
    waiting reminders with it; None when neither time nor venue changed (a new title needs no notice).
    Each edit is its own notice (`edit_id` in the key): moved twice, told twice."""
    what = changes(before, after)
    if not what:
        return None
    rows = _reminded(session, after.id)
    hours_before = config.events.reminder_hours_before
    new_remind_at = remind_at(after, hours_before)
    reminder = (f"提醒将在{new_remind_at.month}月{new_remind_at.day}日{new_remind_at:%H:%M}按新的安排发送。"
                if new_remind_at > now else "")
    change = "改时间地点" if _moved(before, after) and before.place != after.place else (
        "改时间" if _moved(before, after) else "改地点")
    unreachable = 0
    for row in rows:
        waiting = row.status == ReminderStatus.WAITING
        text = CHANGED_TEXT.format(title=after.title, changes=what, reminder=reminder if waiting else "")
        payload = outbox.notice_payload(text, event=after.title, time=start_text(after), place=after.place,
                                        change=change, note="提醒按新时间发送" if waiting and reminder else "")
        delivery = outbox.enqueue(session, key=f"event-changed:{row.id}:{edit_id}", purpose=CHANGED_PURPOSE,
                                  openid=row.openid, payload=payload, now=now)
        if notices.forecast(session, config, delivery, now) is not None:
            unreachable += 1
        row.title, row.place, row.event_start = after.title[:200], after.place[:200], after.start
        if row.status == ReminderStatus.WAITING:
            row.remind_at = new_remind_at
    session.flush()
    return Told(len(rows), len(rows) - unreachable, unreachable, notice="变更通知")
