"""Re-entry for every pair of flows (issue 22 §3): a flow at each of its steps, and another feature's
entry word or its menu click (handlers/leaving.py; each flow declares its re-entry once).

- A step with work to keep asks "离开当前的举报吗？…"; 否 asks the step again; 是 gives the other
  feature's first reply, and the work is kept as the question said (a report resumed with 继续, a
  round with 答题) or dropped (a prize claim's name and phone).
- A step where nothing was typed yet (an offer, the unfinished-report question, the township list)
  and a flow that only remembers context (an events list, numbered choices) give that reply at once.
- The flow's own word or key asks its step again (at a report offer: takes the offer); 帮助 is
  answered everywhere and the flow stays.

Dialogs through the signed webhook, every pair in plaintext (this is about routing); every step with
a typed word and a menu click again in AES mode, where a click arrives as an encrypted event and the
question's 是 must replay it (test_leaving_a_step.py runs its dialogs in both modes too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from bot.chat.conversation import StateGroup
from handlers.leaving import DECLARED
from tests.test_leaving_a_step import TO_STEP
from tests.test_quiz_draws import make_winner, play
from tests.wechat import Citizen

PLAIN_ONLY = pytest.mark.parametrize("mode", ["plain"], indirect=True)

HAZARD = "楼道里有人给电动车充电，天天如此"


def _report_at(step: str) -> Callable[[Citizen, object, object], None]:
    return lambda citizen, bot, clock: citizen.dialog(TO_STEP[step][0])


def _unfinished_report(citizen: Citizen, bot, clock) -> None:
    citizen.dialog([("举报", "请选择隐患类别"), ("1", "请描述隐患情况")])
    clock.advance(minutes=40)  # the conversation times out; the draft is kept for a day
    citizen.dialog([("举报", "您有一份未完成的举报")])


def _claim_at(step: str) -> Callable[[Citizen, object, object], None]:
    def reach(citizen: Citizen, bot, clock) -> None:
        play(citizen, bot, clock)  # full marks on June 1: drawn, and a winner
        clock.advance(days=2)
        make_winner(bot, clock, citizen.openid)
        citizen.dialog([(lambda c: c.click("QUIZ_CLAIM"), "请回复领奖人姓名")])
        if step != "name":
            citizen.dialog([("王小明", "11位手机号")])
        if step == "confirm":
            citizen.dialog([("13912345678", "请核对")])
    return reach


def _says(text: str, expected: str) -> Callable[[Citizen, object, object], None]:
    return lambda citizen, bot, clock: citizen.dialog([(text, expected)])


@dataclasses.dataclass(frozen=True)
class Where:
    reach: Callable[[Citizen, object, object], None]
    kind: str    # "ask": work to keep · "leave": nothing typed yet · "context": a list or choices
    prompt: str  # the step's question, asked again after 否 or the flow's own word
    own: str = ""  # what the flow's own word or key says there


REPORT_OWN = "当前的举报还在进行中"
STEPS = {
    "report:offer": Where(_says(HAZARD, "像是一条"), "leave", "请回复 是 开始举报", own="作为描述"),
    "report:pending": Where(_unfinished_report, "leave", "请回复 继续 接着填写", own=REPORT_OWN),
    **{f"report:{step}": Where(_report_at(step), "ask", TO_STEP[step][1], own=REPORT_OWN) for step in TO_STEP},
    "quiz:answering": Where(_says("答题", "第1/5题"), "ask", "第1/5题", own="当前的答题还在进行中"),
    "prizeclaim:name": Where(_claim_at("name"), "ask", "请回复领奖人姓名", own="当前的领奖登记还在进行中"),
    "prizeclaim:phone": Where(_claim_at("phone"), "ask", "11位手机号", own="当前的领奖登记还在进行中"),
    "prizeclaim:confirm": Where(_claim_at("confirm"), "ask", "请回复 确认 提交", own="当前的领奖登记还在进行中"),
    "township:choose": Where(_says("设置乡镇", "请回复您所在乡镇"), "leave", "请回复您所在乡镇", own="当前的乡镇设置还在进行中"),
    "events:listing": Where(_says("活动", "近期的活动"), "context", ""),
    "events:near": Where(_says("附近有演练吗", "乡镇"), "context", ""),
    "knowledge:choose": Where(_says("燃气", "请回复序号"), "context", ""),
    "intent:choose": Where(_says("拍了照片怎么发给你们", "您是想举报安全隐患吗"), "context", ""),
}


@dataclasses.dataclass(frozen=True)
class Entry:
    feature: str
    first: str   # in the feature's first reply
    word: str = ""
    key: str = ""
    menu: str = ""  # the button's name, as the question names it

    def send(self, citizen: Citizen, clock) -> str:
        clock.advance(seconds=1)  # a second click on one button in one second would be WeChat's retry
        return citizen.click(self.key).text if self.key else citizen.says(self.word)

    @property
    def goal(self) -> str:
        return f"菜单「{self.menu}」" if self.key else f"「{self.word}」"


def _both(feature: str, first: str, word: str, key: str = "", menu: str = "") -> dict[str, Entry]:
    entries = {word: Entry(feature, first, word=word)}
    if key:
        entries[key] = Entry(feature, first, key=key, menu=menu)
    return entries


ENTRIES = {
    **_both("report", "请选择隐患类别", "举报", "REPORT_START", "我要举报"),
    **_both("my_reports", "您还没有提交过举报", "我的举报", "REPORT_MINE", "我的举报"),
    **_both("report_guide", "隐患举报须知", "举报须知", "REPORT_GUIDE", "举报须知"),
    **_both("quiz", "第1/5题", "答题", "QUIZ_START", "今日答题"),
    **_both("rank", "排行榜", "排行榜", "QUIZ_RANK", "排行榜"),
    **_both("my_results", "答题记录", "我的成绩", "QUIZ_MINE", "我的成绩"),
    **_both("prize", "没有待领取的奖品", "领奖", "QUIZ_CLAIM", "领取奖品"),
    **_both("events", "近期的活动", "活动", "EVENTS", "活动日历"),
    "EVENTS_TODAY": Entry("events", "今天", key="EVENTS_TODAY", menu="今日活动"),
    **_both("knowledge", "可以直接用自己的话提问", "安全知识", "KNOWLEDGE", "安全知识"),
    **_both("township", "请回复您所在乡镇", "设置乡镇"),
    **_both("reminders", "您还没有订阅活动提醒", "我的提醒"),
}
HELP = {"帮助": Entry("help", "您可以发送下面的文字", word="帮助"),
        "HELP": Entry("help", "您可以发送下面的文字", key="HELP", menu="使用帮助")}
OWN = {"report": "report", "quiz": "quiz", "prizeclaim": "prize", "township": "township"}  # flow → its feature


def _own(step: str, entry: Entry) -> bool:
    return OWN.get(step.split(":")[0]) == entry.feature


def _carry_on(citizen: Citizen, clock, text: str) -> str:
    """Send `text` to pick the kept work up; when the other feature holds work now, leave it first."""
    clock.advance(seconds=1)
    reply = citizen.says(text)
    if "离开当前的" in reply:
        reply = citizen.says("是")
    return reply


def _work_is_kept(step: str, citizen: Citizen, clock) -> None:
    flow = step.split(":")[0]
    if flow == "report":
        prompt = STEPS["report:description" if step == "report:pending" else step].prompt
        reply = _carry_on(citizen, clock, "继续")
        assert "好的，接着填写。" in reply and prompt in reply, reply
    elif flow == "quiz":
        reply = _carry_on(citizen, clock, "答题")
        assert "继续您未完成的一轮" in reply and "第1/5题" in reply, reply
    elif flow == "prizeclaim":  # the question said the name and phone are not kept: asked afresh
        reply = _carry_on(citizen, clock, "领奖")
        assert "恭喜获奖" in reply and "请回复领奖人姓名" in reply, reply


@PLAIN_ONLY
@pytest.mark.parametrize("entry", list(ENTRIES))
@pytest.mark.parametrize("step", list(STEPS))
def test_another_feature_from_every_step(citizen: Citizen, bot, clock, step: str, entry: str) -> None:
    _leave_for(citizen, bot, clock, step, entry)


AES_SAMPLE = ["活动", "REPORT_MINE"]  # a word and a click that are no flow's own


@pytest.mark.parametrize("mode", ["aes"], indirect=True)
@pytest.mark.parametrize("entry", AES_SAMPLE)
@pytest.mark.parametrize("step", list(STEPS))
def test_another_feature_from_every_step_in_aes_mode(citizen: Citizen, bot, clock, step: str, entry: str) -> None:
    assert citizen.server.mode == "aes"
    _leave_for(citizen, bot, clock, step, entry)


def _leave_for(citizen: Citizen, bot, clock, step: str, entry: str) -> None:
    where, other = STEPS[step], ENTRIES[entry]
    where.reach(citizen, bot, clock)
    if _own(step, other):
        reply = other.send(citizen, clock)
        assert where.own in reply and "离开当前的" not in reply, reply
        if where.kind == "ask":
            assert where.prompt in reply, reply
        return
    if where.kind != "ask":
        reply = other.send(citizen, clock)
        assert other.first in reply and "离开当前的" not in reply, reply
        if step == "report:pending":
            _work_is_kept(step, citizen, clock)
        return
    what = DECLARED[step.split(":")[0]]
    reply = other.send(citizen, clock)
    assert f"离开当前的{what.what}吗？" in reply and other.goal in reply and f"回复 否 继续{what.doing}" in reply, reply
    reply = citizen.says("否")
    assert reply.startswith(f"好的，继续{what.doing}。") and where.prompt in reply, reply
    assert f"离开当前的{what.what}吗？" in other.send(citizen, clock)
    reply = citizen.says("是")
    assert reply.startswith("好的。") and other.first in reply, reply
    _work_is_kept(step, citizen, clock)


@PLAIN_ONLY
@pytest.mark.parametrize("entry", list(HELP))
@pytest.mark.parametrize("step", list(STEPS))
def test_help_is_answered_at_every_step_and_the_flow_stays(citizen: Citizen, bot, clock, step: str,
                                                          entry: str) -> None:
    where = STEPS[step]
    where.reach(citizen, bot, clock)
    reply = HELP[entry].send(citizen, clock)
    assert reply.startswith(HELP[entry].first) and "离开当前的" not in reply, reply
    if where.kind == "ask":
        assert "您还有一项操作在进行中" in reply
    if where.own:  # still in the flow: its own word asks the step again
        word = next(e.word for e in ENTRIES.values() if e.word and _own(step, e))
        assert where.own in citizen.says(word)


def test_every_step_of_every_flow_is_in_the_pairs(bot) -> None:
    """A new flow or step cannot miss its re-entry: every state the dispatcher knows is declared and tested."""
    states = {state for rule in bot.dispatcher.steps for state in rule.states}
    assert states == set(STEPS)
    groups = {group.flow_name: group for group in _groups(StateGroup)}
    for flow, reentry in DECLARED.items():
        declared = set(reentry.ask_at) | set(reentry.leave_at)
        assert reentry.passes or declared == set(groups[flow].states()), flow
        assert {s for s in STEPS if s.startswith(flow + ":")} == set(groups[flow].states())
        for state in declared:
            assert STEPS[state].kind == ("ask" if state in reentry.ask_at else "leave"), state
    assert {s.split(":")[0] for s in STEPS} == set(DECLARED)


def test_every_menu_click_is_in_the_pairs(bot) -> None:
    clickable = {button.key: button.name for button in bot.content.menu.clickable()}
    tested = {e.key: e.menu for e in [*ENTRIES.values(), *HELP.values()] if e.key}
    assert tested == clickable


def _groups(base: type) -> list[type]:
    found = []
    for sub in base.__subclasses__():
        found += [sub, *_groups(sub)]
    return found
