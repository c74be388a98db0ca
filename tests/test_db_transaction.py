"""Database.transaction(): the one way a CLI command, a job or a console request ends its writes.
Runs on SQLite, and on PostgreSQL when BOT_TEST_DATABASE_URL names one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.infra.db import Database, committed
from bot.models import AuditEntry
from bot.services.audit import audit

NOW = dt.datetime(2026, 6, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def actions(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_what_the_block_flushed_is_committed_when_it_ends(db: Database) -> None:
    with db.transaction() as session:
        audit(session, "admin", "staff.add", "li", now=NOW)  # a service: flushes, never commits
        assert session.in_transaction()
    assert actions(db) == ["staff.add"]


def test_unflushed_changes_are_committed_too(db: Database) -> None:
    with db.transaction() as session:
        session.add(AuditEntry(at=NOW, actor="admin", action="staff.disable"))
    assert actions(db) == ["staff.disable"]


def test_a_return_from_inside_the_block_commits(db: Database) -> None:
    def command() -> int:
        with db.transaction() as session:
            audit(session, "admin", "staff.enable", "li", now=NOW)
            return 0

    assert command() == 0
    assert actions(db) == ["staff.enable"]


def test_an_exception_rolls_everything_back_and_goes_on_up(db: Database) -> None:
    with pytest.raises(LookupError), db.transaction() as session:
        audit(session, "admin", "staff.add", "li", now=NOW)
        raise LookupError("no such account")
    assert actions(db) == []


def test_a_failed_commit_is_rolled_back_and_raised(db: Database) -> None:
    """The commit itself may fail (here: a NOT NULL column left empty); nothing is half kept."""
    with pytest.raises(Exception) as failure, db.transaction() as session:
        session.add(AuditEntry(at=NOW, actor="admin", action="kept?"))
        session.add(AuditEntry(at=NOW, actor="admin", action=None))
    assert "action" in str(failure.value).lower()
    assert actions(db) == []


def test_the_session_is_closed_either_way(db: Database) -> None:
    """Closed: its connection is back in the pool, whatever the block did."""
    with db.transaction() as session:
        audit(session, "admin", "a", now=NOW)
    with pytest.raises(RuntimeError), db.transaction() as failed:
        audit(failed, "admin", "b", now=NOW)
        raise RuntimeError
    for each in (session, failed):
        assert not each.in_transaction()
    assert db.engine.pool.checkedout() == 0


def test_committed_keeps_the_session_open_for_what_comes_next(db: Database) -> None:
    """The console's request session: each `committed` block ends its own writes; the session
    lives on until the request ends."""
    with db.session() as session:
        with committed(session):
            audit(session, "admin", "kept", now=NOW)
        with pytest.raises(ValueError), committed(session):
            audit(session, "admin", "dropped", now=NOW)
            raise ValueError
        with committed(session):
            audit(session, "admin", "after", now=NOW)
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2
    assert actions(db) == ["kept", "after"]
