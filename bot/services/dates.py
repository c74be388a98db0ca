"""Dates as citizens type them: 今天, 明天, 本周, 下周, 周六, 6月1日, 6月1号, 6-1, 6/1, 6.1, 六月一日, 2021-06-01.

`find_when(text, today)` returns the day range a message asks about and where in the text it was
said, so the caller can look at the rest of the words. Everything is relative to the `today` handed
in (from the injected clock), never the wall clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

WEEKDAYS = "一二三四五六日"
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_CN_NUMBER = "[〇零一二两三四五六七八九十]{1,3}"
_NUM = rf"(?:\d{{1,2}}|{_CN_NUMBER})"
_WEEKDAY_NAMES = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
                  "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}


@dataclasses.dataclass(frozen=True)
class When:
    """An inclusive range of days, and how to say it back to the citizen."""

    first: dt.date
    last: dt.date
    label: str

    @property
    def single_day(self) -> bool:
        return self.first == self.last


@dataclasses.dataclass(frozen=True)
class WhenMatch:
    when: When
    spans: tuple[tuple[int, int], ...]  # where in the text it was said


def cn_number(text: str) -> int | None:
    """"6", "十五", "二十一", "三十" -> int; None when it is not a number."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return _CN_DIGITS[text] if len(text) == 1 else None
    tens, _, units = text.partition("十")
    if "十" in units or len(tens) > 1 or len(units) > 1:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def day_label(day: dt.date) -> str:
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def short_day(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def range_label(first: dt.date, last: dt.date) -> str:
    return day_label(first) if first == last else f"{short_day(first)}—{short_day(last)}"


def _safe_date(year: int, month: int | None, day: int | None) -> dt.date | None:
    if month is None or day is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


# Each rule: a pattern and a function (match, today) -> When | None. Tried in order at every position;
# the longer forms come first so "下周六" is not read as "下周".
def _relative_day(offset: int, name: str):
    def build(_m: re.Match[str], today: dt.date) -> When:
        day = today + dt.timedelta(days=offset)
        return When(day, day, f"{name} {day_label(day)}")

    return build


def _weekday_in(week: str):
    def build(m: re.Match[str], today: dt.date) -> When:
        name = m.group("wd")
        if name == "末":
            return _weekend(week, today)
        weekday = _WEEKDAY_NAMES[name]
        if week == "next":
            base = _week_start(today) + dt.timedelta(days=7)
        elif week == "this":
            base = _week_start(today)
        else:  # a bare 周六: this one if it is still ahead (or today), else next week's
            base = _week_start(today + dt.timedelta(days=(weekday - today.weekday()) % 7))
        day = base + dt.timedelta(days=weekday)
        return When(day, day, day_label(day))

    return build


def _weekend(week: str, today: dt.date) -> When:
    base = _week_start(today) + dt.timedelta(days=7 if week == "next" else 0)
    first, last = base + dt.timedelta(days=5), base + dt.timedelta(days=6)
    if week != "next":
        first = max(first, today)  # on Sunday, "周末" is what is left of it
    return When(first, last, f"周末（{range_label(first, last)}）")


def _this_week(_m: re.Match[str], today: dt.date) -> When:
    last = _week_start(today) + dt.timedelta(days=6)
    return When(today, last, f"本周（{range_label(today, last)}）")


def _next_week(_m: re.Match[str], today: dt.date) -> When:
    first = _week_start(today) + dt.timedelta(days=7)
    last = first + dt.timedelta(days=6)
    return When(first, last, f"下周（{range_label(first, last)}）")


def _this_month(_m: re.Match[str], today: dt.date) -> When:
    last = _month_end(today.year, today.month)
    return When(today, last, f"本月（{range_label(today, last)}）")


def _next_month(_m: re.Match[str], today: dt.date) -> When:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return When(dt.date(year, month, 1), _month_end(year, month), f"{month}月")


def _full_date(m: re.Match[str], _today: dt.date) -> When | None:
    day = _safe_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    return When(day, day, day_label(day)) if day else None


def _month_day(m: re.Match[str], today: dt.date) -> When | None:
    day = _safe_date(today.year, cn_number(m.group("m")), cn_number(m.group("d")))
    return When(day, day, day_label(day)) if day else None


def _day_of_month(m: re.Match[str], today: dt.date) -> When | None:
    """"15号": this month's, or next month's when this month's has passed."""
    number = cn_number(m.group("d"))
    day = _safe_date(today.year, today.month, number)
    if day is not None and day < today:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        day = _safe_date(year, month, number)
    return When(day, day, day_label(day)) if day else None


def _whole_month(m: re.Match[str], today: dt.date) -> When | None:
    month = cn_number(m.group("m"))
    if month is None or not 1 <= month <= 12:
        return None
    return When(dt.date(today.year, month, 1), _month_end(today.year, month), f"{month}月")


# "本周五进" is this week's 五进 (the campaign's 安全宣传"五进"), but "周五进行" is Friday.
_WD = "(?P<wd>[一二三四五六日天末1-7])(?!进(?!行))"
_WEEK = "(?:周|星期|礼拜)"
RULES: list[tuple[re.Pattern[str], object]] = [
    (re.compile(r"(?<!\d)(?P<y>20\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?(?!\d)"), _full_date),
    (re.compile(rf"(?<!\d)(?P<m>{_NUM})\s*月份?\s*(?P<d>{_NUM})\s*[日号]?(?![\d万千百])"), _month_day),
    (re.compile(r"(?<![\d.:/-])(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})(?:\s*[日号](?!\d))?(?![\d.:/-]|\s*(?:%|[a-zA-Z]|公|千|克|斤|米|元|块|度|升|吨|倍|个|小时|分))"),
     _month_day),
    (re.compile(r"大后天"), _relative_day(3, "大后天")),
    (re.compile(r"后天"), _relative_day(2, "后天")),
    (re.compile(r"明天|明日|明儿"), _relative_day(1, "明天")),
    (re.compile(r"今天|今日|今儿|当天"), _relative_day(0, "今天")),
    (re.compile(r"昨天|昨日"), _relative_day(-1, "昨天")),
    (re.compile(rf"下个?{_WEEK}{_WD}"), _weekday_in("next")),
    (re.compile(rf"(?:这|本)个?{_WEEK}{_WD}"), _weekday_in("this")),
    (re.compile(rf"{_WEEK}{_WD}"), _weekday_in("nearest")),
    (re.compile(r"下个?(?:周|星期|礼拜)"), _next_week),
    (re.compile(r"(?:这|本)个?(?:周|星期|礼拜)"), _this_week),
    (re.compile(r"(?:这|本)个?月"), _this_month),
    (re.compile(r"下个?月"), _next_month),
    (re.compile(rf"(?<![\d第])(?P<d>{_NUM})\s*[号日](?![\d楼线路])"), _day_of_month),
    (re.compile(rf"(?<![\d第])(?P<m>{_NUM})\s*月份?(?![\d底初])"), _whole_month),
]
_RANGE_JOIN = re.compile(r"^\s*(?:到|至|~|～|—|-)\s*$")


def _matches(text: str, today: dt.date) -> list[tuple[int, int, When]]:
    """Every date expression in the text, left to right, without overlaps."""
    found: list[tuple[int, int, When]] = []
    taken: list[tuple[int, int]] = []
    for pattern, build in RULES:
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            when = build(m, today)  # type: ignore[operator]
            if when is not None:
                found.append((m.start(), m.end(), when))
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda f: f[0])


def find_when(text: str, today: dt.date) -> WhenMatch | None:
    """The days the text asks about; "6月1日到6月5日" is one range."""
    found = _matches(text, today)
    if not found:
        return None
    start, end, when = found[0]
    if len(found) > 1:
        start2, end2, when2 = found[1]
        if _RANGE_JOIN.match(text[end:start2]) and when2.last >= when.first:
            combined = When(when.first, when2.last, range_label(when.first, when2.last))
            return WhenMatch(combined, ((start, end2),))
    return WhenMatch(when, ((start, end),))


def parse_when(text: str, today: dt.date) -> When | None:
    match = find_when(text, today)
    return match.when if match else None


@dataclasses.dataclass(frozen=True)
class Impossible:
    """A date that does not exist ("6月31日", "2月30号"), and the days on either side of it."""

    month: int
    day: int
    days_in_month: int
    before: dt.date  # the month's last day
    after: dt.date   # the next month's first day


# Only forms that cannot be anything but a date (a 月 between the numbers, or a full year-month-day):
# "6.31" may be a price.
_DATE_SHAPED = (
    re.compile(rf"(?<!\d)(?:20\d{{2}}\s*年\s*)?(?P<m>{_NUM})\s*月份?\s*(?P<d>{_NUM})\s*[日号]?(?![\d万千百])"),
    re.compile(r"(?<!\d)20\d{2}\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})(?!\d)"),
)


def impossible_date(text: str, today: dt.date) -> tuple[Impossible, tuple[int, int]] | None:
    """The first date in the text that no calendar has (month 1–12, day 1–31, but not that month's),
    with where it was said; None when every date in it exists."""
    for pattern in _DATE_SHAPED:
        for m in pattern.finditer(text):
            month, day = cn_number(m.group("m")), cn_number(m.group("d"))
            if month is None or day is None or not 1 <= month <= 12 or not 1 <= day <= 31:
                continue
            if _safe_date(today.year, month, day) is not None:
                continue
            last = _month_end(today.year, month)
            return Impossible(month, day, last.day, last, last + dt.timedelta(days=1)), (m.start(), m.end())
    return None
