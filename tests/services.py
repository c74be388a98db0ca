"""The real services a run may use: PostgreSQL and Redis, from BOT_TEST_* variables.

BOT_TEST_REQUIRE_SERVICES=1 (set by .ci/run) turns "Redis/PostgreSQL not reachable" from a skip
into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bot.infra.store import RedisStore

REDIS_URL = os.environ.get("BOT_TEST_REDIS_URL", "")
DATABASE_URL = os.environ.get("BOT_TEST_DATABASE_URL", "")
PG_ADMIN_URL = os.environ.get("BOT_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
REQUIRE = os.environ.get("BOT_TEST_REQUIRE_SERVICES") == "1"


def unavailable(what: str, exc: Exception) -> None:
    """Skip the test (fail it when the run requires its services): `what` is not reachable."""
    message = f"{what} not reachable: {exc}"
    if REQUIRE:
        pytest.fail(message + " (BOT_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def truncate_all(url: str) -> None:
    """Empty every table of the app's schema (PostgreSQL)."""
    from bot.models import Base

    engine = sa.create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def redis_store(url: str = "") -> Iterator[RedisStore]:
    """A Redis store under a prefix of its own, emptied afterwards (a generator for fixtures)."""
    store = RedisStore(url or REDIS_URL or DEFAULT_REDIS, prefix=f"test:{uuid.uuid4().hex[:8]}:")
    try:
        store.ping()
    except Exception as exc:
        unavailable("Redis", exc)
    yield store
    store.flush_prefix()
