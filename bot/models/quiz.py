"""Prize quiz: rounds and their answers, each user's best counted round, draws, entries and prizes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class RoundStatus:
    ACTIVE = "active"
    FINISHED = "finished"
    EXPIRED = "expired"      # idle past [quiz] round_idle_minutes: closed, never scored
    ABANDONED = "abandoned"  # 取消


class QuizRound(Base):
    __tablename__ = "quiz_rounds"
    # No index on what an answer changes (position, score, last_activity_at): PostgreSQL can then
    # update the row in place, and the table keeps room for it (fillfactor 70, migration 0009).
    __table_args__ = (Index("ix_quiz_rounds_openid_day", "openid", "day"),
                      Index("ix_quiz_rounds_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    # The dedupe key of the message that started it: a replayed 答题 never opens a second round.
    start_key: Mapped[str] = mapped_column(String(191), unique=True)
    day: Mapped[dt.date] = mapped_column(Date)  # campaign day (Asia/Shanghai) the round started on
    counted: Mapped[bool]  # False = practice (outside the window or over the daily cap)
    status: Mapped[str] = mapped_column(String(16), default=RoundStatus.ACTIVE)
    question_ids: Mapped[list[str]] = mapped_column(JSON)  # drawn at the start, in order
    position: Mapped[int] = mapped_column(default=0)  # questions answered so far
    score: Mapped[int] = mapped_column(default=0)
    total: Mapped[int]
    started_at: Mapped[dt.datetime]
    last_activity_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    duration_seconds: Mapped[int | None]
    flagged: Mapped[bool] = mapped_column(default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    flag_reviewed_by: Mapped[str | None] = mapped_column(String(64))
    flag_reviewed_at: Mapped[dt.datetime | None]


class QuizAnswer(Base):
    __tablename__ = "quiz_answers"
    # Both keys make a retried or duplicated answer impossible to count twice.
    __table_args__ = (UniqueConstraint("round_id", "position", name="uq_quiz_answers_round_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("quiz_rounds.id"))
    position: Mapped[int]  # 0-based
    question_id: Mapped[str] = mapped_column(String(64))
    given: Mapped[str] = mapped_column(String(16))
    correct: Mapped[bool]
    answered_at: Mapped[dt.datetime]
    message_key: Mapped[str] = mapped_column(String(191), unique=True)


class QuizBest(Base):
    """Each participant's best counted, unflagged round: the leaderboard, in the DB."""

    __tablename__ = "quiz_best"
    __table_args__ = (Index("ix_quiz_best_rank", "rank_key", "openid"),)

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("quiz_rounds.id"))
    score: Mapped[int]
    total: Mapped[int]
    duration_seconds: Mapped[int]
    finished_at: Mapped[dt.datetime]
    # score desc, time asc, finish asc in one integer (leaderboard.rank_key); the Redis score too.
    rank_key: Mapped[int] = mapped_column(BigInteger)


class DrawStatus:
    COMMITTED = "committed"  # list frozen, commitment published, seed still secret
    REVEALED = "revealed"    # seed published, winners fixed


class QuizDraw(Base):
    __tablename__ = "quiz_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    prize: Mapped[str] = mapped_column(String(100))
    winners_wanted: Mapped[int]
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    entry_per: Mapped[str] = mapped_column(String(16))    # day | campaign
    eligibility: Mapped[str] = mapped_column(String(32))  # full_marks | at_least:N
    entry_count: Mapped[int]
    list_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical entry list
    commitment: Mapped[str] = mapped_column(String(64))   # SHA-256 of the seed, published at creation
    seed: Mapped[str] = mapped_column(String(64))         # secret until revealed
    beacon: Mapped[str | None] = mapped_column(String(200))  # public value announced after the commitment
    status: Mapped[str] = mapped_column(String(16), default=DrawStatus.COMMITTED)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    revealed_at: Mapped[dt.datetime | None]
    revealed_by: Mapped[str | None] = mapped_column(String(64))


class QuizDrawEntry(Base):
    __tablename__ = "quiz_draw_entries"
    __table_args__ = (UniqueConstraint("draw_id", "position", name="uq_quiz_draw_entries_draw_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("quiz_draws.id"))
    position: Mapped[int]  # 0-based place in the frozen list
    openid: Mapped[str] = mapped_column(String(64))
    # Who the entry is in the published list (draws.pseudonym_of); None in draws from before them.
    pseudonym: Mapped[str | None] = mapped_column(String(16))
    day: Mapped[dt.date] = mapped_column(Date)
    round_id: Mapped[int] = mapped_column(ForeignKey("quiz_rounds.id"))


class PrizeStatus:
    WON = "won"              # drawn, waiting for 领奖
    CLAIMED = "claimed"      # name and phone given
    DELIVERED = "delivered"  # staff handed it over
    EXPIRED = "expired"      # not claimed within [quiz] claim_days


class QuizPrize(Base):
    __tablename__ = "quiz_prizes"
    __table_args__ = (UniqueConstraint("draw_id", "openid", name="uq_quiz_prizes_draw_openid"),
                      Index("ix_quiz_prizes_openid_status", "openid", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("quiz_draws.id"))
    openid: Mapped[str] = mapped_column(String(64))
    pick_order: Mapped[int]       # 1 = first drawn
    entry_position: Mapped[int]   # the winning place in the frozen list
    status: Mapped[str] = mapped_column(String(16), default=PrizeStatus.WON)
    claim_deadline: Mapped[dt.datetime]
    # Contact details, encrypted (claims.contact_of reads them), kept only until [quiz] claim_erase_days
    # after delivery (claims.erase_claim_contacts).
    claimant_name: Mapped[str | None] = mapped_column(String(255))
    claimant_phone: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    delivered_by: Mapped[str | None] = mapped_column(String(64))
    expired_at: Mapped[dt.datetime | None]
    erase_after: Mapped[dt.datetime | None]  # fixed at delivery: delivered_at + claim_erase_days
    contact_erased_at: Mapped[dt.datetime | None]
