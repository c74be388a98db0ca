"""Pausing scheduled work from the console: jobs of bot/background/jobs/__init__.py and push-plan items, and when they run next.

Pauses live in the database (`job_pauses`), read by the scheduler's `JobRunner` and
`bot.services.pushplan.enqueue_due` at every run, so they hold whichever process is the leader.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from bot.clock import TZ
from bot.models import JobPause

log = logging.getLogger(__name__)

JOB_STORE_TABLE = "apscheduler_jobs"


def job_key(job_id: str) -> str:
    return f"job:{job_id}"


def plan_key(item_id: str) -> str:
    return f"plan:{item_id}"


def paused(session: Session) -> dict[str, JobPause]:
    return {p.key: p for p in session.scalars(select(JobPause))}


def is_paused(session: Session, key: str) -> bool:
    return session.get(JobPause, key) is not None


def pause(session: Session, key: str, *, actor: str, now: dt.datetime, reason: str = "") -> bool:
    """False when it was already paused (nothing changes)."""
    if is_paused(session, key):
        return False
    session.add(JobPause(key=key, paused_by=actor, paused_at=now, reason=reason.strip() or None))
    session.flush()
    return True


def resume(session: Session, key: str) -> bool:
    """False when it was not paused."""
    row = session.get(JobPause, key)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def stored_next_runs(session: Session) -> dict[str, dt.datetime | None]:
    """Next run times from APScheduler's job store, when a scheduler has created it in this database."""
    try:
        # The session's own connection: a second one would wait on SQLite's lock of this transaction.
        if not inspect(session.connection()).has_table(JOB_STORE_TABLE):
            return {}
        rows = session.execute(text(f"SELECT id, next_run_time FROM {JOB_STORE_TABLE}")).all()
    except Exception:  # an unreadable store only loses the precise time; the trigger still gives one
        log.exception("cannot read the scheduler's job store")
        session.rollback()
        return {}
    return {job_id: dt.datetime.fromtimestamp(ts, TZ) if ts is not None else None for job_id, ts in rows}
