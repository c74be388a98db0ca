"""A feature's command word or a menu click at a step that takes data is not saved as the data
(issue 21 item 6): the step asks whether to leave, the same way in every flow (handlers/leaving.py).

Dialogs through the signed webhook, in plaintext and AES mode.
"""

from __future__ import annotations

import pytest

from tests.quiz_helpers import active_round
from tests.reports_helpers import DESCRIPTION, drafts
from tests.test_quiz_draws import make_winner, players, seeded  # noqa: F401 - the draw's fixtures
from tests.wechat import Citizen

ASK_REPORT = "离开当前的举报吗？已填写的内容会保留"

# The way to each step of a report, and the words its question starts with.
TO_STEP = {
    "category": ([("举报", "请选择隐患类别")], "请选择隐患类别"),
    "description": ([("举报", "请选择隐患类别"), ("1", "请描述隐患情况")], "请描述隐患情况"),
    "location": ([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置")],
                 "请发送隐患位置"),
    "photos": ([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置"),
                ("跳过", "请上传现场照片")], "请上传现场照片"),
    "contact": ([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置"),
                 ("跳过", "请上传现场照片"), ("跳过", "请留下姓名")], "请留下姓名"),
    "confirm": ([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置"),
                 ("跳过", "请上传现场照片"), ("跳过", "请留下姓名"), ("匿名", "请核对您的举报")], "请核对您的举报"),
}


@pytest.mark.parametrize("step", list(TO_STEP))
@pytest.mark.parametrize("command", ["答题", "排行榜", "活动", "我的举报"])
def test_a_command_word_at_any_report_step_asks_to_leave(citizen: Citizen, bot, step: str, command: str) -> None:
    way, question = TO_STEP[step]
    citizen.dialog(way)
    with bot.db.session() as s:
        [before] = drafts(s)
        kept = (before.category, before.description, before.address, before.location_given, before.anonymous)
    reply = citizen.says(command)
    assert ASK_REPORT in reply and f"「{command}」" in reply and "回复 否" in reply, reply
    with bot.db.session() as s:
        [after] = drafts(s)
        assert (after.category, after.description, after.address, after.location_given, after.anonymous) == kept
    reply = citizen.says("否")
    assert "继续填写" in reply and question in reply


def test_the_location_step_does_not_store_a_command_as_the_address(citizen: Citizen, bot) -> None:
    citizen.dialog(TO_STEP["location"][0])
    assert ASK_REPORT in citizen.says("答题")
    reply = citizen.says("是")
    assert reply.startswith("好的。已填写的内容会保留") and "第1/5题" in reply  # left, and the quiz began
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.address is None and not draft.location_given and draft.description == DESCRIPTION


def test_yes_to_leaving_runs_the_command_and_the_draft_can_be_resumed(citizen: Citizen) -> None:
    citizen.dialog(TO_STEP["location"][0])
    citizen.dialog([("排行榜", ASK_REPORT), ("好的", ["已填写的内容会保留", "排行榜还没有成绩"]),
                    ("继续", "请发送隐患位置"), ("城关镇人民路12号", "已记下位置：城关镇人民路12号")])


def test_a_menu_click_at_a_step_asks_the_same_way(citizen: Citizen) -> None:
    citizen.dialog(TO_STEP["description"][0])
    reply = citizen.click("QUIZ_RANK").text
    assert ASK_REPORT in reply and "菜单「排行榜」" in reply
    assert "排行榜还没有成绩" in citizen.says("是")


def test_another_answer_to_the_question_is_the_steps_answer(citizen: Citizen, bot) -> None:
    citizen.dialog(TO_STEP["location"][0])
    assert ASK_REPORT in citizen.says("活动")
    assert "已记下位置" in citizen.says("城关镇人民路12号")
    assert "请留下姓名" in citizen.says("跳过")
    assert "请同时留下手机号" in citizen.says("是")  # the question is gone: a yes now is no leaving
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.address == "城关镇人民路12号"


def test_suanle_to_the_question_stays_and_cancel_still_cancels(citizen: Citizen, bot) -> None:
    citizen.dialog(TO_STEP["description"][0])
    assert ASK_REPORT in citizen.says("答题")
    assert "继续填写" in citizen.says("算了") and len(drafts_of(bot)) == 1
    assert ASK_REPORT in citizen.says("答题")
    assert "确定要放弃这份举报吗" in citizen.says("取消")
    assert "已放弃本次举报" in citizen.says("是")


def drafts_of(bot) -> list:
    with bot.db.session() as s:
        return drafts(s)


def test_the_reports_own_word_asks_the_step_again(citizen: Citizen) -> None:
    citizen.dialog(TO_STEP["location"][0])
    reply = citizen.says("举报")
    assert "当前的举报还在进行中" in reply and "请发送隐患位置" in reply and "离开" not in reply


def test_words_the_step_knows_stay_the_steps(citizen: Citizen) -> None:
    citizen.dialog(TO_STEP["confirm"][0])
    assert "举报已提交" in citizen.says("确认")


def test_a_command_during_a_quiz_round_asks_and_keeps_the_round(citizen: Citizen, bot) -> None:
    assert "第1/5题" in citizen.says("答题")
    reply = citizen.says("排行榜")
    assert "离开当前的答题吗？这一轮会保留" in reply and "「排行榜」" in reply
    assert "第1/5题" in citizen.says("不")
    assert "离开当前的答题吗" in citizen.click("REPORT_START").text
    reply = citizen.says("是")
    assert "这一轮会保留" in reply and "请选择隐患类别" in reply
    rnd = active_round(bot, citizen.openid)
    assert rnd is not None and rnd.position == 0
    citizen.dialog([("取消", "确定要放弃"), ("取消", "已放弃本次举报")])
    assert "继续您未完成的一轮" in citizen.says("答题")


def test_the_quiz_word_during_a_round_shows_the_question(citizen: Citizen) -> None:
    assert "第1/5题" in citizen.says("答题")
    reply = citizen.says("答题")
    assert "当前的答题还在进行中" in reply and "第1/5题" in reply


@pytest.mark.usefixtures("players")
def test_a_command_at_a_prize_claim_step_is_not_taken_as_the_name(citizen: Citizen, bot, clock) -> None:
    make_winner(bot, clock, citizen.openid)
    assert "姓名" in citizen.click("QUIZ_CLAIM").text
    reply = citizen.says("排行榜")  # three Chinese characters: a valid name, were it not a command
    assert "离开当前的领奖登记吗" in reply and "不会保存" in reply
    assert "请回复领奖人姓名" in citizen.says("否")
    citizen.dialog([("王小明", "11位手机号"), ("13912345678", "王小明")])


def test_a_command_at_the_township_list_leaves_it_at_once(citizen: Citizen) -> None:
    assert "请回复您所在乡镇" in citizen.says("设置乡镇")
    assert "第1/5题" in citizen.says("答题")


def test_a_command_at_a_report_offer_leaves_it_at_once(citizen: Citizen, bot) -> None:
    assert "像是一条" in citizen.says("楼道里有人给电动车充电，天天如此")
    assert "近期的活动" in citizen.says("活动")
    assert drafts_of(bot) == []
