"""A round's life in the DB: started (counted or practice), answered one question at a time, then
finished, expired (idle too long) or abandoned (取消). Everything is scored here, on the server.

The round row knows the questions, the position and the score, and every answer is a row unique
on (round, position) and on the message's key, so a retried or duplicated answer never counts
twice. The conversation keeps a copy of the round to ask the next question without reading the row;
`record_answer_at` stores an answer against that copy, and the row refuses it when the copy is stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import random
from collections.abc import Sequence

from sqlalchemy import Row, TextClause, bindparam, func, select
from sqlalchemy.orm import Session

from bot.clock import TZ
from bot.config import QuizConfig
from bot.infra.db import Database, insert_unless_present, typed_sql
from bot.infra.store import Store
from bot.models.quiz import QuizAnswer, QuizRound, RoundStatus
from bot.services.content_dates import available_on
from bot.services.quiz import leaderboard
from bot.services.quiz.bank import Question, QuizBank

# Questions from this many of the player's latest rounds are avoided while the bank allows.
RECENT_ROUNDS = 20


class PracticeReason:
    OUTSIDE_WINDOW = "outside_window"
    DAILY_CAP = "daily_cap"
    TOPIC = "topic"  # one category the player named (bot/services/quiz/topics.py): never counted


@dataclasses.dataclass(frozen=True)
class Started:
    round: QuizRound
    resumed: bool  # an unfinished round was picked up again rather than a new one started
    practice_reason: str | None  # why a new round does not count (None: it counts)
    category: str | None = None  # a practice round of one category (PracticeReason.TOPIC)


@dataclasses.dataclass(frozen=True)
class Answered:
    round: QuizRound
    question: Question
    given: str
    correct: bool
    duplicate: bool  # this message was already counted: nothing changed

    @property
    def finished(self) -> bool:
        return self.round.status == RoundStatus.FINISHED


def campaign_day(now: dt.datetime) -> dt.date:
    return now.astimezone(TZ).date()


def in_campaign(cfg: QuizConfig, day: dt.date) -> bool:
    return dt.date.fromisoformat(cfg.campaign_start) <= day <= dt.date.fromisoformat(cfg.campaign_end)


def idle_before(cfg: QuizConfig, now: dt.datetime) -> dt.datetime:
    """Rounds last active before this moment sat idle past the limit."""
    return now - dt.timedelta(minutes=cfg.round_idle_minutes)


def is_idle(cfg: QuizConfig, rnd: QuizRound, now: dt.datetime) -> bool:
    return rnd.last_activity_at < idle_before(cfg, now)


def expire_if_idle(session: Session, cfg: QuizConfig, rnd: QuizRound, now: dt.datetime) -> bool:
    """Close `rnd` (expired, never scored) when it sat idle past the limit; True when it did."""
    if not is_idle(cfg, rnd, now):
        return False
    rnd.status = RoundStatus.EXPIRED
    session.flush()
    return True


def current_round(session: Session, cfg: QuizConfig, openid: str, now: dt.datetime) -> QuizRound | None:
    """The player's active round, closing any that sat idle past the limit (expired, not scored)."""
    active = None
    for rnd in session.scalars(select(QuizRound).where(QuizRound.openid == openid,
                                                       QuizRound.status == RoundStatus.ACTIVE).order_by(QuizRound.id)):
        if is_idle(cfg, rnd, now):
            rnd.status = RoundStatus.EXPIRED
        else:
            active = rnd
    session.flush()
    return active


def counted_rounds_today(session: Session, openid: str, day: dt.date) -> int:
    # Abandoned and expired counted rounds use up the day's chance too: otherwise 取消 would let a
    # player redraw questions until an easy set came up.
    return int(session.scalar(select(func.count()).select_from(QuizRound).where(
        QuizRound.openid == openid, QuizRound.day == day, QuizRound.counted.is_(True))) or 0)


def practice_reason(session: Session, cfg: QuizConfig, openid: str, now: dt.datetime) -> str | None:
    day = campaign_day(now)
    if not in_campaign(cfg, day):
        return PracticeReason.OUTSIDE_WINDOW
    if counted_rounds_today(session, openid, day) >= cfg.counted_rounds_per_day:
        return PracticeReason.DAILY_CAP
    return None


def _reason_of(cfg: QuizConfig, rnd: QuizRound) -> str | None:
    if rnd.counted:
        return None
    return PracticeReason.DAILY_CAP if in_campaign(cfg, rnd.day) else PracticeReason.OUTSIDE_WINDOW


def start_round(session: Session, bank: QuizBank, cfg: QuizConfig, *, openid: str, now: dt.datetime,
                key: str, rng: random.Random, category: str | None = None) -> Started:
    """Pick up the player's unfinished round, or start a new one (counted or practice). A `category`
    asks for a practice round of that category alone, when the bank has questions of it today."""
    replayed = session.scalar(select(QuizRound).where(QuizRound.start_key == key))
    if replayed is not None:
        # This very message started a round already (its reply was lost): show that round again.
        return Started(replayed, True, _reason_of(cfg, replayed))
    active = current_round(session, cfg, openid, now)
    if active is not None:
        return Started(active, True, _reason_of(cfg, active))
    reason = practice_reason(session, cfg, openid, now)
    topic = _of_category(bank, category, campaign_day(now)) if category else None
    if topic is not None:
        bank, reason = topic, PracticeReason.TOPIC
    ids = choose_questions(bank, cfg.questions_per_round, recent_question_ids(session, openid), rng,
                           day=campaign_day(now))
    rnd = QuizRound(openid=openid, start_key=key, day=campaign_day(now),
                    counted=reason is None, status=RoundStatus.ACTIVE, question_ids=ids, position=0, score=0,
                    total=len(ids), started_at=now, last_activity_at=now, flagged=False)
    session.add(rnd)
    session.flush()
    return Started(rnd, False, reason, category if topic is not None else None)


def _of_category(bank: QuizBank, category: str, day: dt.date) -> QuizBank | None:
    questions = tuple(q for q in bank.questions if q.category == category)
    return QuizBank(questions) if any(available_on(q, day) for q in questions) else None


def recent_question_ids(session: Session, openid: str, rounds: int = RECENT_ROUNDS) -> list[str]:
    """Questions the player saw lately, most recent first."""
    seen: dict[str, None] = {}
    for ids in session.scalars(select(QuizRound.question_ids).where(QuizRound.openid == openid)
                               .order_by(QuizRound.id.desc()).limit(rounds)):
        for qid in ids:
            seen.setdefault(qid, None)
    return list(seen)


def choose_questions(bank: QuizBank, n: int, recent: Sequence[str], rng: random.Random,
                     day: dt.date | None = None) -> list[str]:
    """n distinct questions available on `day`, categories taken in turn so a round mixes them,
    unseen ones first, never two of one group (the same fact asked twice).

    When the unseen questions run short, the ones seen longest ago are used again.
    """
    pool = [q for q in bank.questions if available_on(q, day)]
    n = min(n, len({q.group_key for q in pool}))
    seen = set(recent)
    # Unavailable questions stay in the piles and are skipped when drawn, so that a day's dates
    # change the draw only where they must (the same random sequence otherwise).
    fresh = [q for q in bank.questions if q.id not in seen]
    chosen = _mixed(fresh, n, rng, day)
    if len(chosen) < n:
        usable = {q.id: q for q in pool}
        groups = {usable[qid].group_key for qid in chosen}
        for qid in reversed(recent):  # oldest first
            question = usable.get(qid)
            if len(chosen) < n and question is not None and question.group_key not in groups:
                chosen.append(qid)
                groups.add(question.group_key)
        rng.shuffle(chosen)
    return chosen


def _mixed(questions: Sequence[Question], n: int, rng: random.Random, day: dt.date | None = None) -> list[str]:
    by_category: dict[str, list[Question]] = {}
    for question in questions:
        by_category.setdefault(question.category, []).append(question)
    piles = list(by_category.values())
    for pile in piles:
        rng.shuffle(pile)
    rng.shuffle(piles)
    chosen: list[str] = []
    groups: set[str] = set()
    while len(chosen) < n and any(piles):
        for pile in piles:
            while pile and len(chosen) < n:
                question = pile.pop()
                # Skipped: not to be shown that day, or its fact is in the round already.
                if available_on(question, day) and question.group_key not in groups:
                    groups.add(question.group_key)
                    chosen.append(question.id)
                    break
    return chosen


# Built once: `session.get` builds and annotates its query on every call, ~40% of loading a round
# (a quiz answer loads one; issue 9's profile).
_ROUND_BY_ID = select(QuizRound).where(QuizRound.id == bindparam("round_id"))


def load_round(session: Session, round_id: int | None) -> QuizRound | None:
    return session.scalars(_ROUND_BY_ID, {"round_id": round_id}).one_or_none() if round_id is not None else None


def current_question(bank: QuizBank, rnd: QuizRound) -> Question | None:
    if rnd.position >= len(rnd.question_ids):
        return None
    return bank.get(rnd.question_ids[rnd.position])


def record_answer(session: Session, cfg: QuizConfig, store: Store | None, rnd: QuizRound, question: Question, *,
                  given: str, key: str, now: dt.datetime) -> Answered:
    """Store one answer and advance the round in the same transaction; finish it after the last one."""
    correct = question.is_correct(given)
    answer = {"round_id": rnd.id, "position": rnd.position, "question_id": question.id, "given": given,
              "correct": correct, "answered_at": now, "message_key": key}
    stored = session.scalar(insert_unless_present(QuizAnswer, tuple(answer), "id"), answer)
    if stored is None:
        # This message was answered before (a retry that outlived the dedupe), or another delivery
        # of an answer to this question won the race: count nothing, report what was kept.
        session.refresh(rnd)
        earlier = session.scalar(select(QuizAnswer).where(QuizAnswer.message_key == key))
        kept_given, kept_correct = (earlier.given, earlier.correct) if earlier else (given, correct)
        return Answered(rnd, question, kept_given, kept_correct, duplicate=True)
    rnd.position += 1
    rnd.score += int(correct)
    rnd.last_activity_at = now
    if rnd.position >= rnd.total:
        finish_round(session, cfg, store, rnd, now)
    session.flush()
    return Answered(rnd, question, given, correct, duplicate=False)


@dataclasses.dataclass(frozen=True)
class Advanced:
    """A round moved on by `record_answer_at`: where it is now, as the row says."""
    position: int
    score: int
    correct: bool


def record_answer_at(db: Database, session: Session, cfg: QuizConfig, *, round_id: int, position: int,
                     question: Question, given: str, key: str, now: dt.datetime) -> Advanced | None:
    """Store the answer to the question at `position` and advance the round, without loading it:
    one statement on PostgreSQL (the slowest message's five round trips were BEGIN, the round's
    SELECT, the answer's INSERT, the round's UPDATE and COMMIT).

    None, with nothing changed, unless the round is active, fresh and at that position and this
    message was not answered before; the caller then goes the long way (`record_answer`), which
    says why. Never for a round's last question: finishing it is `finish_round`'s.
    """
    correct = question.is_correct(given)
    params = {"round_id": round_id, "position": position, "question_id": question.id, "given": given,
              "correct": correct, "answered_at": now, "message_key": key, "points": int(correct),
              "fresh_since": idle_before(cfg, now)}
    if db.is_sqlite:
        row = _advance_in_session(session, params)
    else:
        row = next(iter(db.execute_alone(_answer_and_advance(), params)), None)
    return Advanced(row.position, row.score, correct) if row is not None else None


def _advance_in_session(session: Session, params: dict) -> Row | None:
    """SQLite has no data-modifying WITH: the same two writes in the message's transaction, which took
    the database's write lock at BEGIN (bot/infra/db.py), so nothing can change the round in between."""
    if session.execute(_insert_answer(), params).first() is None:
        return None
    row = session.execute(_advance(), params).first()
    if row is None:
        raise RuntimeError(f"round {params['round_id']} changed under the write lock")  # rolls the answer back
    return row


# Written as SQL and built once, like bot/infra/db.py's inserts: the ORM would compile these on every answer.
# The round must be active, at the answered position and not idle; the insert happens only then and
# only once (both unique keys of quiz_answers), and the round moves only if the answer was inserted.
_ANSWERABLE_ROUND = (f"id = :round_id AND status = '{RoundStatus.ACTIVE}' AND position = :position "
                     "AND last_activity_at >= :fresh_since")
_INSERT_ANSWER = ("INSERT INTO quiz_answers (round_id, position, question_id, given, correct, answered_at, message_key) "
                  "SELECT id, :position, :question_id, :given, :correct, :answered_at, :message_key FROM {rounds} "
                  "ON CONFLICT DO NOTHING RETURNING round_id")
_ADVANCE = ("UPDATE quiz_rounds SET position = position + 1, score = score + :points, last_activity_at = :answered_at "
            "WHERE {which} RETURNING position, score")


@functools.cache
def _answer_and_advance() -> TextClause:
    # FOR UPDATE: the round is locked (and checked again if it changed meanwhile) before the answer
    # goes in. Without it, a round that staff or the scheduler closed while this statement ran took
    # the answer and moved on: the UPDATE re-checks only its own WHERE against the newer row.
    return _typed(f"WITH fresh AS (SELECT id FROM quiz_rounds WHERE {_ANSWERABLE_ROUND} FOR UPDATE), "
                  f"answer AS ({_INSERT_ANSWER.format(rounds='fresh')}) "
                  + _ADVANCE.format(which="id IN (SELECT round_id FROM answer)"))


@functools.cache
def _insert_answer() -> TextClause:
    return _typed(_INSERT_ANSWER.format(rounds=f"quiz_rounds WHERE {_ANSWERABLE_ROUND}"))


@functools.cache
def _advance() -> TextClause:
    return _typed(_ADVANCE.format(which=_ANSWERABLE_ROUND))


def _typed(sql: str) -> TextClause:
    """The parameters typed by their columns (times are stored in UTC by AwareDateTime)."""
    answers, rounds = QuizAnswer.__table__.c, QuizRound.__table__.c
    types = {"round_id": answers.round_id, "position": answers.position, "question_id": answers.question_id,
             "given": answers.given, "correct": answers.correct, "answered_at": answers.answered_at,
             "message_key": answers.message_key, "points": rounds.score, "fresh_since": rounds.last_activity_at}
    return typed_sql(sql, {name: column for name, column in types.items() if f":{name}" in sql})


def finish_round(session: Session, cfg: QuizConfig, store: Store | None, rnd: QuizRound, now: dt.datetime) -> None:
    rnd.status = RoundStatus.FINISHED
    rnd.finished_at = now
    rnd.duration_seconds = int((now - rnd.started_at).total_seconds())
    minimum = cfg.min_seconds_per_question * rnd.total
    if rnd.duration_seconds < minimum:
        # Nobody reads and answers that fast: kept out of the leaderboard and the draw until reviewed.
        rnd.flagged = True
        rnd.flag_reason = f"{rnd.total}题用时{rnd.duration_seconds}秒，少于{minimum:g}秒"
    session.flush()
    if rnd.counted and not rnd.flagged:
        leaderboard.record(session, store, rnd)


def abandon_round(session: Session, rnd: QuizRound, now: dt.datetime) -> None:
    if rnd.status == RoundStatus.ACTIVE:
        rnd.status = RoundStatus.ABANDONED
        rnd.last_activity_at = now
        session.flush()


def expire_idle_rounds(session: Session, cfg: QuizConfig, now: dt.datetime) -> int:
    """For the scheduler: close every round idle past the limit (expired, never scored)."""
    rounds = list(session.scalars(select(QuizRound).where(QuizRound.status == RoundStatus.ACTIVE,
                                                          QuizRound.last_activity_at < idle_before(cfg, now))))
    for rnd in rounds:
        rnd.status = RoundStatus.EXPIRED
    session.flush()
    return len(rounds)


def rounds_of(session: Session, openid: str, limit: int = 10) -> list[QuizRound]:
    """The player's latest rounds, newest first (我的成绩)."""
    return list(session.scalars(select(QuizRound).where(QuizRound.openid == openid)
                                .order_by(QuizRound.id.desc()).limit(limit)))


def flagged_rounds(session: Session, include_reviewed: bool = False) -> list[QuizRound]:
    """For staff: rounds kept out of the draw for impossible timings."""
    query = select(QuizRound).where(QuizRound.flagged.is_(True))
    if not include_reviewed:
        query = query.where(QuizRound.flag_reviewed_at.is_(None))
    return list(session.scalars(query.order_by(QuizRound.finished_at, QuizRound.id)))


def review_flag(session: Session, store: Store | None, round_id: int, *, by: str, now: dt.datetime,
                clear: bool) -> QuizRound:
    """Staff looked at a flagged round: `clear=True` restores it to the leaderboard and the draw."""
    rnd = session.get(QuizRound, round_id)
    if rnd is None or not (rnd.flagged or rnd.flag_reason):
        raise LookupError(f"round {round_id} is not flagged")
    rnd.flag_reviewed_by, rnd.flag_reviewed_at = by, now
    if clear:
        rnd.flagged = False
        session.flush()
        if rnd.counted and rnd.status == RoundStatus.FINISHED:
            leaderboard.record(session, store, rnd)
    session.flush()
    return rnd
