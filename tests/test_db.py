"""The database layer's own promises (PostgreSQL-specific where it says so)."""

from __future__ import annotations

from sqlalchemy import text

from bot.db import Database


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
