"""The date parser, against a fixed "today" (Tuesday 2021-06-01) and a Sunday."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services.dates import cn_number, find_when, parse_when

TUESDAY = dt.date(2021, 6, 1)
SUNDAY = dt.date(2021, 6, 6)
D = dt.date

CASES = [
    # (text, first, last)
    ("今天", D(2021, 6, 1), D(2021, 6, 1)),
    ("今日有什么", D(2021, 6, 1), D(2021, 6, 1)),
    ("明天", D(2021, 6, 2), D(2021, 6, 2)),
    ("明天有演练吗", D(2021, 6, 2), D(2021, 6, 2)),
    ("后天", D(2021, 6, 3), D(2021, 6, 3)),
    ("大后天", D(2021, 6, 4), D(2021, 6, 4)),
    ("本周", D(2021, 6, 1), D(2021, 6, 6)),
    ("这周有什么活动", D(2021, 6, 1), D(2021, 6, 6)),
    ("这个星期", D(2021, 6, 1), D(2021, 6, 6)),
    ("下周", D(2021, 6, 7), D(2021, 6, 13)),
    ("下个礼拜 演练", D(2021, 6, 7), D(2021, 6, 13)),
    ("周六", D(2021, 6, 5), D(2021, 6, 5)),
    ("星期六", D(2021, 6, 5), D(2021, 6, 5)),
    ("礼拜天", D(2021, 6, 6), D(2021, 6, 6)),
    ("周一", D(2021, 6, 7), D(2021, 6, 7)),  # this Monday has passed: the next one
    ("周二", D(2021, 6, 1), D(2021, 6, 1)),  # today
    ("这周六", D(2021, 6, 5), D(2021, 6, 5)),
    ("下周六", D(2021, 6, 12), D(2021, 6, 12)),
    ("周末", D(2021, 6, 5), D(2021, 6, 6)),
    ("下周末", D(2021, 6, 12), D(2021, 6, 13)),
    ("6月1日", D(2021, 6, 1), D(2021, 6, 1)),
    ("6月1号", D(2021, 6, 1), D(2021, 6, 1)),
    ("6月1", D(2021, 6, 1), D(2021, 6, 1)),
    ("6-1", D(2021, 6, 1), D(2021, 6, 1)),
    ("6/1", D(2021, 6, 1), D(2021, 6, 1)),
    ("6.1", D(2021, 6, 1), D(2021, 6, 1)),
    ("6.1号", D(2021, 6, 1), D(2021, 6, 1)),
    ("六月一日", D(2021, 6, 1), D(2021, 6, 1)),
    ("六月一号", D(2021, 6, 1), D(2021, 6, 1)),
    ("六月十五日", D(2021, 6, 15), D(2021, 6, 15)),
    ("七月二十七号", D(2021, 7, 27), D(2021, 7, 27)),
    ("2021-06-01", D(2021, 6, 1), D(2021, 6, 1)),
    ("2021/6/1", D(2021, 6, 1), D(2021, 6, 1)),
    ("2021年6月1日", D(2021, 6, 1), D(2021, 6, 1)),
    ("6月1号在哪里有咨询", D(2021, 6, 1), D(2021, 6, 1)),
    ("15号", D(2021, 6, 15), D(2021, 6, 15)),
    ("二十一号", D(2021, 6, 21), D(2021, 6, 21)),
    ("7月", D(2021, 7, 1), D(2021, 7, 31)),
    ("6月份", D(2021, 6, 1), D(2021, 6, 30)),
    ("这个月", D(2021, 6, 1), D(2021, 6, 30)),
    ("下个月", D(2021, 7, 1), D(2021, 7, 31)),
    ("6月1日到6月5日", D(2021, 6, 1), D(2021, 6, 5)),
    ("6月10日至6月12日有什么", D(2021, 6, 10), D(2021, 6, 12)),
    ("本周五进", D(2021, 6, 1), D(2021, 6, 6)),   # this week's 五进, not Friday
    ("周五进行演练", D(2021, 6, 4), D(2021, 6, 4)),
]


@pytest.mark.parametrize(("text", "first", "last"), CASES)
def test_dates_relative_to_a_tuesday(text: str, first: dt.date, last: dt.date) -> None:
    when = parse_when(text, TUESDAY)
    assert when is not None, text
    assert (when.first, when.last) == (first, last)


@pytest.mark.parametrize(("text", "first", "last"), [
    ("周六", D(2021, 6, 12), D(2021, 6, 12)),   # Saturday has passed: next week's
    ("周日", D(2021, 6, 6), D(2021, 6, 6)),     # today
    ("周末", D(2021, 6, 6), D(2021, 6, 6)),     # what is left of it
    ("本周", D(2021, 6, 6), D(2021, 6, 6)),
    ("下周", D(2021, 6, 7), D(2021, 6, 13)),
    ("1号", D(2021, 7, 1), D(2021, 7, 1)),      # this month's 1st has passed
])
def test_dates_relative_to_a_sunday(text: str, first: dt.date, last: dt.date) -> None:
    when = parse_when(text, SUNDAY)
    assert when is not None and (when.first, when.last) == (first, last)


@pytest.mark.parametrize("text", ["燃气泄漏怎么办", "3号线怎么走", "1号楼着火了", "3.5公斤的灭火器", "10:30", "2.5kg",
                                  "6月31日", "13-45", "第3号", ""])
def test_not_dates(text: str) -> None:
    assert parse_when(text, TUESDAY) is None


def test_labels_say_the_day_back() -> None:
    assert parse_when("明天", TUESDAY).label == "明天 6月2日（周三）"
    assert parse_when("本周", TUESDAY).label == "本周（6月1日—6月6日）"
    assert parse_when("6-1", TUESDAY).label == "6月1日（周二）"


def test_span_marks_where_the_date_was_said() -> None:
    match = find_when("请问6月1号在哪里有咨询", TUESDAY)
    assert match.spans == ((2, 6),)


@pytest.mark.parametrize(("text", "value"), [("一", 1), ("十", 10), ("十五", 15), ("二十", 20), ("三十一", 31),
                                             ("7", 7), ("十十", None), ("abc", None)])
def test_chinese_numbers(text: str, value: int | None) -> None:
    assert cn_number(text) == value
