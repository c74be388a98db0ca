"""What the event and push-item pages share: reading a form (texts, dates), showing it again with its
problems and history, saving an edit, and where a saved or refused edit goes next. Each page declares
its form once (an ItemForm: how it reads and shows an entry, its template); the ItemForm runs the
add, edit and cancel requests.

An edit is checked by bot/services/edit_checks.py (content check's rules, in Chinese, by field),
saved as a row of `content_edits`, audited with the item before and after, and committed together;
this process then serves it at once, the others within seconds (bot/services/content_edits.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.console import current_bot, db, moments, now
from bot.console.audit import record
from bot.services import content_edits
from bot.services.content_edits import StaleEdit
from bot.services.edit_checks import Problems

STALE = "保存前，这一条已被别人修改过。为免覆盖别人的修改，本次未保存：请重新打开后再改。"


def form_text(name: str) -> str:
    return request.form.get(name, "").replace("\r\n", "\n").strip()


def read_texts(entry: dict[str, Any], fields: tuple[str, ...], required: tuple[str, ...], problems: Problems) -> None:
    """The form's text fields into `entry` (blank ones left out); a blank required one is a problem."""
    for field in fields:
        value = form_text(field)
        if value:
            entry[field] = value
        elif field in required:
            problems.add(field, "不能为空")


def text_values(entry: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The item's id and text fields as the form shows them."""
    return {field: entry.get(field, "") for field in ("id", *fields)}


def answer_saved(saved: Saved, *, list_endpoint: str, done: str | Callable[[Saved], str],
                 again: Callable[[Problems], Any]) -> Any:
    """After save_edit: back to the list with what happened (`done`, or a function of the save), or
    the form again with its problems."""
    if saved.stale:
        flash(STALE, "error")
        return redirect(url_for(list_endpoint))
    if saved.problems:
        return again(saved.problems)
    flash(done(saved) if callable(done) else done, "success")
    return redirect(url_for(list_endpoint))


def answer_cancelled(saved: Saved, *, list_endpoint: str, done: str) -> Any:
    """After save_edit cancelled an item: back to the list, saying whether it was."""
    if saved.stale:
        flash(STALE, "error")
    elif saved.problems:
        flash("未能取消：" + "；".join(saved.problems.lines()), "error")
    else:
        flash(done, "success")
    return redirect(url_for(list_endpoint))


def read_moment(problems: Problems, field: str, day_name: str, time_name: str,
                *, day_default: str = "") -> dt.date | dt.datetime | None:
    """A date (time left blank: all day) or a date-time from two inputs; a malformed one is a problem."""
    day_text, time_text = form_text(day_name) or day_default, form_text(time_name)
    if not day_text:
        if time_text:
            problems.add(field, "填写了时刻，请同时填写日期")
        return None
    day = moments.parse_day(day_text)  # also 2021-6-1, 2021/6/1, 2021年6月1日
    if day is None:
        problems.add(field, "日期格式应为 2021-06-01（也可写 2021/6/1 或 2021年6月1日）")
        return None
    if not time_text:
        return day
    clock = moments.parse_clock(time_text)  # also 9:30, 9：30, 9点30
    if clock is None:
        problems.add(field, "时刻格式应为 09:30（24 小时制）")
        return None
    return dt.datetime.combine(day, clock)


def day_and_time(value: Any) -> tuple[str, str]:
    """A moment as the form's date and time inputs show it."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat(), value.strftime("%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat(), ""
    return "", ""


@dataclasses.dataclass(frozen=True)
class Saved:
    problems: Problems | None = None  # the form's problems, when nothing was saved
    stale: bool = False
    edit: content_edits.ContentEdit | None = None
    extra: Any = None  # what `after_save` returned


def save_edit(*, part: str, item_id: str, entry: dict[str, Any] | None, base: int, action: str,
              check: Callable[..., Problems], after_save: Callable[[content_edits.ContentEdit], Any] | None = None,
              note: str | Callable[[Any], str | None] | None = None) -> Saved:
    """Check, save, audit and commit one edit. `check(session, seed, current, config, ...)`;
    `after_save(edit)` runs in the same transaction (the notices the edit sends); `note` may be a
    function of what it returned (the audit says whom they went to)."""
    session, bot, moment = db(), current_bot(), now()
    before, current_base = content_edits.entry_of(session, bot.seed_content, part, item_id)
    problems = check(session, bot.seed_content, bot.content, bot.config, item_id=item_id, entry=entry, now=moment)
    if problems:  # first: a new item's id taken by a cancelled one is the form's problem, not a stale form
        return Saved(problems=problems)
    if current_base != base:
        return Saved(stale=True)
    try:
        edit = content_edits.save(session, part=part, item_id=item_id, entry=entry, actor=current_user.username,
                                  now=moment, base=base)
    except StaleEdit:
        session.rollback()
        return Saved(stale=True)
    extra = after_save(edit) if after_save is not None else None
    if callable(note):
        note = note(extra)
    record(action, f"{part}:{item_id}", content_edits.to_json(part, before) if before else None,
           content_edits.to_json(part, entry) if entry is not None else None, note=note)
    session.commit()
    bot.live_content.refresh()  # this process at once; the others at their next check
    return Saved(edit=edit, extra=extra)


@dataclasses.dataclass(frozen=True)
class ItemForm:
    """One part's add, edit and cancel forms (events, push items): how its page reads an entry from
    the posted form and shows one in it, which template draws it, and where staff go after a save."""

    part: str
    list_endpoint: str
    template: str
    read: Callable[[str, Problems], dict[str, Any]]  # read(item_id, problems): the posted form as an entry
    values: Callable[[dict[str, Any]], dict[str, Any]]  # an entry as the form's inputs show it
    context: Callable[[], dict[str, Any]]  # what the template needs besides the item (choices, labels, limits)

    def render(self, values: dict[str, Any], *, new: bool, base: int, problems: Problems | None = None,
               status: int = 200) -> tuple[str, int]:
        """The form: its values, the problems by field and as lines, its edit history (not for a new one)."""
        history = [] if new else content_edits.history(db(), self.part, values["id"])
        return render_template(self.template, values=values, new=new, base=base,
                               errors=problems.by_field if problems else {},
                               error_lines=problems.lines() if problems else [], history=history, moment=now(),
                               **self.context()), status

    def show(self, entry: dict[str, Any], *, new: bool, base: int) -> tuple[str, int]:
        return self.render(self.values(entry), new=new, base=base)

    def save_posted(self, item_id: str | None, *, action: str, check: Callable[..., Problems],
                    done: Callable[[dict[str, Any], Saved], str],
                    after_save: Callable[[dict[str, Any], content_edits.ContentEdit], Any] | None = None,
                    note: Callable[[Any], str | None] | None = None) -> Any:
        """Read the posted form (a new item, item_id None: its id from the form too) and save it, or
        show it again with its problems. `done(values, saved)` is what staff are told after a save;
        `after_save(entry, edit)` and `note` are save_edit's, given the entry read."""
        new = item_id is None
        problems = Problems(self.part)
        if item_id is None:
            item_id = form_text("id")
        entry = self.read(item_id, problems)
        if new and not item_id:
            problems.add("id", "不能为空")
        base = 0 if new else item_base()
        values = self.values(entry)

        def again(problems: Problems) -> tuple[str, int]:
            return self.render(values, new=new, base=base, problems=problems, status=400)

        if problems:
            return again(problems)
        saved = save_edit(part=self.part, item_id=item_id, entry=entry, base=base, action=action, check=check,
                          after_save=partial(after_save, entry) if after_save is not None else None, note=note)
        return answer_saved(saved, list_endpoint=self.list_endpoint, done=lambda saved: done(values, saved),
                            again=again)

    def cancel_posted(self, item_id: str, *, action: str, check: Callable[..., Problems],
                      done: str | Callable[[Saved], str],
                      after_save: Callable[[content_edits.ContentEdit], Any] | None = None,
                      note: str | None = None) -> Any:
        """Cancel the item the posted form was built on, and go back to the list saying whether it was."""
        saved = save_edit(part=self.part, item_id=item_id, entry=None, base=item_base(), action=action, check=check,
                          after_save=after_save, note=note)
        return answer_cancelled(saved, list_endpoint=self.list_endpoint, done=done(saved) if callable(done) else done)


def item_base() -> int:
    """The newest edit id the form was built on (0: the file's version)."""
    text = request.form.get("base", "0")
    return int(text) if text.isdigit() else -1
