"""Dates and times as staff type them into the console: 2021-06-01, 2021/6/1, 2021年6月1日, with an
optional 9:30 / 9：30 / 9点30 after. Plain text inputs instead of the browser's date pickers, whose
placeholder ("mm/dd/yyyy") and order follow the browser's language, not the bureau's.
"""

from __future__ import annotations

import datetime as dt
import re

DAY_HINT = "2021-06-01"
MOMENT_HINT = "2021-06-01 09:30"

_DAY = r"(\d{4})\s*(?:[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})|年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?)"
_CLOCK = r"(\d{1,2})\s*(?:[:：]\s*(\d{2})|[点时]\s*(?:(\d{1,2})\s*分?|半|整)?)"
_DAY_RE = re.compile(_DAY)
_MOMENT_RE = re.compile(_DAY + r"(?:\s*T?\s*" + _CLOCK + r")?")
_CLOCK_RE = re.compile(_CLOCK)


def _normal(text: str) -> str:
    # Full-width digits and spaces come from Chinese input methods.
    return text.translate({0x3000: " ", **{0xFF10 + i: str(i) for i in range(10)}}).strip()


def _day(groups: tuple[str | None, ...]) -> dt.date | None:
    year, month, day = groups[0], groups[1] or groups[3], groups[2] or groups[4]
    try:
        return dt.date(int(year), int(month), int(day))  # type: ignore[arg-type]
    except ValueError:  # 2021-02-30
        return None


def _clock(text: str, groups: tuple[str | None, ...]) -> dt.time | None:
    hour, minute = int(groups[0]), groups[1] or groups[2]  # type: ignore[arg-type]
    minutes = int(minute) if minute else (30 if "半" in text else 0)
    try:
        return dt.time(hour, minutes)
    except ValueError:  # 25:00
        return None


def parse_day(text: str) -> dt.date | None:
    """The date in `text`, or None if it is not one (empty text included)."""
    match = _DAY_RE.fullmatch(_normal(text))
    return _day(match.groups()) if match else None


def parse_clock(text: str) -> dt.time | None:
    """A time of day (9:30, 9：30, 9点30, 9点半), or None."""
    text = _normal(text)
    match = _CLOCK_RE.fullmatch(text)
    return _clock(text, match.groups()) if match else None


def parse_moment(text: str) -> dt.datetime | None:
    """A date with a time (the time is required), or None."""
    text = _normal(text)
    match = _MOMENT_RE.fullmatch(text)
    if not match or match.group(6) is None:
        return None
    day = _day(match.groups()[:5])
    clock = _clock(text[match.start(6):], match.groups()[5:])
    return dt.datetime.combine(day, clock) if day and clock else None


def day_problem(what: str) -> str:
    return f"“{what}”的日期看不懂，请按 {DAY_HINT} 这样填写（也可写 2021/6/1 或 2021年6月1日）"


def filter_day(text: str | None, what: str) -> dt.date | None:
    """A list filter's date; one it cannot read is left out of the filter, and a flash says so (else
    the page would look filtered while it is not)."""
    day = parse_day(text) if text else None
    if text and day is None:
        from flask import flash

        flash(f"{day_problem(what)}。这次没有按“{what}”筛选。", "error")
    return day


def moment_problem(what: str) -> str:
    return f"“{what}”的时间看不懂，请按 {MOMENT_HINT} 这样填写（也可写 2021/6/1 9:30 或 2021年6月1日 9:30）"
