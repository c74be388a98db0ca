"""Helpers for quiz tests: read the round the bot drew, and answer it right or wrong."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from bot.models.quiz import QuizRound
from bot.services.quiz.bank import FALSE, LETTERS, TRUE, Question


def active_round(bot, openid: str) -> QuizRound | None:
    with bot.db.session() as s:
        return s.scalar(select(QuizRound).where(QuizRound.openid == openid, QuizRound.status == "active"))


def rounds_of(bot, openid: str) -> list[QuizRound]:
    with bot.db.session() as s:
        return list(s.scalars(select(QuizRound).where(QuizRound.openid == openid).order_by(QuizRound.id)))


def current_question(bot, openid: str) -> Question:
    rnd = active_round(bot, openid)
    assert rnd is not None, "no active round"
    return bot.content.quiz.get(rnd.question_ids[rnd.position])


def right(q: Question) -> str:
    return q.answer


def wrong(q: Question) -> str:
    if q.kind == "truefalse":
        return FALSE if q.answer == TRUE else TRUE
    letters = LETTERS[: len(q.options)]
    size = 1 if q.kind == "single" else 2
    return next("".join(c) for c in itertools.combinations(letters, size) if "".join(c) != q.answer)
