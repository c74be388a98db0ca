"""Citizen wordings that are in no entry's phrasings (issue 21): dialect, a described situation
instead of the term, short or run-on voice text. Each must reach its entry directly or as the first
of the numbered choices."""

from __future__ import annotations

import pytest

CASES = [
    ("俺家屋里着火了咋往外跑", "fire-escape"),
    ("失火了先救人还是先跑出去", "fire-escape"),
    ("门缝里一直往里冒烟俺出不去了", "fire-trapped"),
    ("衣裳烧起来了往地上滚行不", "fire-clothes"),
    ("炒菜锅里的油呼一下着了", "fire-oil-pan"),
    ("油锅冒火了能泼水不", "fire-oil-pan"),
    ("插座那里冒火花还有焦味", "fire-electrical"),
    ("电视机后面烧起来了", "fire-electrical"),
    ("灭火器那个销子咋拔", "fire-extinguisher-use"),
    ("不晓得灭火器咋用", "fire-extinguisher-use"),
    ("家用买哪种灭火器好使", "fire-extinguisher-types"),
    ("灭火器指针到红的了还能用不", "fire-extinguisher-check"),
    ("灭火器几年就过期了", "fire-extinguisher-check"),
    ("打119要说些啥", "fire-call-119"),
    ("楼道让人堆满了杂物", "fire-escape-routes"),
    ("消防通道被车堵死了", "fire-escape-routes"),
    ("平常在家咋防火", "fire-home-prevention"),
    ("楼里墙上红箱子的消防水带咋用", "fire-hydrant"),
    ("在KTV唱歌碰上着火咋跑", "fire-public-places"),
    ("住宾馆碰上着火咋跑", "fire-public-places"),
    ("烟感报警器老响", "fire-smoke-alarm"),
    ("清明去上坟能烧纸不", "fire-forest"),
    ("灭火毯咋使", "fire-blanket"),
    ("屋里一股煤气味咋整", "gas-leak"),
    ("天然气管子漏气了咋办", "gas-leak"),
    ("燃气灶的软管老化了要换吗", "gas-safe-use"),
    ("煤气罐放倒了用行不行", "gas-cylinder"),
    ("液化气罐子漏气了", "gas-cylinder"),
    ("洗澡洗着洗着头晕了是热水器的事吗", "gas-water-heater"),
    ("一家子早上都头疼恶心是不是中煤气了", "co-poisoning"),
    ("有人煤气中毒了咋救", "co-poisoning"),
    ("老人冬天屋里烧煤炉子睡觉怕中毒", "co-heating"),
    ("蜂窝煤炉子放卧室安全不", "co-heating"),
    ("燃气报警器一直叫咋办", "gas-alarm"),
    ("开饭馆后厨用燃气有啥要求", "gas-restaurant"),
    ("车里开着空调睡一宿会中毒不", "co-car"),
    ("车停车库里不熄火人在里面睡觉", "co-car"),
]

# Still missed when written (the right entry scores first but under the choice threshold): kept
# strict, so that a matcher change that reaches them shows and they move up.
MISSED = [
    ("着大火了人往哪边逃命", "fire-escape"),
    ("火堵住楼梯了人困在家里", "fire-trapped"),
    ("孩子裤子被火点着了", "fire-clothes"),
]


def reaches(bot, text: str, entry_id: str) -> bool:
    result = bot.content.knowledge.understand(text)
    return result.band in ("direct", "choose") and result.best.entry.id == entry_id


@pytest.mark.parametrize(("text", "entry_id"), CASES)
def test_a_citizen_wording_reaches_its_entry(bot, text: str, entry_id: str) -> None:
    result = bot.content.knowledge.understand(text)
    assert reaches(bot, text, entry_id), (text, result.band, [m.entry.id for m in result.matches])


@pytest.mark.xfail(strict=True, reason="the right entry is first but scores under the choice threshold")
@pytest.mark.parametrize(("text", "entry_id"), MISSED)
def test_a_citizen_wording_still_missed(bot, text: str, entry_id: str) -> None:
    assert reaches(bot, text, entry_id)
