"""The leaderboard on Redis and from the DB give identical results."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from bot.clock import shanghai
from bot.infra.db import Database
from bot.models import Citizen
from bot.models.quiz import QuizRound
from bot.services.quiz import leaderboard


def finished_round(openid: str, score: int, seconds: int, finished: dt.datetime, n: int) -> QuizRound:
    return QuizRound(openid=openid, start_key=f"k{n}", day=finished.date(), counted=True, status="finished",
                     question_ids=[], position=5, score=score, total=5, started_at=finished - dt.timedelta(seconds=seconds),
                     last_activity_at=finished, finished_at=finished, duration_seconds=seconds, flagged=False)


def test_rank_key_orders_score_then_time_then_finish() -> None:
    t = shanghai(2021, 6, 3, 9)
    assert leaderboard.rank_key(5, 90, t) < leaderboard.rank_key(4, 10, t)
    assert leaderboard.rank_key(5, 30, t) < leaderboard.rank_key(5, 31, t - dt.timedelta(days=1))
    assert leaderboard.rank_key(5, 30, t) < leaderboard.rank_key(5, 30, t + dt.timedelta(seconds=1))
    assert leaderboard.decode_key(leaderboard.rank_key(3, 75, t)) == (3, 75, t)
    assert leaderboard.rank_key(127, 0, leaderboard.EPOCH) >= 0 and leaderboard.rank_key(0, 10**9, t) < 2**53


def test_redis_and_db_agree(database_url: str, real_redis) -> None:
    rng = random.Random(5)
    db = Database(database_url)
    base = shanghai(2021, 6, 1, 8)
    with db.session() as s:
        for n in range(400):
            openid = f"o_{rng.randrange(150):03d}{rng.choice('aAbB_-')}"
            # Many exact ties on score, time and finish second, so the openid tie-break is exercised.
            finished = base + dt.timedelta(seconds=rng.randrange(40))
            rnd = finished_round(openid, rng.randrange(6), rng.choice([20, 25, 30]), finished, n)
            s.add(rnd)
            s.flush()
            leaderboard.record(s, real_redis, rnd)
        for openid in sorted({o for (o,) in s.execute(select(QuizRound.openid))})[::4]:
            s.merge(Citizen(openid=openid, first_seen_at=base, township="chengguan"))
        s.commit()
        assert leaderboard.board_for(s, real_redis).__class__ is leaderboard.RedisBoard  # built on the spot
        redis_board, db_board = leaderboard.RedisBoard(real_redis), leaderboard.DbBoard(s)
        assert redis_board.size() == db_board.size() > 100
        assert redis_board.top(10) == db_board.top(10)
        assert redis_board.top(1000) == db_board.top(1000)
        openids = [st.openid for st in db_board.top(1000)]
        for openid in openids:
            assert redis_board.standing(openid) == db_board.standing(openid)
        assert [st.rank for st in db_board.top(1000)] == list(range(1, len(openids) + 1))
        # The best round by the rules, straight from the rounds, is the one on the board.
        for openid in openids[:20]:
            best = leaderboard.best_from_rounds(s, openid)
            mine = db_board.standing(openid)
            assert (best.score, best.duration_seconds) == (mine.score, mine.duration_seconds)
        # A rebuild from the DB gives the same set.
        real_redis.delete(leaderboard.KEY)
        assert leaderboard.rebuild(s, real_redis) == db_board.size()
        assert redis_board.top(1000) == db_board.top(1000)
        township = leaderboard.DbBoard(s, township="chengguan")
        assert 0 < township.size() < db_board.size() and township.top(3)[0].rank == 1
    db.dispose()


def test_without_redis_the_db_answers(database_url: str, store) -> None:
    from bot.infra.store import MemoryStore

    db = Database(database_url)
    with db.session() as s:
        assert isinstance(leaderboard.board_for(s, MemoryStore()), leaderboard.DbBoard)
    db.dispose()


def test_redis_is_only_updated_after_commit(database_url: str, real_redis) -> None:
    db = Database(database_url)
    with db.session() as s:
        rnd = finished_round("o_x", 5, 30, shanghai(2021, 6, 2, 9), 1)
        s.add(rnd)
        s.flush()
        leaderboard.record(s, real_redis, rnd)
        s.rollback()
        assert real_redis.zscore(leaderboard.KEY, "o_x") is None
        rnd = finished_round("o_x", 5, 30, shanghai(2021, 6, 2, 9), 2)
        s.add(rnd)
        s.flush()
        leaderboard.record(s, real_redis, rnd)
        s.commit()
        assert real_redis.zscore(leaderboard.KEY, "o_x") is not None
    db.dispose()
