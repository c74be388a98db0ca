"""The leaderboard: each participant's best counted round, ranked by score (desc), then time taken
(asc), then finish time (asc), then openid (bytewise, only to make the order total).

The truth is the `quiz_best` table, updated in the transaction that finishes a round. With Redis
configured the same order lives in a sorted set whose score is `rank_key` (all three criteria in
one integer, exact in a double); after a commit the set is updated. `rebuild` (`python -m bot quiz
leaderboard rebuild`) refills it from the DB. Without Redis, or while the set is not built, the DB
answers. Both give identical results (tests/test_quiz_leaderboard.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Protocol

from sqlalchemy import and_, event, func, or_, select
from sqlalchemy.orm import Session

from bot.clock import TZ
from bot.infra.store import RedisStore, Store, StoreError
from bot.models import Citizen
from bot.models.quiz import QuizBest, QuizRound

log = logging.getLogger(__name__)

KEY = "quiz:lb"
BUILT_KEY = "quiz:lb:built"
REBUILD_LOCK = "quiz:lb:rebuilding"
PENDING = "quiz_leaderboard_pending"
# Below this many participants a missing sorted set is rebuilt on the spot; above, the DB answers
# until `quiz leaderboard rebuild` runs (it would not fit in WeChat's 5 seconds).
INLINE_REBUILD_LIMIT = 20_000
REBUILD_CHUNK = 10_000

# rank_key layout (53 bits, so a Redis double holds it exactly):
#   (MAX_SCORE - score) << 46 | min(duration, MAX_DURATION) << 29 | seconds since EPOCH
SCORE_BITS, TIME_BITS, FINISH_BITS = 7, 17, 29
MAX_SCORE = (1 << SCORE_BITS) - 1
MAX_DURATION = (1 << TIME_BITS) - 1  # about 36 hours; longer rounds tie on time
MAX_FINISH = (1 << FINISH_BITS) - 1  # about 17 years after EPOCH
EPOCH = dt.datetime(2020, 1, 1, tzinfo=TZ)


def rank_key(score: int, duration_seconds: int, finished_at: dt.datetime) -> int:
    if not 0 <= score <= MAX_SCORE:
        raise ValueError(f"score {score} outside 0..{MAX_SCORE}")
    finish = min(max(int((finished_at - EPOCH).total_seconds()), 0), MAX_FINISH)
    duration = min(max(duration_seconds, 0), MAX_DURATION)
    return ((MAX_SCORE - score) << (TIME_BITS + FINISH_BITS)) | (duration << FINISH_BITS) | finish


def decode_key(key: int) -> tuple[int, int, dt.datetime]:
    """(score, duration_seconds, finished_at to the second) from a rank_key."""
    finish = key & MAX_FINISH
    duration = (key >> FINISH_BITS) & MAX_DURATION
    score = MAX_SCORE - (key >> (TIME_BITS + FINISH_BITS))
    return score, duration, EPOCH + dt.timedelta(seconds=finish)


@dataclasses.dataclass(frozen=True)
class Standing:
    openid: str
    rank: int  # 1 = first
    score: int
    duration_seconds: int
    finished_at: dt.datetime  # to the second


class Board(Protocol):
    def top(self, n: int = 10) -> list[Standing]: ...
    def standing(self, openid: str) -> Standing | None: ...
    def size(self) -> int: ...


def _bytewise(column, session: Session):
    # Redis breaks score ties by member bytes; PostgreSQL's default collation would not.
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


class DbBoard:
    """Computed from `quiz_best` (optionally only citizens who set this township)."""

    def __init__(self, session: Session, township: str | None = None) -> None:
        self.session = session
        self.township = township

    def _base(self, *columns):
        query = select(*columns).select_from(QuizBest)
        if self.township is not None:
            query = query.join(Citizen, Citizen.openid == QuizBest.openid).where(Citizen.township == self.township)
        return query

    def top(self, n: int = 10) -> list[Standing]:
        rows = self.session.execute(
            self._base(QuizBest.openid, QuizBest.rank_key)
            .order_by(QuizBest.rank_key, _bytewise(QuizBest.openid, self.session)).limit(n))
        return [_standing(openid, index + 1, key) for index, (openid, key) in enumerate(rows)]

    def standing(self, openid: str) -> Standing | None:
        mine = self.session.scalar(self._base(QuizBest.rank_key).where(QuizBest.openid == openid))
        if mine is None:
            return None
        ahead = self.session.scalar(self._base(func.count()).where(or_(
            QuizBest.rank_key < mine,
            and_(QuizBest.rank_key == mine, _bytewise(QuizBest.openid, self.session) < openid))))
        return _standing(openid, int(ahead or 0) + 1, mine)

    def size(self) -> int:
        return int(self.session.scalar(self._base(func.count())) or 0)


class RedisBoard:
    """The same order from the sorted set: O(log n) per rank."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def top(self, n: int = 10) -> list[Standing]:
        return [_standing(openid, index + 1, int(score)) for index, (openid, score) in
                enumerate(self.store.zrange(KEY, 0, n - 1))]

    def standing(self, openid: str) -> Standing | None:
        score = self.store.zscore(KEY, openid)
        rank = self.store.zrank(KEY, openid) if score is not None else None
        return None if rank is None or score is None else _standing(openid, rank + 1, int(score))

    def size(self) -> int:
        return self.store.zcard(KEY)


def _standing(openid: str, rank: int, key: int) -> Standing:
    score, duration, finished = decode_key(key)
    return Standing(openid, rank, score, duration, finished)


def uses_redis(store: Store | None) -> bool:
    return isinstance(store, RedisStore)


def board_for(session: Session, store: Store | None) -> Board:
    """Redis when configured and built (building a small one on the spot), else the DB."""
    if uses_redis(store):
        try:
            if store.get(BUILT_KEY) or _rebuild_if_small(session, store):  # type: ignore[union-attr]
                return RedisBoard(store)  # type: ignore[arg-type]
        except StoreError:
            log.warning("leaderboard: Redis not answering, ranking from the DB")
    return DbBoard(session)


def _rebuild_if_small(session: Session, store: Store) -> bool:
    if DbBoard(session).size() > INLINE_REBUILD_LIMIT:
        log.warning("leaderboard sorted set missing; run `python -m bot quiz leaderboard rebuild`")
        return False
    if not store.set_nx(REBUILD_LOCK, "1", ttl=60):
        return False
    try:
        rebuild(session, store)
    finally:
        store.delete(REBUILD_LOCK)
    return True


def rebuild(session: Session, store: Store) -> int:
    """Refill the sorted set from `quiz_best`; returns the number of participants."""
    store.delete(BUILT_KEY)
    store.delete(KEY)
    count = 0
    chunk: dict[str, float] = {}
    for openid, key in session.execute(select(QuizBest.openid, QuizBest.rank_key).execution_options(yield_per=REBUILD_CHUNK)):
        chunk[openid] = float(key)
        if len(chunk) >= REBUILD_CHUNK:
            store.zadd(KEY, chunk)
            count += len(chunk)
            chunk = {}
    store.zadd(KEY, chunk)
    count += len(chunk)
    store.set(BUILT_KEY, "1")
    return count


def record(session: Session, store: Store | None, rnd: QuizRound) -> bool:
    """Count a finished, counted, unflagged round toward its player's best; True if it became the best."""
    if rnd.finished_at is None or rnd.duration_seconds is None:
        raise ValueError("only a finished round can be recorded")
    key = rank_key(rnd.score, rnd.duration_seconds, rnd.finished_at)
    best = session.get(QuizBest, rnd.openid)
    if best is not None and best.rank_key <= key:
        return False
    if best is None:
        best = QuizBest(openid=rnd.openid)
        session.add(best)
    best.round_id, best.score, best.total = rnd.id, rnd.score, rnd.total
    best.duration_seconds, best.finished_at, best.rank_key = rnd.duration_seconds, rnd.finished_at, key
    session.flush()
    if uses_redis(store):
        _after_commit(session, store, {rnd.openid: float(key)})  # type: ignore[arg-type]
    return True


def _after_commit(session: Session, store: Store, scores: dict[str, float]) -> None:
    """Update Redis only once the DB has the row: a rolled-back finish leaves no trace there."""
    pending = session.info.setdefault(PENDING, {})
    pending.update(scores)
    session.info[PENDING + ":store"] = store
    if not event.contains(session, "after_commit", _flush_pending):
        event.listen(session, "after_commit", _flush_pending)
        event.listen(session, "after_rollback", _drop_pending)


def _flush_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    store = session.info.pop(PENDING + ":store", None)
    if not pending or store is None:
        return
    try:
        store.zadd(KEY, pending)
    except StoreError:
        # The DB has it; the set is rebuilt from there.
        log.warning("leaderboard: Redis update failed; run `python -m bot quiz leaderboard rebuild`")


def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(PENDING + ":store", None)


def best_from_rounds(session: Session, openid: str) -> QuizRound | None:
    """The player's best counted, unflagged, finished round, straight from the rounds (for rebuilds)."""
    return session.scalar(
        select(QuizRound)
        .where(QuizRound.openid == openid, QuizRound.counted.is_(True), QuizRound.flagged.is_(False),
               QuizRound.status == "finished")
        .order_by(QuizRound.score.desc(), QuizRound.duration_seconds, QuizRound.finished_at, QuizRound.id)
        .limit(1))
