"""Events at their edges (issue 21 item 6): a bare township name, a day that does not exist, reminders
for events less than 24 hours away, and a location sent outside any flow. Through the signed webhook;
the clock starts at 2021-06-01 10:00 (conftest), the calendar is content/events.toml.
"""

from __future__ import annotations

import pytest

from bot.clock import shanghai
from tests.reports_helpers import DESCRIPTION, drafts
from tests.wechat import Citizen

NANHE = (36.071, 113.140)  # content/townships.toml: 南河镇's centre
CHENGGUAN = (36.195, 113.116)
BEIJING = (39.904, 116.407)


# --- a bare township name ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name"), [("城关镇", "城关镇"), ("城关", "城关镇"), ("北坡呢？", "北坡镇"),
                                            ("南河镇。", "南河镇")])
def test_a_bare_township_name_gets_its_events(citizen: Citizen, text: str, name: str) -> None:
    reply = citizen.says(text)
    assert reply.startswith(f"{name}的活动"), reply
    assert f"发送 设置乡镇 {name}" in reply and "没有理解" not in reply


def test_an_unknown_township_is_not_read_as_a_piece_of_a_known_one(citizen: Citizen) -> None:
    reply = citizen.says("柳泉镇这边有没有演练")  # not in the county; 龙泉镇 is
    assert "泉镇" not in reply.split("\n", 1)[0] and "应急演练" in reply


def test_ones_own_township_is_not_offered_again(citizen: Citizen) -> None:
    assert "已将您的乡镇设为：城关镇" in citizen.says("设置乡镇 城关镇")
    reply = citizen.says("城关镇")
    assert reply.startswith("城关镇的活动") and "设置乡镇" not in reply


def test_a_township_name_at_the_location_step_is_the_address(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置"),
                    ("城关镇", "已记下位置：城关镇")])
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.address == "城关镇" and draft.township == "chengguan"


# --- a day that does not exist ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "said"), [
    ("6月31日有活动吗", ["没有6月31日这一天", "6月只有30天", "6月30日", "7月1日"]),
    ("6月31日", ["没有6月31日这一天"]),
    ("六月三十一号有什么演练", ["没有6月31日这一天"]),
    ("2月30日", ["没有2月30日这一天", "2月只有28天", "2月28日", "3月1日"]),
])
def test_an_impossible_date_is_said_to_be_one(citizen: Citizen, text: str, said: list[str]) -> None:
    reply = citizen.says(text)
    for part in said:
        assert part in reply, reply
    assert "近期的活动" not in reply  # not every event, as if no date had been given


def test_a_real_date_is_answered_as_before(citizen: Citizen) -> None:
    assert "6月5日（周六）" in citizen.says("6月5日有活动吗")


# --- reminders for events less than 24 hours away ---------------------------------------------------

def test_a_list_for_today_promises_no_24_hour_reminder(citizen: Citizen) -> None:
    reply = citizen.says("今天有什么活动")
    assert "前24小时提醒" not in reply and "订阅后几分钟内提醒您" in reply, reply


def test_a_list_of_later_events_still_says_24_hours(citizen: Citizen) -> None:
    reply = citizen.says("下周有什么活动")
    assert "活动开始前24小时提醒您" in reply, reply


def test_a_reminder_less_than_24_hours_ahead_says_when_it_comes(citizen: Citizen) -> None:
    citizen.says("今天有什么活动")
    reply = citizen.says("提醒 3")  # the online session at 19:30 today
    assert "19:30" in reply and "提醒会在几分钟内发给您" in reply, reply
    mine = citizen.says("我的提醒")
    assert "提醒：几分钟内发出" in mine and "5月31日" not in mine, mine  # not 24 hours before, long past
    assert "提醒会在几分钟内发给您" in citizen.says("提醒 1")  # asked again from 我的提醒's list


def test_my_reminders_never_show_a_time_already_past(citizen: Citizen, clock) -> None:
    citizen.says("活动")
    assert "我们会在6月1日（周二）15:00提醒您" in citizen.says("提醒 5")  # 6月2日 15:00, 24 hours before
    clock.set(shanghai(2021, 6, 1, 16, 0))  # the mark has passed; the job has not run yet
    mine = citizen.says("我的提醒")
    assert "提醒：几分钟内发出" in mine and "15:00提醒" not in mine and "提醒：6月1日" not in mine, mine


# --- a location outside any flow ------------------------------------------------------------------------

def test_a_location_answers_the_nearby_question_just_asked(citizen: Citizen) -> None:
    assert "发送您的位置" in citizen.says("附近有演练吗")
    reply = citizen.location(*NANHE, label="南河镇某村").text
    assert reply.startswith("离您发来的位置最近的是南河镇") and "县级防汛应急演练" in reply, reply
    assert "请先发送" not in reply


def test_a_township_named_answers_the_nearby_question(citizen: Citizen) -> None:
    citizen.says("附近有演练吗")
    assert "县级防汛应急演练" in citizen.says("南河")


def test_a_location_far_from_every_township_asks_for_the_township(citizen: Citizen) -> None:
    citizen.says("附近有演练吗")
    reply = citizen.location(*BEIJING).text
    assert "比较远" in reply and "请回复您所在的乡镇" in reply
    assert "县级防汛应急演练" in citizen.says("南河镇")


def test_a_location_out_of_the_blue_is_offered_for_a_report(citizen: Citizen, bot) -> None:
    reply = citizen.location(*CHENGGUAN, label="城关镇人民路12号").text
    assert "要举报这里的安全隐患吗" in reply and "城关镇人民路12号" in reply and "请先发送" not in reply
    assert "发送 城关镇" in reply  # and its township's events, one message away
    reply = citizen.says("是")
    assert "已记下位置：城关镇人民路12号" in reply and "请选择隐患类别" in reply
    citizen.dialog([("1", "请描述隐患情况"),
                    (DESCRIPTION, ["请发送隐患位置", "当前位置：城关镇人民路12号", "回复 不变 保留"]),
                    ("不变", "请上传现场照片")])
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert (draft.latitude, draft.longitude) == CHENGGUAN and draft.township == "chengguan"


def test_a_location_offer_can_be_declined_or_left_for_the_townships_events(citizen: Citizen, bot) -> None:
    citizen.location(*CHENGGUAN, label="城关镇人民路12号")
    assert "需要时发送 举报" in citizen.says("不用了")
    citizen.location(*CHENGGUAN, label="城关镇人民路12号")
    assert citizen.says("城关镇").startswith("城关镇的活动")
    with bot.db.session() as s:
        assert drafts(s) == []
