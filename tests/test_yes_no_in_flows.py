"""Yes and no as citizens say them, at every yes/no question of every flow (issue 21 item 6).

One reading (bot/services/yesno.py) serves the report's offer, its 确定要放弃吗, its summary and its
unfinished-draft question, the prize claim's confirmation, a true/false quiz question and the
"leave this step?" question. Dialogs through the signed webhook, in plaintext and AES mode.
"""

from __future__ import annotations

import pytest

from bot.services.quiz.answers import parse_answer
from bot.services.yesno import reading
from tests.reports_helpers import DESCRIPTION, drafts, reports
from tests.test_quiz_draws import make_winner, players, seeded  # noqa: F401 - the draw's fixtures
from tests.wechat import Citizen

YES = ["是", "好的", "对", "嗯", "是的！", "好。", "嗯嗯", "對", "確定", "好吧", "ok", "没问题", "那好吧～"]
NO = ["否", "不", "不是", "不。", "否！", "不對", "不用了", "不要", "嗯…不用了", "算了吧", "不不不"]
NEITHER = ["我要答题", "不知道", "好不好", "燃气管道破了", "是不是要交钱", "取消", "1"]


@pytest.mark.parametrize("word", YES)
def test_plain_yes_words_read_as_yes(word: str) -> None:
    assert reading(word) == "yes"


@pytest.mark.parametrize("word", NO)
def test_plain_no_words_read_as_no(word: str) -> None:
    assert reading(word) == "no"


@pytest.mark.parametrize("word", NEITHER)
def test_sentences_and_other_words_are_neither(word: str) -> None:
    assert reading(word) is None


def _to_cancel_question(citizen: Citizen) -> None:
    citizen.dialog([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置"),
                    ("取消", "确定要放弃这份举报吗")])


@pytest.mark.parametrize("word", ["否", "不", "不是", "不對！", "嗯…不用了"])
def test_no_to_give_up_the_report_keeps_it_and_asks_the_step_again(citizen: Citizen, bot, word: str) -> None:
    _to_cancel_question(citizen)
    reply = citizen.says(word)
    assert "接着填写" in reply and "请发送隐患位置" in reply, reply
    assert "描述太短" not in reply
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.description == DESCRIPTION and draft.address is None  # the word was not taken as an address
    assert "已记下位置" in citizen.says("城关镇人民路12号")


@pytest.mark.parametrize("word", ["是", "好的", "嗯", "对", "確定"])
def test_yes_to_give_up_the_report_discards_it(citizen: Citizen, bot, word: str) -> None:
    _to_cancel_question(citizen)
    assert "已放弃本次举报" in citizen.says(word)
    with bot.db.session() as s:
        assert drafts(s) == []


def test_another_answer_to_give_up_withdraws_the_question(citizen: Citizen, bot) -> None:
    _to_cancel_question(citizen)
    assert "已记下位置" in citizen.says("城关镇人民路12号")
    assert "请留下姓名" in citizen.says("跳过")
    assert "请留下姓名" not in citizen.says("是")  # no longer a yes to giving up: the step asks for a contact
    with bot.db.session() as s:
        assert len(drafts(s)) == 1


HAZARD = "楼道里有人给电动车充电，天天如此"


@pytest.mark.parametrize("word", ["是", "好的", "嗯", "对的", "要。"])
def test_yes_to_the_offer_starts_the_report_with_the_words(citizen: Citizen, bot, word: str) -> None:
    assert "像是一条" in citizen.says(HAZARD)
    # The words name the category (电动车充电 → 消防安全): chosen for the citizen, 改类别 changes it.
    assert "类别：消防安全（不对请回复 改类别）" in citizen.says(word)
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.description == HAZARD and draft.category == "fire"


@pytest.mark.parametrize("word", ["否", "不", "不是", "不用了", "不要。"])
def test_no_to_the_offer_declines_it(citizen: Citizen, bot, word: str) -> None:
    assert "像是一条" in citizen.says(HAZARD)
    assert "需要时发送 举报" in citizen.says(word)
    with bot.db.session() as s:
        assert drafts(s) == []
    assert "没有理解" in citizen.says("咕咕咕")  # the offer is over: no flow is waiting for an answer


def _to_summary(citizen: Citizen) -> None:
    citizen.dialog([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置"),
                    ("跳过", "请上传现场照片"), ("跳过", "请留下姓名"), ("匿名", "请核对您的举报")])


@pytest.mark.parametrize("word", ["是", "好的", "嗯", "对", "確定"])
def test_yes_at_the_summary_submits(citizen: Citizen, bot, word: str) -> None:
    _to_summary(citizen)
    assert "举报已提交" in citizen.says(word)
    with bot.db.session() as s:
        assert len(reports(s)) == 1


def test_no_at_the_summary_does_not_submit(citizen: Citizen, bot) -> None:
    _to_summary(citizen)
    for word in ("不", "否", "不是"):
        reply = citizen.says(word)
        assert "先不提交" in reply and "回复 返回" in reply
    with bot.db.session() as s:
        assert reports(s) == []
    assert "举报已提交" in citizen.says("确认")


def test_yes_to_the_unfinished_report_carries_on(citizen: Citizen, clock) -> None:
    citizen.dialog([("举报", "请选择隐患类别"), ("1", "请描述隐患情况")])
    clock.advance(minutes=40)  # the conversation times out; the draft is kept for a day
    assert "您有一份未完成的举报" in citizen.says("举报")
    assert "请描述隐患情况" in citizen.says("好的")
    clock.advance(minutes=40)
    assert "您有一份未完成的举报" in citizen.says("举报")
    assert "请回复 继续" in citizen.says("不")  # no new report is started (nor the draft dropped) on a bare no
    assert "请描述隐患情况" in citizen.says("继续")


@pytest.mark.usefixtures("players")
def test_yes_and_no_at_the_prize_claim_confirmation(citizen: Citizen, bot, clock) -> None:
    make_winner(bot, clock, citizen.openid)
    citizen.dialog([(lambda c: c.click("QUIZ_CLAIM"), "姓名"), ("王小明", "11位手机号"),
                    ("13912345678", "请核对"), ("不对", "重新回复领奖人姓名"), ("王晓明", "11位手机号"),
                    ("13912345678", "请核对")])
    assert "已登记领奖信息" in citizen.says("嗯")


@pytest.mark.parametrize(("text", "expected"), [("對", "对"), ("对的！", "对"), ("对对对", "对"), ("没错", "对"),
                                                ("不是", "错"), ("不對。", "错"), ("错的", "错")])
def test_true_false_answers_read_the_same_way(text: str, expected: str) -> None:
    assert parse_answer(text, "truefalse") == expected


def test_a_bare_ok_is_no_answer_to_a_true_false_question() -> None:
    assert parse_answer("好的", "truefalse") is None and parse_answer("嗯", "truefalse") is None


@pytest.mark.parametrize("word", ["嗯", "好的。", "對"])
def test_yes_takes_the_offer_to_report_after_a_knowledge_answer(citizen: Citizen, bot, word: str) -> None:
    from tests.test_intent_dialogs import KNOWLEDGE_STATEMENT

    assert citizen.says(KNOWLEDGE_STATEMENT).rstrip().endswith("刚才这段话会完整作为举报描述。")
    citizen.says(word)
    with bot.db.session() as s:
        (draft,) = drafts(s)
        assert draft.description == KNOWLEDGE_STATEMENT


def test_the_give_up_question_names_yes_and_no(citizen: Citizen) -> None:
    citizen.dialog([("举报", "请选择隐患类别"), ("取消", ["确定要放弃这份举报吗", "回复 是", "回复 否"])])
