"""The safety net: a reply to a message that may be about danger now starts with the numbers.

The emergency layer and a sure intent answer danger they recognise; the net covers the rest with the
numbers as the first line (bot/services/emergency_net.py). Its bar is chosen by the build on
out-of-fold probabilities, for 99% of the emergency examples (bench/RESULTS.md, Understanding).
"""

from __future__ import annotations

import re

from bot.services.intents import read_examples
from tests.test_intents import CONTENT
from tests.wechat import Citizen

NUMBER = re.compile(r"11[09]|120|122|96333")


def test_every_emergency_example_is_told_whom_to_call_in_the_first_line(bot, wechat) -> None:
    missed = []
    for number, text in enumerate(read_examples(CONTENT)["emergency"]):
        reply = Citizen(wechat, f"o_net_{number}").says(text)
        if not NUMBER.search(reply.split("\n", 1)[0]):
            missed.append(text)
    assert missed == []


def test_a_message_that_may_be_danger_is_told_the_numbers_first_and_once(citizen: Citizen, bot) -> None:
    text = "我手机没电了"  # leans to emergency (stranded?) without a danger word: a false alarm costs one line
    assert bot.content.intents.may_be_danger(text) and bot.content.emergencies.read(text) is None
    reply = citizen.says(text)
    # The line, or the one close guess asked as a question that itself names the numbers.
    assert "119" in reply.split("\n", 1)[0]
    assert reply.count("119") == 1  # once


def test_calm_small_talk_and_sure_features_get_no_line(citizen: Citizen, bot) -> None:
    line = bot.content.emergencies.maybe_line
    for text in ("谢谢你啊", "你好", "排行榜", "答题"):
        assert not citizen.says(text).startswith(line), text
        citizen.says("取消")


def test_inside_a_flow_the_step_keeps_its_own_check(citizen: Citizen, bot) -> None:
    citizen.says("举报")
    reply = citizen.says("我手机没电了")
    assert not reply.startswith(bot.content.emergencies.maybe_line)


def test_a_router_that_knew_its_words_still_puts_the_line_first_when_danger_is_said(citizen: Citizen, bot) -> None:
    text = "6月5日演练的时候有人晕倒了怎么办"  # a date for the events router, and someone fainting
    assert bot.content.emergencies.read(text).mode == "calm"  # asked calmly: no full warning
    first, rest = citizen.says(text).split("\n\n", 1)
    assert first == bot.content.emergencies.maybe_line
    assert "演练" in rest  # the events answer is still there, below


def test_a_date_and_a_danger_word_alone_get_no_line(citizen: Citizen, bot) -> None:
    # 火灾 only names the topic (no one is in danger): the events answer stands alone.
    assert not citizen.says("火灾逃生演练在哪里").startswith(bot.content.emergencies.maybe_line)
