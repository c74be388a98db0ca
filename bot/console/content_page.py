"""Content, read-only: every loaded part of content/, shown generically. Edits are made in the files."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import render_template

from bot.console import current_bot, labels
from bot.console.registry import page

# Part names people read; a part not listed shows as 其他内容 (never under its internal name).
PART_TITLES = {"replies": "回复语", "townships": "乡镇", "events": "活动", "knowledge": "安全知识",
               "quiz": "题库", "push_plan": "推送计划", "pushes": "推送计划", "menu": "自定义菜单",
               "report_categories": "隐患举报类别", "emergencies": "紧急情况提示", "intents": "问句意图识别",
               "hotlines": "热线电话"}


@dataclasses.dataclass(frozen=True)
class Section:
    """A table of a content part: column names and rows of plain text (escaped by the template)."""

    title: str
    columns: list[str]
    rows: list[list[str]]


def fields_of(value: Any) -> dict[str, Any]:
    """The fields a person reads of a record: a dataclass's or an object's public attributes, without
    identifiers and bookkeeping (labels.HIDDEN_FIELDS)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    else:
        found = {k: v for k, v in vars(value).items() if not k.startswith("_") and not callable(v)}
    return {k: v for k, v in found.items() if k not in labels.HIDDEN_FIELDS}


def is_record(value: Any) -> bool:
    return (dataclasses.is_dataclass(value) and not isinstance(value, type)) or (
        hasattr(value, "__dict__") and not isinstance(value, type | dt.date))


def named(name: str, value: Any) -> str:
    """A value that points elsewhere in the content (a township, a kind, a category), by its name."""
    resolvers = _resolvers()
    if name in resolvers and isinstance(value, list | tuple):
        return "、".join(resolvers[name](v) for v in value)
    return resolvers[name](value) if name in resolvers and isinstance(value, str | dict) else text_of(value)


def _resolvers() -> labels.Resolvers:
    """Built once a request (the page resolves thousands of cells); none outside a request."""
    from flask import g, has_request_context

    if not has_request_context():
        return {}
    if "content_resolvers" not in g:
        g.content_resolvers = _build_resolvers()
    return g.content_resolvers


def _build_resolvers() -> labels.Resolvers:
    from bot.console.audit import content_names
    from bot.services.events import KINDS as EVENT_KINDS
    from bot.services.pushplan import KINDS as PUSH_KINDS
    from bot.services.quiz.bank import CATEGORIES
    from bot.services.quiz.bank import KINDS as QUESTION_KINDS

    kinds = {k: v.label for k, v in EVENT_KINDS.items()} | dict(PUSH_KINDS) | dict(QUESTION_KINDS)
    names = dict(content_names(current_bot().content))
    quiz_category = names.pop("category")
    questions = {e.id: e.question for e in current_bot().content.knowledge.entries}
    return names | {"kind": lambda k: kinds.get(k, "其他"), "type": lambda t: labels.value("type", t),
                    "knowledge": lambda k: questions.get(k, "（已删除的知识条目）"),
                    "intents": labels.intent,
                    "cover": lambda c: labels.cover(c, 0),
                    "category": lambda c: CATEGORIES.get(c) or quiz_category(c),
                    "audience": lambda a: labels.value("audience", a, names) if isinstance(a, dict) else a}


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "；".join(f"{labels.field(k)}：{named(k, v)}" for k, v in value.items() if k not in labels.HIDDEN_FIELDS)
    if isinstance(value, list | tuple | set | frozenset):
        return "、".join(text_of(v) for v in value)
    if isinstance(value, Path):
        return ""
    if is_record(value):
        return "；".join(f"{labels.field(k)}：{named(k, v)}" for k, v in fields_of(value).items())
    return labels.with_placeholders_named(str(value))


def _records(items: Any, name: str = "") -> Section | None:
    rows = list(items)
    if not rows:
        return None
    first = rows[0]
    if is_record(first):
        columns = list(fields_of(first))
        return Section("", [labels.field(c) for c in columns],
                       [[named(c, getattr(r, c, "")) for c in columns] for r in rows])
    if isinstance(first, Mapping):
        columns = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in labels.HIDDEN_FIELDS]
        return Section("", [labels.field(c) for c in columns], [[named(c, r.get(c)) for c in columns] for r in rows])
    return Section("", ["值"], [[named(name, r)] for r in rows])


def describe(name: str, part: Any) -> list[Section]:
    """Tables for one part: a mapping becomes key/value rows, a list of records a table, and so on."""
    title = PART_TITLES.get(name, "其他内容")
    if isinstance(part, Mapping):
        return [Section(title, ["用途", "内容"], [[labels.reply(str(k)), text_of(v)] for k, v in part.items()])]
    if isinstance(part, list | tuple):
        section = _records(part)
        return [dataclasses.replace(section, title=title)] if section else [Section(title, [], [])]
    if is_record(part):
        sections = []
        for field, value in fields_of(part).items():
            if isinstance(value, Path):
                continue
            if isinstance(value, list | tuple) and value:
                section = _records(value, field)
                if section:
                    sections.append(dataclasses.replace(section, title=f"{title} · {labels.field(field)}"))
            else:
                sections.append(Section(f"{title} · {labels.field(field)}", ["内容"], [[text_of(value)]]))
        return sections
    return [Section(title, ["内容"], [[text_of(part)]])]


@page("/content", "内容", action="view_content", order=70)
def content() -> str:
    loaded = current_bot().content
    parts = [(name, PART_TITLES.get(name, "其他内容"), describe(name, getattr(loaded, name))) for name in loaded.names()]
    return render_template("console/content.html", parts=parts)
