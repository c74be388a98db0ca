"""The event calendar in the console: list, add, edit and cancel events (content/events.toml + edits).

Editors and admins change it; reviewers read it. Each change is checked with content check's rules
(bot/services/edit_checks.py), kept as a row of `content_edits` and audited with before and after.
Cancelling an event, or changing its time or venue, tells the citizens who asked for its reminder
(bot/services/event_cancellation.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Response, abort, render_template, request
from sqlalchemy import func, select

from bot.console import current_bot, db, now
from bot.console.audit import ACTION_NAMES
from bot.console.content_forms import (
    ItemForm,
    Saved,
    day_and_time,
    form_text,
    read_moment,
    read_texts,
    text_values,
)
from bot.console.dashboard import PURPOSES
from bot.console.limits import ADVERTISED, LABELS
from bot.console.registry import page, route
from bot.models.events import EventReminder, ReminderStatus
from bot.services import content_edits, edit_checks, event_cancellation
from bot.services.content_edits import EVENTS
from bot.services.edit_checks import EVENT_LABELS, Problems
from bot.services.events import KINDS, event_from_entry

ACTION_NAMES.update({"event.add": "新增活动", "event.edit": "修改活动", "event.cancel": "取消活动"})
PURPOSES.setdefault(event_cancellation.PURPOSE, "活动取消通知")
PURPOSES.setdefault(event_cancellation.CHANGED_PURPOSE, "活动变更通知")
REQUIRED = ("title", "kind", "place", "description")
TEXT_FIELDS = ("title", "kind", "place", "township", "audience", "description", "link", "contact")
# The lengths the form advertises (checked on the server by bot/console/limits.py).
MAX = {"id": 64, "title": 100, "place": 200, "audience": 200, "description": 1000, "link": 500, "contact": 100,
       "reason": 100, "start_day": 12, "end_day": 12, "start_time": 5, "end_time": 5}
for _endpoint in ("console.event_new", "console.event_edit", "console.event_cancel"):
    ADVERTISED[_endpoint] = dict(MAX)
LABELS.update({k: v for k, v in EVENT_LABELS.items() if k not in LABELS})


def _reminder_counts() -> dict[str, int]:
    return dict(db().execute(select(EventReminder.event_id, func.count()).where(
        EventReminder.status.in_((ReminderStatus.WAITING, ReminderStatus.QUEUED))).group_by(EventReminder.event_id)).all())


@page("/calendar", "活动日历", action="view_calendar", order=45)
def events_list() -> str:
    moment, bot = now(), current_bot()
    edits = content_edits.latest_edits(db())
    counts = _reminder_counts()
    rows = [{"event": e, "kind": KINDS[e.kind].label, "ended": e.has_ended(moment), "started": e.has_started(moment),
             "edit": edits.get((EVENTS, e.id)), "reminders": counts.get(e.id, 0)} for e in bot.content.events.items]
    cancelled = content_edits.cancelled(db(), bot.seed_content, EVENTS)
    return render_template("console/events.html", rows=rows, cancelled=cancelled, moment=moment,
                           townships={t.id: t.name for t in bot.content.townships.items})


def _entry_from_form(item_id: str, problems: Problems) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": item_id}
    read_texts(entry, TEXT_FIELDS, REQUIRED, problems)
    start = read_moment(problems, "start", "start_day", "start_time")
    if start is None and "start" not in problems.by_field:
        problems.add("start", "请填写开始日期")
    elif start is not None:
        entry["start"] = start
    end = read_moment(problems, "end", "end_day", "end_time", day_default=form_text("start_day"))
    if end is not None and end != start:
        entry["end"] = end
    if request.form.get("example"):
        entry["example"] = True
    return entry


def _form_values(entry: dict[str, Any]) -> dict[str, Any]:
    values = text_values(entry, TEXT_FIELDS)
    values["start_day"], values["start_time"] = day_and_time(entry.get("start"))
    values["end_day"], values["end_time"] = day_and_time(entry.get("end"))
    values["example"] = bool(entry.get("example"))
    return values


def _form_context() -> dict[str, Any]:
    return {"kinds": [(k.id, k.label) for k in KINDS.values()], "labels": EVENT_LABELS, "max": MAX,
            "townships": [(t.id, t.name) for t in current_bot().content.townships.items]}


FORM = ItemForm(EVENTS, "console.events_list", "console/event_form.html", read=_entry_from_form, values=_form_values,
                context=_form_context)


def _check(new: bool) -> Any:
    def check(session, seed, current, config, **kwargs):
        return edit_checks.check_event(session, seed, current, config, new=new, **kwargs)
    return check


@route("/calendar/new", action="edit_calendar", methods=["GET", "POST"])
def event_new() -> Any:
    if request.method == "GET":
        return FORM.show({}, new=True, base=0)
    return FORM.save_posted(None, action="event.add", check=_check(True), done=_told("已新增活动"))


@route("/calendar/<event_id>/edit", action="edit_calendar", methods=["GET", "POST"])
def event_edit(event_id: str) -> Any:
    current, base = content_edits.entry_of(db(), current_bot().seed_content, EVENTS, event_id)
    if current is None:
        abort(404)
    if request.method == "GET":
        return FORM.show(current, new=False, base=base)
    bot = current_bot()
    before = bot.content.events.get(event_id)

    def tell(entry: dict[str, Any], edit: content_edits.ContentEdit) -> event_cancellation.Told | None:
        if before is None:  # not on the calendar citizens see (no reminders of it can be waiting)
            return None
        after = event_from_entry(Path("console"), event_id, entry, bot.content.townships)
        return event_cancellation.tell_changed(db(), bot.config, before, after, now(), edit.id)

    def note(told: event_cancellation.Told | None) -> str | None:
        return told.summary() if told is not None and told.reminded else None

    return FORM.save_posted(event_id, action="event.edit", check=_check(False), done=_told("已保存修改"),
                            after_save=tell, note=note)


def _told(done: str) -> Callable[[dict[str, Any], Saved], str]:
    """What staff are told after a save: what was done, and whom it was told to."""
    def told(values: dict[str, Any], saved: Saved) -> str:
        extra = saved.extra.summary() if saved.extra is not None else ""
        return f"{done}：{values['title']}。公众号的活动查询和提醒将在几秒内按新内容回复。{extra}"
    return told


@route("/calendar/<event_id>/cancel", action="edit_calendar", methods=["POST"])
def event_cancel(event_id: str) -> Response:
    bot = current_bot()
    event = bot.content.events.get(event_id)
    if event is None:
        abort(404)
    reason = form_text("reason")

    def tell(edit: content_edits.ContentEdit) -> event_cancellation.Told:
        return event_cancellation.tell_reminded(db(), bot.config, event, now(), reason)

    return FORM.cancel_posted(event_id, action="event.cancel", check=_check(False), after_save=tell,
                              note=reason or None,
                              done=lambda saved: f"已取消活动：{event.title}。{saved.extra.summary() if saved.extra else ''}")
