"""Each hotline of content/hotlines.toml is found from the ways citizens actually put it (dialect,
traditional script, pinyin, run-ons), not only from the words it was first written with."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.hotlines import load_hotlines

CONTENT = Path(__file__).resolve().parent.parent / "content"

PHRASINGS = [
    ("我家停电了什么时候来电", "95598"),
    ("俺们这片断电一下午了", "95598"),
    ("停電了幾點恢復", "95598"),
    ("tingdian le zenme ban", "95598"),
    ("包工头跑了俺的工钱咋要", "12333"),
    ("厂里拖欠三个月没发钱", "12333"),
    ("被辞退了没给补偿", "12333"),
    ("超市卖过期牛奶", "12315"),
    ("饭店乱收费找谁", "12315"),
    ("买的东西不给退", "12315"),
    ("公积金咋提出来", "12329"),
    ("公基金贷款额度多少", "12329"),
    ("新农合今年交多少", "12393"),
    ("异地就医咋备案", "12393"),
    ("醫保卡丟了", "12393"),
    ("驾照扣分了咋消", "122"),
    ("后天天氣咋样", "12121"),
    ("明天有雪没", "12121"),
    ("去医院挂号咋挂", "12320"),
    ("户口迁移要带啥材料", "12345"),
    ("路灯坏了好久没人修", "12345"),
]


@pytest.mark.parametrize(("text", "number"), PHRASINGS)
def test_a_citizens_phrasing_finds_its_line(text: str, number: str) -> None:
    assert load_hotlines(CONTENT).for_text(text).number == number


def test_every_line_is_checked() -> None:
    hotlines = load_hotlines(CONTENT)
    assert {line.number for line in hotlines.lines} | {hotlines.default.number} == {n for _, n in PHRASINGS}
