"""The intent layer as citizens meet it: dialogs through the signed webhook, plaintext and AES (the
`citizen` fixture runs both). The messages are written in citizens' own words and are not examples
in content/intents/ (test_messages_here_are_not_training_examples)."""

from __future__ import annotations

import re

import pytest

from bot.services.intents import fold, read_examples
from tests.reports_helpers import drafts
from tests.test_intents import CONTENT
from tests.wechat import Citizen

# The issue's own three are training examples too; the last three are not.
QUIZ_IN_OWN_WORDS = ["给我来一套题", "參加競賽", "考考我用电安全", "來幾道題目考考我吧", "想考考自己防溺水的知识", "嗯那个，今天的竞猜在哪答"]
HAZARD = "我们那条巷子每天晚上都停着一辆拉化学品的罐车，就停在居民楼底下，好几个月了"
KNOWLEDGE_STATEMENT = "厂里的灭火器都过期了咋办"
REPORT_WITH_HAZARD = "我要举报加油站旁边有人抽烟"
REPORT_WITH_LONG_HAZARD = "我要举报：我们村东头那个废品站天天晚上烧电线皮，烟很大"
MESSAGES = [*QUIZ_IN_OWN_WORDS[3:], HAZARD, KNOWLEDGE_STATEMENT, REPORT_WITH_HAZARD, REPORT_WITH_LONG_HAZARD,
            "我想举报一下我们小区的问题", "举报属实给多少钱", "举报有没有奖励", "您好，请问你们这个号是干嘛的",
            "想问下社保断缴了怎么补", "这周末天气咋样", "问一下答题跟举报", "我手机没电了", "谢谢你们 辛苦了"]


def test_messages_here_are_not_training_examples() -> None:
    examples = {fold(t) for lines in read_examples(CONTENT).values() for t in lines}
    assert not [m for m in MESSAGES if fold(m) in examples]


@pytest.mark.parametrize("text", QUIZ_IN_OWN_WORDS)
def test_asking_to_play_in_own_words_starts_the_quiz(citizen: Citizen, text: str) -> None:
    assert "第1/5题" in citizen.says(text)


def test_a_hazard_statement_becomes_a_report_with_every_word_and_its_category(citizen: Citizen, bot) -> None:
    offer = citizen.says(HAZARD)
    assert offer.startswith("您说的像是一条危险化学品安全隐患"), offer
    assert "回复 是" in offer
    after = citizen.says("是")
    assert "类别：危险化学品" in after and "改类别" in after
    assert "位置" in after  # the next step asked: category and description are done
    with bot.db.session() as s:
        (draft,) = drafts(s)
        assert draft.description == HAZARD and draft.category == "hazchem"
    back = citizen.says("改类别")
    assert "请选择隐患类别" in back
    citizen.says("1")
    with bot.db.session() as s:
        (draft,) = drafts(s)
        assert draft.description == HAZARD and draft.category == "fire"


def test_a_knowledge_answer_to_a_statement_offers_the_report_and_keeps_the_words(citizen: Citizen, bot) -> None:
    answer = citizen.says(KNOWLEDGE_STATEMENT)
    assert "灭火器" in answer.split("\n", 1)[0]
    assert answer.rstrip().endswith("刚才这段话会完整作为举报描述。"), answer
    citizen.says("举报")
    with bot.db.session() as s:
        (draft,) = drafts(s)
        assert draft.description == KNOWLEDGE_STATEMENT


def test_wanting_to_report_then_the_hazard_keeps_its_words_as_the_description(citizen: Citizen, bot) -> None:
    reply = citizen.says(REPORT_WITH_HAZARD)
    assert "类别：危险化学品" in reply and f"“{REPORT_WITH_HAZARD}”作为描述" in reply and "位置" in reply, reply
    with bot.db.session() as s:
        (draft,) = drafts(s)
        assert draft.description == REPORT_WITH_HAZARD and draft.category == "hazchem"


def test_a_described_report_of_no_clear_kind_asks_the_kind_and_says_the_words_are_kept(citizen: Citizen, bot) -> None:
    citizen.dialog([
        (REPORT_WITH_LONG_HAZARD, ["已记下您说的", "不用再写一遍", "请选择隐患类别"]),
        ("1", ["作为描述", "请发送隐患位置"]),
    ])
    with bot.db.session() as s:
        (draft,) = drafts(s)
        assert draft.description == REPORT_WITH_LONG_HAZARD and draft.category == "fire"


def test_a_vague_lead_is_not_taken_as_the_description(citizen: Citizen, bot) -> None:
    citizen.dialog([("我想举报一下我们小区的问题", "请选择隐患类别"), ("1", "请描述隐患情况")])


def test_a_question_about_reporting_is_answered_not_met_with_the_category_list(citizen: Citizen) -> None:
    answer = citizen.says("举报有没有奖励")
    assert "【举报安全隐患有奖励吗" in answer and "回复 举报（或 1）开始" in answer, answer
    close = citizen.says("举报属实给多少钱")  # two close entries: they and the report as choices
    assert "请选择隐患类别" not in close
    assert re.search(r"1\. 举报安全隐患有奖励吗.*\n2\. .*\n3\. 举报安全隐患", close), close
    assert "请选择隐患类别" in citizen.says("3")


@pytest.mark.parametrize(("text", "number"), [("想问下社保断缴了怎么补", "12333"), ("这周末天气咋样", "12121"),
                                               ("我家停电了什么时候来电", "95598"),
                                               ("隔壁KTV噪音太大", "12345")])  # not the KTV fire-escape entry
def test_out_of_scope_gets_an_honest_short_answer_with_the_right_line(citizen: Citizen, text: str, number: str) -> None:
    reply = citizen.says(text)
    assert "办不了" in reply and number in reply
    assert "我的提醒" not in reply  # not the whole help list
    assert len(reply.split("\n")) <= 3


@pytest.mark.parametrize("text", ["您好，请问你们这个号是干嘛的", "你好"])
def test_greeting_and_what_can_you_do_say_what_the_bot_does(citizen: Citizen, text: str) -> None:
    reply = citizen.says(text)
    assert all(word in reply for word in ("答题", "举报", "活动")), reply


def test_when_unsure_numbered_choices_across_features_and_a_number_picks_one(citizen: Citizen) -> None:
    choices = citizen.says("问一下答题跟举报")
    assert choices.startswith("我不太确定您的意思"), choices
    offered = dict(re.findall(r"^(\d)\. (.+)$", choices, re.M))
    assert len(offered) >= 2
    number = next(n for n, label in offered.items() if label == "参加答题")
    assert "第1/5题" in citizen.says(number)


def test_a_second_unsure_message_gets_the_short_help(citizen: Citizen) -> None:
    assert citizen.says("问一下答题跟举报").startswith("我不太确定")
    again = citizen.says("问一下答题跟举报")
    assert again.startswith("抱歉，没有理解") and "取消" in again.split("\n")[-1]


def test_a_harmless_remark_is_not_answered_as_danger_now(citizen: Citizen) -> None:
    """Without a danger word, the classifier alone must be sure before it sends anyone to 119."""
    assert "立即拨打" not in citizen.says("我手机没电了").split("\n", 1)[0]


def test_thanks_in_other_words_are_answered_as_thanks_not_with_the_introduction(citizen: Citizen) -> None:
    reply = citizen.says("谢谢你们 辛苦了")
    assert reply.startswith("不客气") and "服务助手" not in reply


def test_one_close_guess_is_asked_as_a_yes_or_no_question_and_yes_takes_it(citizen: Citizen) -> None:
    asked = citizen.says("拍了照片怎么发给你们")
    assert asked.startswith("您是想举报安全隐患吗？回复 1 或 是"), asked
    assert "1. " not in asked  # not a list of one
    assert "请选择隐患类别" in citizen.says("是")


@pytest.mark.parametrize("text", ["俺想检举一家非法储存烟花爆竹的小作坊", "I want to report 消防通道被堵"])
def test_other_words_for_wanting_to_report_keep_the_hazard_as_the_description(citizen: Citizen, text: str) -> None:
    reply = citizen.says(text)
    assert f"已把您刚才说的“{text}”作为描述" in reply, reply


def test_a_consumer_complaint_is_not_taken_for_a_report(citizen: Citizen) -> None:
    reply = citizen.says("我要投诉快递丢件")
    assert "12315" in reply and "请选择隐患类别" not in reply
