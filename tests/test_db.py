"""The database layer's own promises (PostgreSQL-specific where it says so)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.infra.db import Database


def test_postgresql_statements_are_planned_afresh_not_prepared(pg_url: str) -> None:
    """A statement psycopg prepared would run on the generic plan PostgreSQL made at that moment;
    one made while a table was nearly empty scans it whole, and pooled connections live for days
    (quiz answers slowed to a third over a benchmark's five rounds). Nothing is prepared."""
    db = Database(pg_url)
    try:
        with db.engine.connect() as conn:
            for _ in range(10):  # psycopg prepares after the 5th run by default
                conn.execute(text("SELECT count(*) FROM quiz_rounds WHERE id = :id"), {"id": 1})
            assert conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
        for _ in range(10):
            db.execute_alone(text("SELECT count(*) FROM quiz_rounds WHERE id = :id"), {"id": 1})
        with db._alone.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
    finally:
        db.dispose()


def test_an_answer_changes_no_indexed_column_of_its_round(pg_url: str) -> None:
    """PostgreSQL updates a row in place (HOT, no new index entries) only when no indexed column
    changes: an answer moves position, score and last_activity_at, so none of them is indexed, and
    the table leaves room in its pages for the new versions. Measured: ~1.1 ms -> ~0.45 ms of
    PostgreSQL CPU per answer."""
    db = Database(pg_url)
    try:
        with db.engine.connect() as conn:
            indexed = set(conn.execute(text(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'quiz_rounds'::regclass")).scalars())
            options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'quiz_rounds'")).scalar()
        assert indexed and not indexed & {"position", "score", "last_activity_at"}
        assert "fillfactor=70" in (options or [])
    finally:
        db.dispose()


def test_the_autocommit_pool_recovers_by_itself_after_postgresql_drops_its_connections(pg_url: str) -> None:
    """A PostgreSQL restart leaves every pooled connection dead: the next statement fails (its
    message gets an apology, nothing is acknowledged), the pool is then refilled with live ones."""
    from sqlalchemy.exc import DBAPIError

    db = Database(pg_url)
    try:
        assert db.execute_alone(text("SELECT 1 AS one"), {})[0].one == 1
        with db.engine.connect() as conn:
            killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        assert killed >= 1
        with pytest.raises(DBAPIError):
            db.execute_alone(text("SELECT 1 AS one"), {})
        assert db.execute_alone(text("SELECT 1 AS one"), {})[0].one == 1
    finally:
        db.dispose()
