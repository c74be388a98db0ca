"""The push plan's items in the console: list, add, edit and cancel (content/pushes.toml + edits).

Editors and admins change them; reviewers read them. Checked with content check's rules (the draft
box's limits, a real cover, the mass-send quota), kept as rows of `content_edits`, audited with
before and after. An item whose time has passed, or that is already in the outbox, stays as it is;
nothing is moved into the past. The scheduler's push-plan job reads the plan at every run, so an
edit is what goes out (bot/services/content_edits.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, render_template, request
from sqlalchemy import select

from bot.console import current_bot, db, now
from bot.console.audit import ACTION_NAMES
from bot.console.broadcasts_page import cover_choices
from bot.console.content_forms import (
    ItemForm,
    day_and_time,
    form_text,
    read_moment,
    read_texts,
    text_values,
)
from bot.console.labels import cover as cover_label
from bot.console.limits import ADVERTISED, LABELS
from bot.console.registry import page, route
from bot.models import Delivery
from bot.services import broadcasts, content_edits, edit_checks
from bot.services.content_edits import PUSHES
from bot.services.edit_checks import PUSH_LABELS, Problems
from bot.services.pushplan import KINDS

ACTION_NAMES.update({"push_item.add": "新增推送", "push_item.edit": "修改推送", "push_item.cancel": "取消推送"})
REQUIRED = ("kind", "title", "digest", "body", "cover")
TEXT_FIELDS = ("kind", "title", "digest", "body", "cover", "source")
# The lengths the form advertises (checked on the server by bot/console/limits.py); the draft box's
# own limits (title with its 【类别】 ≤ 32, body < 20,000 characters) are content check's.
MAX = {"id": 64, "title": 32, "digest": 128, "body": 20000, "source": 1024, "tag": 10, "when_day": 12, "when_time": 5}
for _endpoint in ("console.push_item_new", "console.push_item_edit", "console.push_item_cancel"):
    ADVERTISED[_endpoint] = dict(MAX)
LABELS.update({k: v for k, v in PUSH_LABELS.items() if k not in LABELS})


def _queued(keys: list[str]) -> set[str]:
    return set(db().scalars(select(Delivery.key).where(Delivery.key.in_(keys)))) if keys else set()


@page("/plan", "推送内容", action="view_calendar", order=52)
def push_items() -> str:
    moment, bot = now(), current_bot()
    plan = bot.content.pushes
    edits = content_edits.latest_edits(db())
    queued = _queued([i.key for i in plan.items])
    rows = [{"item": i, "kind": KINDS.get(i.kind, i.kind), "audience": broadcasts.describe_audience(i.audience, bot.content),
             "locked": i.when <= moment or i.key in queued, "queued": i.key in queued, "edit": edits.get((PUSHES, i.id))}
            for i in plan.items]
    cancelled = content_edits.cancelled(db(), bot.seed_content, PUSHES)
    return render_template("console/push_items.html", rows=rows, cancelled=cancelled, moment=moment)


def _audience_choices() -> list[tuple[str, str]]:
    towns = current_bot().content.townships.items
    return [("all", "全部关注者"), *[(f"township:{t.id}", f"{t.name}的关注者") for t in towns], ("tag", "指定标签")]


def _entry_from_form(item_id: str, problems: Problems) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": item_id}
    read_texts(entry, TEXT_FIELDS, REQUIRED, problems)
    if entry.get("cover") and entry["cover"] not in cover_choices():
        problems.add("cover", "请从列表中选择封面图片")
    audience = form_text("audience")
    if audience == "tag":
        tag = form_text("tag")
        if not tag.isdigit():
            problems.add("audience", "请填写标签号（数字，在公众号后台“用户管理”中查看）")
        audience = f"tag:{tag}"
    if audience:
        entry["audience"] = audience
    else:
        problems.add("audience", "请选择推送对象")
    when = read_moment(problems, "when", "when_day", "when_time")
    if when is not None and not hasattr(when, "hour"):
        problems.add("when", "请同时填写推送的时刻")
    elif when is not None:
        entry["when"] = when
    elif "when" not in problems.by_field:
        problems.add("when", "请填写推送的日期和时刻")
    return entry


def _form_values(entry: dict[str, Any]) -> dict[str, Any]:
    values = text_values(entry, TEXT_FIELDS)
    values["when_day"], values["when_time"] = day_and_time(entry.get("when"))
    audience = entry.get("audience", "all")
    values["audience"], values["tag"] = ("tag", audience[4:]) if audience.startswith("tag:") else (audience, "")
    return values


def _form_context() -> dict[str, Any]:
    return {"kinds": list(KINDS.items()), "labels": PUSH_LABELS, "max": MAX, "covers": cover_choices(),
            "audiences": _audience_choices(), "cover_label": cover_label}


FORM = ItemForm(PUSHES, "console.push_items", "console/push_form.html", read=_entry_from_form, values=_form_values,
                context=_form_context)


def _check(new: bool, queued: bool) -> Any:
    def check(session, seed, current, config, **kwargs):
        return edit_checks.check_push(session, seed, current, config, new=new, queued=queued, **kwargs)
    return check


@route("/plan/new", action="edit_calendar", methods=["GET", "POST"])
def push_item_new() -> Any:
    if request.method == "GET":
        return FORM.show({}, new=True, base=0)
    return FORM.save_posted(None, action="push_item.add", check=_check(True, False), done=_told("已新增推送"))


@route("/plan/<item_id>/edit", action="edit_calendar", methods=["GET", "POST"])
def push_item_edit(item_id: str) -> Any:
    current, base = content_edits.entry_of(db(), current_bot().seed_content, PUSHES, item_id)
    if current is None:
        abort(404)
    queued = bool(_queued([f"plan:{item_id}"]))
    if request.method == "GET":
        return FORM.show(current, new=False, base=base)
    return FORM.save_posted(item_id, action="push_item.edit", check=_check(False, queued), done=_told("已保存修改"))


def _told(done: str) -> Callable[[dict[str, Any], Any], str]:
    return lambda values, _saved: f"{done}：{values['title']}。调度器到点按新内容群发，无需重启。"


@route("/plan/<item_id>/cancel", action="edit_calendar", methods=["POST"])
def push_item_cancel(item_id: str) -> Response:
    item = next((i for i in current_bot().content.pushes.items if i.id == item_id), None)
    if item is None:
        abort(404)
    return FORM.cancel_posted(item_id, action="push_item.cancel", check=_check(False, bool(_queued([item.key]))),
                              done=f"已取消推送：{item.title}。它不会再群发。")
