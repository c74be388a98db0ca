"""Answer parsing: what citizens type maps to the same answer; anything else is None (asked again)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.services.quiz.answers import parse_answer
from bot.services.quiz.bank import FALSE, LETTERS, TRUE

FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in LETTERS + LETTERS.lower()}
PREFIXES = ["", "选", "我选", "答案是", "答案：", "答案", "我的答案是", "选择"]
SUFFIXES = ["", "。", ".", "!", "！", " ", "选项"]
SEPARATORS = ["", ",", "，", "、", " ", "/", ";", "和"]


@st.composite
def typed_choice(draw, kind: str):
    count = draw(st.integers(min_value=2, max_value=6))
    size = 1 if kind == "single" else draw(st.integers(min_value=2, max_value=count))
    letters = draw(st.permutations(LETTERS[:count]))[:size]
    shown = [draw(st.sampled_from([c, c.lower(), FULL_WIDTH[c], FULL_WIDTH[c.lower()]])) for c in letters]
    separator = draw(st.sampled_from(SEPARATORS))
    text = draw(st.sampled_from(PREFIXES)) + separator.join(shown) + draw(st.sampled_from(SUFFIXES))
    return text, count, "".join(sorted(letters))


@given(typed_choice("single"))
def test_single_choice_as_typed(case) -> None:
    text, count, expected = case
    assert parse_answer(text, "single", count) == expected


@given(typed_choice("multiple"))
def test_multiple_choice_in_any_order_and_with_separators(case) -> None:
    text, count, expected = case
    assert parse_answer(text, "multiple", count) == expected


@given(st.sampled_from(["对", "√", "是", "正确", "对的"]), st.sampled_from(PREFIXES[:4]), st.sampled_from(SUFFIXES))
def test_true_words(word: str, prefix: str, suffix: str) -> None:
    assert parse_answer(prefix + word + suffix, "truefalse") == TRUE


@given(st.sampled_from(["错", "×", "否", "错误", "不对"]), st.sampled_from(PREFIXES[:4]), st.sampled_from(SUFFIXES))
def test_false_words(word: str, prefix: str, suffix: str) -> None:
    assert parse_answer(prefix + word + suffix, "truefalse") == FALSE


@given(st.text(max_size=30), st.sampled_from(["single", "multiple", "truefalse"]), st.integers(2, 6))
def test_anything_is_either_a_valid_answer_or_none(text: str, kind: str, count: int) -> None:
    result = parse_answer(text, kind, count)
    if result is None:
        return
    if kind == "truefalse":
        assert result in (TRUE, FALSE)
    else:
        assert set(result) <= set(LETTERS[:count]) and result == "".join(sorted(set(result)))
        assert (len(result) == 1) if kind == "single" else (len(result) >= 2)
        # A valid answer is made of letters the citizen actually typed.
        assert set(result) <= set(unicodedata.normalize("NFKC", text).upper())


def test_examples_from_the_issue() -> None:
    for text in ("A", "a", "Ａ", "选A", "答案是A", "A。"):
        assert parse_answer(text, "single", 4) == "A", text
    for text in ("ABD", "A,B,D", "a b d", "DBA", "d、b、a"):
        assert parse_answer(text, "multiple", 4) == "ABD", text
    for text, expected in (("对", TRUE), ("错", FALSE), ("√", TRUE), ("×", FALSE), ("是", TRUE), ("否", FALSE),
                           ("正确", TRUE), ("错误", FALSE)):
        assert parse_answer(text, "truefalse") == expected


def test_not_answers() -> None:
    assert parse_answer("E", "single", 4) is None  # no such option
    assert parse_answer("AB", "single", 4) is None
    assert parse_answer("B", "multiple", 4) is None  # a multiple-choice answer has two or more letters
    assert parse_answer("排行", "single", 4) is None
    assert parse_answer("A", "truefalse") is None
    assert parse_answer("", "single", 4) is None
    assert parse_answer("我觉得是B吧", "single", 4) is None
