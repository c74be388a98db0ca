"""Content, read-only: every loaded part of content/, shown generically. Edits are made in the files."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import render_template

from bot.console import current_bot
from bot.console.registry import page

# Part names people read; a part not listed shows under its own name.
PART_TITLES = {"replies": "回复语", "townships": "乡镇", "events": "活动", "knowledge": "安全知识",
               "quiz": "题库", "push_plan": "推送计划", "menu": "自定义菜单"}


@dataclasses.dataclass(frozen=True)
class Section:
    """A table of a content part: column names and rows of plain text (escaped by the template)."""

    title: str
    columns: list[str]
    rows: list[list[str]]


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
        return "；".join(f"{k}: {text_of(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return "、".join(text_of(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "；".join(f"{f.name}: {text_of(getattr(value, f.name))}" for f in dataclasses.fields(value))
    return str(value)


def _records(items: Any) -> Section | None:
    rows = list(items)
    if not rows:
        return None
    first = rows[0]
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        columns = [f.name for f in dataclasses.fields(first)]
        return Section("", columns, [[text_of(getattr(r, c, "")) for c in columns] for r in rows])
    if isinstance(first, Mapping):
        columns = list(dict.fromkeys(k for r in rows for k in r))
        return Section("", columns, [[text_of(r.get(c)) for c in columns] for r in rows])
    return Section("", ["值"], [[text_of(r)] for r in rows])


def describe(name: str, part: Any) -> list[Section]:
    """Tables for one part: a mapping becomes key/value rows, a list of records a table, and so on."""
    title = PART_TITLES.get(name, name)
    if isinstance(part, Mapping):
        return [Section(title, ["键", "内容"], [[str(k), text_of(v)] for k, v in part.items()])]
    if isinstance(part, list | tuple):
        section = _records(part)
        return [dataclasses.replace(section, title=title)] if section else [Section(title, [], [])]
    if dataclasses.is_dataclass(part) and not isinstance(part, type):
        sections = []
        for field in dataclasses.fields(part):
            value = getattr(part, field.name)
            if isinstance(value, list | tuple) and value:
                section = _records(value)
                if section:
                    sections.append(dataclasses.replace(section, title=f"{title} · {field.name}"))
            else:
                sections.append(Section(f"{title} · {field.name}", ["内容"], [[text_of(value)]]))
        return sections
    return [Section(title, ["内容"], [[text_of(part)]])]


@page("/content", "内容", action="view_content", order=70)
def content() -> str:
    loaded = current_bot().content
    parts = [(name, PART_TITLES.get(name, name), describe(name, getattr(loaded, name))) for name in loaded.names()]
    files = sorted(p.name for p in loaded.directory.iterdir() if p.is_file())
    return render_template("console/content.html", parts=parts, files=files, directory=loaded.directory.name)
