"""Danger now, in the middle of every flow: the number is the first line and the flow keeps its place
(issue 21 item 3). test_emergency_flow.py has the report's location and description steps, a quiz
round, the prize claim's name step and an events list; these are the other steps.

Dialogs through the signed webhook, in plaintext and AES mode.
"""

from __future__ import annotations

import pytest

from tests.reports_helpers import DESCRIPTION, drafts
from tests.test_quiz_draws import make_winner, players, seeded  # noqa: F401 - the draw's fixtures
from tests.wechat import Citizen

REPORT = [("举报", "请选择隐患类别")]
DESCRIBED = [*REPORT, ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置")]

# (where the citizen is, what they send in danger, the number its first line gives, how the flow goes on)
IN_FLOWS = {
    "report category": (REPORT, "救命啊 有人触电了", "120", ("1", "请描述隐患情况")),
    "report photos": ([*DESCRIBED, ("跳过", "请上传现场照片")], "着火了！", "119", ("跳过", "请留下姓名")),
    "report contact": ([*DESCRIBED, ("跳过", "请上传现场照片"), ("跳过", "请留下姓名")], "有人晕倒了叫不醒", "120",
                       ("匿名", "请核对您的举报")),
    "report summary": ([*DESCRIBED, ("跳过", "请上传现场照片"), ("跳过", "请留下姓名"), ("匿名", "请核对")],
                       "煤气泄漏了好大味道", "119", ("确认", "举报已提交")),
    "report cancel question": ([*DESCRIBED, ("取消", "确定要放弃")], "楼下起火了", "119", ("否", "请发送隐患位置")),
    "report leave question": ([*DESCRIBED, ("答题", "离开当前的举报吗")], "救命", "110", ("否", "请发送隐患位置")),
    "report offer": ([("楼道里有人给电动车充电，天天如此", "像是一条")], "家里着火了", "119", ("是", "（返回 上一步 · 取消 放弃）")),
    "township list": ([("设置乡镇", "请回复您所在乡镇")], "有人落水了", "110", ("1", "已将您的乡镇设为")),
    "knowledge choices": ([("燃气", "请回复序号")], "救命 有人触电", "120", None),
}


@pytest.mark.parametrize("where", list(IN_FLOWS))
def test_danger_now_in_the_middle_of_a_flow(citizen: Citizen, where: str) -> None:
    setup, danger, number, then = IN_FLOWS[where]
    citizen.dialog(setup)
    first = citizen.says(danger).split("\n", 1)[0]
    assert number in first, first
    if then is not None:
        assert then[1] in citizen.says(then[0])


def test_danger_now_at_the_unfinished_report_question_keeps_the_draft(citizen: Citizen, bot, clock) -> None:
    citizen.dialog(DESCRIBED)
    clock.advance(minutes=40)
    assert "您有一份未完成的举报" in citizen.says("举报")
    assert "119" in citizen.says("厨房烧起来了").split("\n", 1)[0]
    assert "请发送隐患位置" in citizen.says("继续")
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.description == DESCRIPTION


@pytest.mark.usefixtures("players")
def test_danger_now_at_the_prize_claims_phone_and_confirmation(citizen: Citizen, bot, clock) -> None:
    make_winner(bot, clock, citizen.openid)
    citizen.dialog([(lambda c: c.click("QUIZ_CLAIM"), "姓名"), ("王小明", "11位手机号")])
    assert "120" in citizen.says("我爸突然倒地不起了").split("\n", 1)[0]
    assert "请核对" in citizen.says("13912345678")
    assert "119" in citizen.says("着火了快跑").split("\n", 1)[0]
    assert "已登记领奖信息" in citizen.says("确认")


def test_a_dangerous_description_is_saved_whole_and_warned_first(citizen: Citizen, bot) -> None:
    """The issue's own example: the warning (119, the gas company) first, then the next step."""
    citizen.dialog([*REPORT, ("3", "请描述隐患情况")])
    text = "燃气管道破了现在很大味道"
    reply = citizen.says(text)
    first = reply.split("\n", 1)[0]
    assert "119" in first and "燃气公司" in first, first
    assert reply.index("119") < reply.index("请发送隐患位置")
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.description == text
    assert "已记下位置" in citizen.says("城关镇人民路12号")


def test_danger_now_in_a_description_while_leaving_was_asked_is_warned_once_and_saved(citizen: Citizen, bot) -> None:
    citizen.dialog([*REPORT, ("3", "请描述隐患情况"), ("答题", "离开当前的举报吗")])
    text = "燃气管道破了现在很大味道"
    reply = citizen.says(text)
    assert "119" in reply.split("\n", 1)[0] and reply.count("119") == 1, reply
    assert "请发送隐患位置" in reply
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.description == text
