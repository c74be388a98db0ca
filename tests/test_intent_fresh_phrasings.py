"""Messages written fresh for this test, never put in content/intents/: the intent layer must
generalise to how citizens of the county write, not only recall its examples."""

from __future__ import annotations

from pathlib import Path

from bot.services.intents import fold, read_examples
from tests.understanding import Probe, served_intent

CONTENT = Path(__file__).resolve().parent.parent / "content"

FRESH = [
    # out_of_scope
    ("俺屋里又没电了 供电所电话多少", "out_of_scope"),
    ("老板欠俺工钱不给 过年都回不了家", "out_of_scope"),
    ("在网上买的电饭锅是坏的 商家不理人", "out_of_scope"),
    ("公积金能不能拿来付首付", "out_of_scope"),
    ("明儿个赶集下不下雨", "out_of_scope"),
    ("今天大盘咋样", "out_of_scope"),
    ("嗯 那个 医保卡里的钱能给家里人用不", "out_of_scope"),
    # report
    ("我想举报俺们厂 但是怕老板晓得", "report"),
    ("举报能拿多少奖金", "report"),
    ("要是我打电话举报 要报真名不", "report"),
    ("有个危险的地方想跟你们说说 咋个报法", "report"),
    ("舉報要怎麼做", "report"),
    ("想举报 但不想露面", "report"),
    # knowledge
    ("要是电动车在家里冒烟了 该咋办 先问问", "knowledge"),
    ("我爸一个人住 老忘关火 有啥办法", "knowledge"),
    ("小孩暑假老往水库跑 咋教育他注意安全", "knowledge"),
    ("手指头被开水烫了起泡 能挑破不", "knowledge"),
    ("冬天屋里烧煤炉子要注意点啥", "knowledge"),
    ("万一碰到地震 在高楼上咋跑", "knowledge"),
    ("燃气灶的管子多久换一次", "knowledge"),
    # my_reports
    ("上礼拜我报的那个电线杆歪了的事 有人管了没", "my_reports"),
    ("前些天反映的那家烟花店 后来查了没有", "my_reports"),
    ("俺报上去的事咋一直没人回话", "my_reports"),
    ("我之前在这举报过 想看看进展", "my_reports"),
    ("那个楼梯间堆东西的事我报过了 现在咋样", "my_reports"),
    ("我提的隐患办好了没", "my_reports"),
    # emergency
    ("快来人啊 仓库烧起来了", "emergency"),
    ("俺妈倒在厕所里 喊不醒", "emergency"),
    ("有个娃掉进机井里了", "emergency"),
    ("满屋子煤气味 俺男人晕过去了", "emergency"),
    ("工地塌了 压住人了", "emergency"),
    ("救人啊 有人被电打了", "emergency"),
    ("着火了 楼梯上全是烟 下不去", "emergency"),
    # hazard_statement
    ("我们小区的消防栓是坏的 一滴水都没有", "hazard_statement"),
    ("村东头那个池塘边一个护栏都没有", "hazard_statement"),
    ("对门小卖部在店里囤了好多液化气罐", "hazard_statement"),
    ("厂里的叉车司机都没证", "hazard_statement"),
    ("学校门口那个坑好几天了没人填", "hazard_statement"),
    ("楼下饭馆的烟囱天天往外冒火星子", "hazard_statement"),
    ("俺们那条路上的桥裂了好长一道缝", "hazard_statement"),
]


# Missed when this set was written (2026-12-04, after the examples of issue 21), left out of the
# examples on purpose so the set keeps measuring: a power-cut question with 供电所 and no 停电 asks
# for choices; a broken purchase reads as knowledge; 反映的那家烟花店 reads as a new hazard.
KNOWN_MISSES = {"俺屋里又没电了 供电所电话多少", "在网上买的电饭锅是坏的 商家不理人", "前些天反映的那家烟花店 后来查了没有"}


def test_fresh_messages_are_served_their_intent(app) -> None:
    probe = Probe(app)
    try:
        missed = [(text, intent, served_intent(probe, text)[0]) for text, intent in FRESH]
    finally:
        probe.close()
    missed = [miss for miss in missed if miss[1] != miss[2]]
    assert not [miss for miss in missed if miss[0] not in KNOWN_MISSES], missed


def test_no_fresh_message_is_an_example() -> None:
    """They measure generalisation only while they stay out of training."""
    examples = {fold(text) for lines in read_examples(CONTENT).values() for text in lines}
    assert not [text for text, _ in FRESH if fold(text) in examples]


def test_the_set_is_spread_over_the_weak_intents() -> None:
    assert len(FRESH) == 40
    assert {intent for _, intent in FRESH} == {"out_of_scope", "report", "knowledge", "my_reports", "emergency",
                                               "hazard_statement"}
