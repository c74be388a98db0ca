"""A quiz answer scored against the conversation's copy of the round and stored by one write that
checks the copy (rounds.record_answer_at); whatever the row refuses goes the long way unchanged."""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import event, func, select, text, update

from bot.infra.db import Database
from bot.models.quiz import QuizAnswer, QuizRound
from bot.services.quiz import rounds as rounds_service
from tests.quiz_helpers import active_round, current_question, right, rounds_of, wrong
from tests.wechat import Citizen


@pytest.fixture(autouse=True)
def seeded(bot) -> None:
    bot.quiz_rng = lambda: random.Random(20210601)


@contextlib.contextmanager
def statements(bot) -> Iterator[list[str]]:
    """The SQL the bot sends while inside, without the citizen's 'last seen' stamp and SQLite's BEGIN."""
    sent: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        if "citizens" not in statement and not statement.startswith("BEGIN"):
            sent.append(statement)

    for engine in bot.db.engines:
        event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        for engine in bot.db.engines:
            event.remove(engine, "before_cursor_execute", note)


def answer(citizen: Citizen, bot, clock, mark: str = "r") -> str:
    return citizen.says(answer_for(citizen, bot, clock, mark))


def answer_for(citizen: Citizen, bot, clock, mark: str = "r") -> str:
    """Twelve seconds on, the right (r) or a wrong (w) answer to the citizen's current question."""
    clock.advance(seconds=12)
    q = current_question(bot, citizen.openid)
    return right(q) if mark == "r" else wrong(q)


def conversation(bot, openid: str) -> dict:
    return json.loads(bot.store.get(f"conv:{openid}"))


def keep_conversation(bot, openid: str, saved: dict) -> None:
    bot.store.set(f"conv:{openid}", json.dumps(saved, ensure_ascii=False), ttl=3600)


def answers_of(bot, round_id: int) -> list[tuple[int, bool]]:
    with bot.db.session() as s:
        return list(s.execute(select(QuizAnswer.position, QuizAnswer.correct)
                              .where(QuizAnswer.round_id == round_id).order_by(QuizAnswer.position)).tuples())


def change_round(bot, round_id: int, **values: object) -> None:
    """Staff, the scheduler or another process changing the round behind the conversation's back."""
    with bot.db.session() as s:
        s.execute(update(QuizRound).where(QuizRound.id == round_id).values(**values))
        s.commit()


def test_a_full_round_scores_and_finishes_as_before(citizen: Citizen, bot, clock) -> None:
    assert "第1/5题" in citizen.says("答题")
    marks = "rwrrw"
    for no, mark in enumerate(marks[:-1], start=2):
        reply = answer(citizen, bot, clock, mark)
        assert ("回答正确" if mark == "r" else "回答错误") in reply and f"第{no}/5题" in reply
    last = answer(citizen, bot, clock, marks[-1])
    assert "答对 3/5 题" in last and "用时 1分00秒" in last and "本轮计入成绩" in last
    [rnd] = rounds_of(bot, citizen.openid)
    assert (rnd.status, rnd.position, rnd.score, rnd.duration_seconds) == ("finished", 5, 3, 60)
    assert rnd.last_activity_at == clock.now()
    assert answers_of(bot, rnd.id) == [(i, mark == "r") for i, mark in enumerate(marks)]
    assert bot.store.get(f"conv:{citizen.openid}") is None


def test_the_conversation_keeps_a_copy_of_the_round(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    answer(citizen, bot, clock, "r")
    rnd = active_round(bot, citizen.openid)
    data = conversation(bot, citizen.openid)["data"]
    assert data["round_id"] == rnd.id
    assert data["round"] == {"id": rnd.id, "questions": rnd.question_ids, "position": 1, "score": 1, "total": 5,
                             "active_at": rnd.last_activity_at.timestamp()}


def test_a_middle_answer_is_one_statement_on_postgresql(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    answer(citizen, bot, clock, "r")
    typed = answer_for(citizen, bot, clock, "w")
    with statements(bot) as sent:
        reply = citizen.says(typed)
    assert "回答错误" in reply and "第3/5题" in reply
    assert not [s for s in sent if s.lstrip().upper().startswith("SELECT")], sent  # the round is not read
    if bot.db.is_sqlite:
        assert [s.split()[0] for s in sent] == ["INSERT", "UPDATE"], sent
    else:
        assert len(sent) == 1 and sent[0].startswith("WITH fresh AS"), sent
    rnd = active_round(bot, citizen.openid)
    assert (rnd.position, rnd.score, rnd.last_activity_at) == (2, 1, clock.now())


def test_the_last_answer_takes_the_long_way_and_finishes_the_round(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    for _ in range(4):
        answer(citizen, bot, clock, "r")
    typed = answer_for(citizen, bot, clock, "r")
    with statements(bot) as sent:
        last = citizen.says(typed)
    assert "答对 5/5 题" in last and "抽奖资格" in last
    assert any("FROM quiz_rounds" in s and s.lstrip().startswith("SELECT") for s in sent)


@pytest.mark.parametrize("closed", ["expired", "abandoned"])
def test_a_round_closed_behind_the_conversation_refuses_the_copy(citizen: Citizen, bot, clock, closed) -> None:
    citizen.says("答题")
    answer(citizen, bot, clock, "r")
    rnd = active_round(bot, citizen.openid)
    change_round(bot, rnd.id, status=closed)
    assert "这一轮已经结束了" in answer_to(citizen, bot, clock, rnd)
    [after] = rounds_of(bot, citizen.openid)
    assert (after.status, after.position, after.score) == (closed, 1, 1)
    assert answers_of(bot, rnd.id) == [(0, True)]


def answer_to(citizen: Citizen, bot, clock, rnd: QuizRound) -> str:
    """The right answer to the round's current question as it was (the round may be closed now)."""
    clock.advance(seconds=12)
    return citizen.says(right(bot.content.quiz.get(rnd.question_ids[rnd.position])))


def test_a_round_idle_by_the_row_expires_though_the_copy_looks_fresh(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    answer(citizen, bot, clock, "r")
    rnd = active_round(bot, citizen.openid)
    change_round(bot, rnd.id, last_activity_at=clock.now() - rounds_service.dt.timedelta(minutes=40))
    assert "已超过30分钟未作答" in answer_to(citizen, bot, clock, rnd)
    [after] = rounds_of(bot, citizen.openid)
    assert (after.status, after.position) == ("expired", 1)
    assert answers_of(bot, rnd.id) == [(0, True)]


def test_a_copy_behind_the_row_falls_back_and_answers_the_real_question(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    answer(citizen, bot, clock, "r")
    behind = conversation(bot, citizen.openid)  # position 1
    answer(citizen, bot, clock, "w")
    keep_conversation(bot, citizen.openid, behind)  # e.g. the store lost the last save
    reply = answer(citizen, bot, clock, "r")  # to question 3, which the row knows
    assert "回答正确" in reply and "第4/5题" in reply
    rnd = active_round(bot, citizen.openid)
    assert (rnd.position, rnd.score) == (3, 2)
    assert answers_of(bot, rnd.id) == [(0, True), (1, False), (2, True)]
    assert conversation(bot, citizen.openid)["data"]["round"]["position"] == 3  # the copy caught up
    typed = answer_for(citizen, bot, clock, "r")
    with statements(bot) as sent:
        assert "第5/5题" in citizen.says(typed)
    assert not [s for s in sent if s.lstrip().startswith("SELECT")], sent  # and the next answer is quick again


def test_the_same_answer_delivered_twice_counts_once(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    answer(citizen, bot, clock, "r")
    before = conversation(bot, citizen.openid)
    clock.advance(seconds=12)
    first = citizen.text(right(current_question(bot, citizen.openid)))
    assert "第3/5题" in first.text
    # The dedupe forgot the message; the conversation is the one the first delivery saw, or the one
    # it left: the row refuses it either way.
    for saved in (before, conversation(bot, citizen.openid)):
        bot.store.delete(citizen.last_dedupe_key())
        keep_conversation(bot, citizen.openid, saved)
        again = citizen.resend_last()
        assert "已经记录过了" in again.text and "第3/5题" in again.text, again.text
        rnd = active_round(bot, citizen.openid)
        assert (rnd.position, rnd.score) == (2, 2)
        assert answers_of(bot, rnd.id) == [(0, True), (1, True)]


def test_a_conversation_saved_before_the_copy_still_answers(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    answer(citizen, bot, clock, "r")
    saved = conversation(bot, citizen.openid)
    saved["data"] = {"round_id": saved["data"]["round_id"], "_idle": saved["data"]["_idle"]}  # the old format
    keep_conversation(bot, citizen.openid, saved)
    reply = answer(citizen, bot, clock, "w")
    assert "回答错误" in reply and "第3/5题" in reply
    assert conversation(bot, citizen.openid)["data"]["round"]["position"] == 2
    last = "".join(answer(citizen, bot, clock, "r") for _ in range(3))
    assert "答对 4/5 题" in last
    [rnd] = rounds_of(bot, citizen.openid)
    assert answers_of(bot, rnd.id) == [(0, True), (1, False), (2, True), (3, True), (4, True)]


def test_re_asks_and_the_rate_limit_need_no_read_of_the_round(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    answer(citizen, bot, clock, "r")
    q = current_question(bot, citizen.openid)
    with statements(bot) as sent:
        reply = citizen.says("不知道")
        voice = citizen.voice("").text
    assert "没能识别您的答案" in reply and "第2/5题" in reply and q.text in reply
    assert "没能识别这段语音" in voice and "第2/5题" in voice
    assert sent == []


# --- the write itself ----------------------------------------------------------------------------

def started_round(bot, clock) -> QuizRound:
    with bot.db.session() as s:
        started = rounds_service.start_round(s, bot.content.quiz, bot.config.quiz, openid="o_direct",
                                             now=clock.now(), key="start-1", rng=random.Random(1))
        s.commit()
        return started.round


def record_at(bot, clock, rnd: QuizRound, position: int, key: str):
    question = bot.content.quiz.get(rnd.question_ids[position])
    with bot.db.session() as s:
        advanced = rounds_service.record_answer_at(bot.db, s, bot.config.quiz, round_id=rnd.id, position=position,
                                                   question=question, given=question.answer, key=key,
                                                   now=clock.now())
        s.commit()
    return advanced


def test_record_answer_at_stores_once_and_only_at_the_rounds_position(bot, clock) -> None:
    rnd = started_round(bot, clock)
    clock.advance(seconds=10)
    assert record_at(bot, clock, rnd, 0, "m1") == rounds_service.Advanced(1, 1, True)
    assert record_at(bot, clock, rnd, 0, "m1") is None  # the same message again
    assert record_at(bot, clock, rnd, 0, "m2") is None  # another message for the same question
    assert record_at(bot, clock, rnd, 1, "m1") is None  # the same message, the round's position
    assert record_at(bot, clock, rnd, 2, "m3") is None  # a question not yet asked
    with bot.db.session() as s:
        assert s.scalar(select(func.count()).select_from(QuizAnswer)) == 1
        assert (s.get(QuizRound, rnd.id).position, s.get(QuizRound, rnd.id).score) == (1, 1)


def test_record_answer_at_refuses_a_closed_or_idle_round(bot, clock) -> None:
    rnd = started_round(bot, clock)
    clock.advance(minutes=31)
    assert record_at(bot, clock, rnd, 0, "late") is None  # idle by the row, though not yet expired
    clock.set(rnd.started_at + rounds_service.dt.timedelta(minutes=1))
    change_round(bot, rnd.id, status="abandoned")
    assert record_at(bot, clock, rnd, 0, "closed") is None
    with bot.db.session() as s:
        assert s.scalar(select(func.count()).select_from(QuizAnswer)) == 0
        assert (s.get(QuizRound, rnd.id).position, s.get(QuizRound, rnd.id).status) == (0, "abandoned")


def test_a_round_closed_while_the_write_waits_for_it_keeps_no_answer(pg_url, bot, clock) -> None:
    """PostgreSQL: staff or the scheduler close the round between the statement's snapshot and its
    write. The round is locked before the answer goes in, so the answer is not kept either."""
    db = Database(pg_url)
    try:
        with db.session() as s:
            rnd = rounds_service.start_round(s, bot.content.quiz, bot.config.quiz, openid="o_race", now=clock.now(),
                                             key="start-race", rng=random.Random(1)).round
            s.commit()
        question = bot.content.quiz.get(rnd.question_ids[0])
        with ThreadPoolExecutor(1) as pool, db.session() as unused:  # the session is SQLite's, not used here
            with db.engine.connect() as closer:
                closer.execute(update(QuizRound).where(QuizRound.id == rnd.id).values(status="expired"))
                pending = pool.submit(rounds_service.record_answer_at, db, unused, bot.config.quiz,
                                      round_id=rnd.id, position=0, question=question, given=question.answer,
                                      key="m-race", now=clock.now())
                try:
                    wait_for_a_lock_wait(db, pending)
                finally:
                    closer.commit()  # whatever happened: a write left waiting would hang the pool's exit
            assert pending.result(timeout=30) is None
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(QuizAnswer)) == 0
            assert s.execute(select(QuizRound.status, QuizRound.position)).one() == ("expired", 0)
    finally:
        db.dispose()


def wait_for_a_lock_wait(db: Database, pending: Future) -> None:
    with db.engine.connect() as watch:
        for _ in range(1200):  # up to 30 s on a busy machine
            if watch.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND datname = current_database()")):
                return
            if pending.done():  # it never waited: say what it did instead
                raise AssertionError(f"the answer's write did not wait for the round: {pending.exception() or pending.result()!r}")
            watch.commit()  # a fresh snapshot of pg_stat_activity each time
            time.sleep(0.025)
    raise AssertionError("the answer's write never waited for the round")
