"""Quiz rounds through the signed webhook, in plaintext and AES mode."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from bot import create_app
from bot.clock import shanghai
from bot.models.quiz import QuizAnswer, QuizBest, QuizRound
from bot.services.quiz import rounds as rounds_service
from tests.quiz_helpers import active_round, current_question, right, rounds_of, wrong
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer


@pytest.fixture(autouse=True)
def seeded(bot) -> None:
    bot.quiz_rng = lambda: random.Random(20210601)


def play(citizen: Citizen, bot, clock, answers: str = "rrrrr", pause: float = 12) -> str:
    """Answer the running round: r = right, w = wrong; returns the last reply."""
    reply = ""
    for mark in answers:
        clock.advance(seconds=pause)
        q = current_question(bot, citizen.openid)
        reply = citizen.says(right(q) if mark == "r" else wrong(q))
    return reply


def test_a_full_counted_round(citizen: Citizen, bot, clock) -> None:
    first = citizen.says("答题")
    assert "计入成绩" in first and "第1/5题" in first and "请回复" in first
    clock.advance(seconds=12)
    q = current_question(bot, citizen.openid)
    second = citizen.says(right(q))
    assert "回答正确" in second and "解析：" in second and "第2/5题" in second
    clock.advance(seconds=12)
    q = current_question(bot, citizen.openid)
    third = citizen.says(wrong(q))
    assert "回答错误" in third and "正确答案：" in third and q.answer in third and "第3/5题" in third
    last = play(citizen, bot, clock, "rrr")
    assert "答对 4/5 题" in last and "用时 1分00秒" in last and "本轮计入成绩" in last
    assert "排第1名（共1人）" in last and "抽奖资格" not in last  # 4/5 is not full marks
    [rnd] = rounds_of(bot, citizen.openid)
    assert (rnd.status, rnd.score, rnd.counted, rnd.duration_seconds, rnd.flagged) == ("finished", 4, True, 60, False)
    with bot.db.session() as s:
        assert s.scalar(select(func.count()).select_from(QuizAnswer).where(QuizAnswer.round_id == rnd.id)) == 5


def test_full_marks_earn_a_draw_place_and_the_entry_words_and_menu_work(citizen: Citizen, bot, clock) -> None:
    assert "第1/5题" in citizen.click("QUIZ_START").text
    last = play(citizen, bot, clock)
    assert "答对 5/5 题" in last and "抽奖资格" in last
    for word in ("有奖竞猜", "知识竞赛", "竞答", "开始答题", "我要答题", "答题活动"):
        reply = citizen.says(word)
        assert "第1/5题" in reply, word
        citizen.says("取消")


def test_answer_forms_are_accepted_as_typed(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    forms = {"single": ["选{a}", "答案是{l}", "{a}。", "（{a}）", "我选{a}"],
             "multiple": ["{sep}", "{l}", "答案：{sep}"],
             "truefalse": ["{tf}", "答案是{tf}。"]}
    tf_words = {"对": "√", "错": "×"}
    for i in range(5):
        clock.advance(seconds=12)
        q = current_question(bot, citizen.openid)
        form = forms[q.kind][i % len(forms[q.kind])]
        typed = form.format(a=q.answer, l=q.answer.lower(), sep=",".join(reversed(q.answer)),
                            tf=tf_words.get(q.answer, q.answer))
        reply = citizen.voice(typed).text if i == 4 else citizen.says(typed)
        assert "回答正确" in reply, (typed, reply)


def test_anything_else_re_asks_the_same_question_without_penalty(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    q = current_question(bot, citizen.openid)
    for junk in ("不知道", "G", "12"):
        reply = citizen.says(junk)
        assert "没能识别您的答案" in reply and "第1/5题" in reply and q.text in reply and "请回复" in reply
    assert "离开当前的答题吗" in citizen.says("排行")  # a command asks first (test_leaving_a_step)
    assert q.text in citizen.says("否")
    assert "第1/5题" in citizen.image().text
    assert "没能识别这段语音" in citizen.voice("").text
    rnd = active_round(bot, citizen.openid)
    assert rnd.position == 0 and rnd.score == 0


def test_second_round_of_the_day_is_practice_said_up_front(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    play(citizen, bot, clock)
    first = citizen.says("答题")
    assert "计分机会已用完" in first and "练习" in first
    last = play(citizen, bot, clock)
    assert "本轮为练习" in last
    clock.advance(days=1)
    assert "计入成绩" in citizen.says("答题")
    counted = [r.counted for r in rounds_of(bot, citizen.openid)]
    assert counted == [True, False, True]


def test_a_named_topic_gives_a_practice_round_of_that_category(citizen: Citizen, bot, clock) -> None:
    reply = citizen.says("考考我用电安全")
    assert "专题练习·用电安全" in reply and "不计入排行和抽奖" in reply and "发送 答题" in reply
    [rnd] = rounds_of(bot, citizen.openid)
    bank = bot.content.quiz
    assert not rnd.counted and {bank.get(qid).category for qid in rnd.question_ids} == {"electricity"}
    assert "本轮为练习" in play(citizen, bot, clock, "r" * rnd.total)
    # The day's counted round is still there, mixed as everyone's.
    assert "计入成绩" in citizen.says("答题")
    counted = rounds_of(bot, citizen.openid)[-1]
    assert counted.counted and len({bank.get(qid).category for qid in counted.question_ids}) > 1


def test_topic_words_pick_the_most_specific_category() -> None:
    from bot.services.quiz.topics import named_topic

    assert named_topic("答题") is None
    assert named_topic("来几道电动车的题") == "ebike"  # not 用电
    assert named_topic("考考我非煤矿山") == "non_coal_mine"  # not 煤矿
    assert named_topic("测测我防溺水的知识") == "campus_home"


def test_outside_the_campaign_window_rounds_are_practice(citizen: Citizen, bot, clock) -> None:
    clock.set(shanghai(2021, 7, 1, 0, 0, 5))
    reply = citizen.says("答题")
    assert "不在竞猜活动期（6月1日至6月30日）" in reply
    play(citizen, bot, clock)
    clock.set(shanghai(2021, 5, 31, 23, 59))
    assert "不在竞猜活动期" in citizen.says("答题")
    with bot.db.session() as s:
        assert s.scalar(select(func.count()).select_from(QuizBest)) == 0


def test_idle_round_expires_unscored(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    play(citizen, bot, clock, "rr")
    clock.advance(minutes=31)
    reply = citizen.says(right(current_question(bot, citizen.openid)))
    assert "已超过30分钟未作答" in reply and "不计成绩" in reply
    [rnd] = rounds_of(bot, citizen.openid)
    assert rnd.status == "expired" and rnd.finished_at is None
    # The expired counted round used the day's chance.
    assert "计分机会已用完" in citizen.says("答题")


def test_idle_round_found_again_is_closed_not_resumed(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    clock.advance(minutes=45)
    reply = citizen.says("我的成绩")
    assert "已超时" in reply


def test_cancel_abandons_the_round(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    play(citizen, bot, clock, "r")
    assert "已退出本轮答题" in citizen.says("取消")
    [rnd] = rounds_of(bot, citizen.openid)
    assert rnd.status == "abandoned"
    assert "当前没有进行中的操作" in citizen.says("取消")


def test_start_again_mid_round_resumes_it(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    play(citizen, bot, clock, "r")
    bot.store.delete(f"conv:{citizen.openid}")  # the store forgot the conversation: the DB still knows
    reply = citizen.says("答题")
    assert "继续您未完成的一轮" in reply and "第2/5题" in reply
    assert len(rounds_of(bot, citizen.openid)) == 1


def test_duplicated_answers_never_count_twice(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    clock.advance(seconds=12)
    first = citizen.text(right(current_question(bot, citizen.openid)))
    again = citizen.resend_last()
    assert again.text == first.text
    # Even once the dedupe cache has forgotten the message, the DB refuses to count it again.
    bot.store.delete(citizen.last_dedupe_key())
    replay = citizen.resend_last()
    assert "已经记录过了" in replay.text and "第2/5题" in replay.text
    rnd = active_round(bot, citizen.openid)
    assert rnd.position == 1 and rnd.score == 1


def test_duplicated_start_opens_one_round(citizen: Citizen, bot, clock) -> None:
    citizen.text("答题")
    citizen.resend_last()
    bot.store.delete(citizen.last_dedupe_key())
    citizen.resend_last()
    assert len(rounds_of(bot, citizen.openid)) == 1


def test_impossibly_fast_round_is_flagged_and_kept_off_the_board(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    last = play(citizen, bot, clock, pause=1)
    assert "核查" in last and "抽奖资格" not in last
    with bot.db.session() as s:
        [flagged] = rounds_service.flagged_rounds(s)
        assert flagged.openid == citizen.openid and "5题用时5秒" in flagged.flag_reason
        assert s.scalar(select(func.count()).select_from(QuizBest)) == 0
    assert "排行榜还没有成绩" in citizen.says("排行")
    with bot.db.session() as s:
        rounds_service.review_flag(s, bot.store, flagged.id, by="staff", now=clock.now(), clear=True)
        s.commit()
    assert "您的排名：第1名" in citizen.says("排行")


def test_rank_and_my_results(citizen: Citizen, citizens, bot, clock) -> None:
    assert "排行榜还没有成绩" in citizen.click("QUIZ_RANK").text
    other = citizens("o_other_abcd")
    other.says("答题")
    play(other, bot, clock)
    citizen.says("答题")
    play(citizen, bot, clock, "rrrrw")
    board = citizen.says("排行榜")
    assert "共2人" in board and "1. 参与者abcd  5分" in board and "2. 我  4分" in board
    assert "您的排名：第2名" in board and "排名规则" in board
    mine = citizen.click("QUIZ_MINE").text
    assert "4/5题" in mine and "计分" in mine


def test_rank_within_the_township(citizen: Citizen, citizens, bot, clock) -> None:
    from bot.models import Citizen as CitizenRow

    for openid in ("o_t1", "o_t2"):
        person = citizens(openid)
        person.says("答题")
        play(person, bot, clock, "rrrrr" if openid == "o_t1" else "wwwww")
    citizen.says("答题")
    play(citizen, bot, clock, "rrrww")
    township = bot.content.townships.items[0]
    with bot.db.session() as s:
        for row in s.scalars(select(CitizenRow).where(CitizenRow.openid.in_(["o_t2", citizen.openid]))):
            row.township = township.id
        s.commit()
    reply = citizen.says("排行")
    assert "您的排名：第2名" in reply and f"在{township.name}排第1名（共2人）" in reply


@pytest.fixture
def limited(database_url, clock, store):
    app = create_app(make_config(database_url, quiz={"answers_per_minute": 3}), clock=clock, store=store)
    app.extensions["bot"].quiz_rng = lambda: random.Random(7)
    yield app
    app.extensions["bot"].close()


def test_answers_are_rate_limited(limited, mode, clock) -> None:
    person = Citizen(WeChatServer(limited.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock), "o_fast")
    bot = limited.extensions["bot"]
    person.says("答题")
    for _ in range(3):
        person.says("？？")
    reply = person.says(right(current_question(bot, person.openid)))
    assert "答题太快了" in reply
    assert active_round(bot, person.openid).position == 0
    clock.advance(minutes=1)
    assert "回答正确" in person.says(right(current_question(bot, person.openid)))


def test_expire_idle_rounds_for_the_scheduler(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    clock.advance(minutes=31)
    with bot.db.session() as s:
        assert rounds_service.expire_idle_rounds(s, bot.config.quiz, clock.now()) == 1
        s.commit()
        assert s.scalar(select(QuizRound.status)) == "expired"
