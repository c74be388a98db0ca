"""Danger now in citizens' own forms (tests/emergency_phrasings.txt): pinyin, English words, emoji,
dialect, a described body instead of a named danger, and long voice text with the danger in the
middle. Every one is told whom to call in the reply's first line, whichever feature answered."""

from __future__ import annotations

from pathlib import Path

from tests.wechat import Citizen

CASES = Path(__file__).with_name("emergency_phrasings.txt")


def read_cases() -> list[tuple[tuple[str, ...], str]]:
    lines = CASES.read_text(encoding="utf-8").splitlines()
    return [(tuple(numbers.split(",")), text) for numbers, _, text in
            (line.partition("|") for line in lines if line.strip() and not line.startswith("#"))]


def test_every_message_in_danger_hears_whom_to_call_first(wechat) -> None:
    missed = []
    for number, (numbers, text) in enumerate(read_cases()):
        first = Citizen(wechat, f"o_phrasing_{number}").says(text).split("\n", 1)[0]
        if not any(n in first for n in numbers):
            missed.append((text, first))
    assert missed == []


def test_the_table_is_well_formed() -> None:
    cases = read_cases()
    assert len(cases) >= 200
    assert all(numbers and all(numbers) and text for numbers, text in cases)
    assert len({text for _, text in cases}) == len(cases)  # no message twice
