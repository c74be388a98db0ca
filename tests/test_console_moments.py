"""Dates and times typed into the console forms: the ways staff write them, and a Chinese refusal."""

import datetime as dt

import pytest

from bot.console import moments

JUNE_1_930 = dt.datetime(2021, 6, 1, 9, 30)


@pytest.mark.parametrize("text", ["2021-06-01 09:30", "2021/6/1 9:30", "2021年6月1日 9:30", "2021年6月1日9点半",
                                  "2021-06-01T09:30", " 2021.6.1  9：30 ", "２０２１/６/１ ９:３０"])
def test_common_ways_of_writing_a_moment(text):
    assert moments.parse_moment(text) == JUNE_1_930


@pytest.mark.parametrize("text", ["06/01/2021 9:30", "2021-02-30 9:30", "2021-06-01 25:00", "2021-06-01", "明天", ""])
def test_a_moment_that_is_not_one_is_none(text):
    assert moments.parse_moment(text) is None


@pytest.mark.parametrize("text", ["2021-06-01", "2021-6-1", "2021/6/1", "2021年6月1日", "2021年6月1号"])
def test_common_ways_of_writing_a_day(text):
    assert moments.parse_day(text) == dt.date(2021, 6, 1)


@pytest.mark.parametrize("text", ["6/1/2021", "2021-13-01", "2021"])
def test_a_day_that_is_not_one_is_none(text):
    assert moments.parse_day(text) is None


def test_the_refusal_names_the_field_in_chinese():
    text = moments.moment_problem("定时")
    assert "定时" in text and "2021-06-01 09:30" in text and "mm" not in text.lower()
