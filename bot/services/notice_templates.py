"""Template messages and subscribe notices (订阅通知) for service notices outside the 48-hour window.

Each purpose (report progress, prize win, an event cancelled or moved) has its own template, chosen by the bureau in the admin
console, with its own keywords: `[push] <purpose>_template = "<template id>"` and
`<purpose>_template_keys = "ticket=character_string1 status=phrase2 note=thing3 time=time4"`
(our field = the template's keyword), the same with `_subscribe` for a 订阅通知 template.

Values are cut to the platform's limits per keyword type — 订阅通知 "发送订阅通知" (Official Account
docs, Subscription_Messages/api.html, 参数值内容限制说明): thing 20 characters, number 32 digits,
letter 32 letters, symbol 5, character_string 32 digits/letters/symbols, time and date formatted
dates, amount a currency sign + 10 digits, phone_number 17, car_number 8, name 10, phrase 5 Chinese
characters; a value out of bounds is refused with 47003. Template messages show at most 20
characters a keyword and drop first/remark and colours ("关于规范公众号模板消息的再次公告",
2023-05-04), so none are sent.
"""

from __future__ import annotations

import dataclasses
import re

PURPOSES = ("report_status", "quiz_prize", "event_cancelled", "event_changed")
# What the bot can say for each purpose (the fields a template's keywords may take). An event's
# notices (bot/services/event_cancellation.py): event = its title, time = its (new) start, place =
# its (new) venue, change = what changed (改时间 / 改地点 / 已取消), note = the reason or the reminder.
FIELDS = {"report_status": ("ticket", "status", "note", "time"), "quiz_prize": ("prize", "deadline", "note", "time"),
          "event_cancelled": ("event", "time", "place", "change", "note"),
          "event_changed": ("event", "time", "place", "change", "note")}
LIMITS = {"thing": 20, "number": 32, "letter": 32, "symbol": 5, "character_string": 32, "time": 40, "date": 40,
          "amount": 11, "phone_number": 17, "car_number": 8, "name": 10, "phrase": 5}
KEYWORD = re.compile(r"^(" + "|".join(sorted(LIMITS, key=len, reverse=True)) + r")(\d+)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_KEEP = {
    "number": re.compile(r"[0-9.]"), "letter": re.compile(r"[A-Za-z]"),
    "symbol": re.compile(r"[^\w\s\u4e00-\u9fff]"), "character_string": re.compile(r"[\x21-\x7e]"),
    "phone_number": re.compile(r"[0-9+\-()]"), "phrase": _CJK,
}


@dataclasses.dataclass(frozen=True)
class Template:
    template_id: str
    keys: dict[str, str]  # our field -> the template's keyword (e.g. "status" -> "phrase2")

    def data(self, fields: dict[str, str]) -> dict[str, dict[str, str]]:
        """The `data` of a send: each keyword with its value cut to its type's limit (no colours)."""
        return {keyword: {"value": fit(keyword, fields.get(field, ""))} for field, keyword in self.keys.items()}


def keyword_type(keyword: str) -> str | None:
    match = KEYWORD.match(keyword)
    return match.group(1) if match else None


def fit(keyword: str, value: str) -> str:
    """`value` as the keyword's type allows it: only the characters the type takes, within its length."""
    kind = keyword_type(keyword) or "thing"
    text = " ".join(str(value).split())  # no line breaks (not shown since 2023-05-04)
    keep = _KEEP.get(kind)
    if keep is not None:
        text = "".join(keep.findall(text))
    limit = LIMITS[kind]
    if len(text) <= limit:
        return text
    return text[:limit - 1] + "…" if kind == "thing" else text[:limit]


def parse_keys(purpose: str, text: str) -> dict[str, str]:
    """`"ticket=character_string1 status=phrase2"` → {"ticket": "character_string1", ...}; ValueError says what is wrong."""
    keys: dict[str, str] = {}
    for pair in text.replace(",", " ").split():
        field, sep, keyword = pair.partition("=")
        if not sep or not field or not keyword:
            raise ValueError(f"{pair!r} is not field=keyword")
        if field not in FIELDS[purpose]:
            raise ValueError(f"unknown field {field!r} (fields for {purpose}: {', '.join(FIELDS[purpose])})")
        if keyword_type(keyword) is None:
            raise ValueError(f"{keyword!r} is not a template keyword such as thing1, phrase2, time3 "
                             f"(types: {', '.join(LIMITS)})")
        keys[field] = keyword
    if not keys:
        raise ValueError("no keys given")
    return keys


def configured(push: object, purpose: str, kind: str) -> Template | None:
    """The purpose's template ("template") or 订阅通知 ("subscribe") from [push], or None."""
    if purpose not in FIELDS:
        return None
    template_id = getattr(push, f"{purpose}_{kind}", "")
    if not template_id:
        return None
    return Template(template_id, parse_keys(purpose, getattr(push, f"{purpose}_{kind}_keys", "")))


def long_term(push: object, purpose: str) -> bool:
    """Whether the purpose's 订阅通知 template is a 长期订阅 one (a consent lasts until withdrawn)."""
    return bool(getattr(push, f"{purpose}_subscribe_long_term", False))
