"""Citizens' last interaction times, gathered per process and written in batches (bot/infra/last_seen.py)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import shanghai
from bot.infra import last_seen as last_seen_module
from bot.infra.db import Database
from bot.infra.last_seen import LastSeen
from bot.infra.migrate import upgrade
from bot.models import Citizen as CitizenRow
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer

NOON = shanghai(2021, 6, 1, 12, 0)


@pytest.fixture
def db(database_url: str):
    database = Database(database_url)
    yield database
    database.dispose()


def rows(db: Database) -> dict[str, tuple[dt.datetime, dt.datetime | None]]:
    with db.session() as s:
        return {c.openid: (c.first_seen_at, c.last_interaction_at) for c in s.scalars(select(CitizenRow))}


def test_times_wait_for_the_flush_then_go_in_one_write_earliest_and_latest_kept(db: Database) -> None:
    seen = LastSeen(db, every=60)  # the writer would wait a minute: only flush() writes here
    try:
        for minutes, openid in [(0, "o_a"), (1, "o_b"), (3, "o_a"), (2, "o_a")]:
            seen.note(openid, NOON + dt.timedelta(minutes=minutes))
        assert rows(db) == {}
        assert seen.flush() == 2
        assert rows(db) == {"o_a": (NOON, NOON + dt.timedelta(minutes=3)),
                            "o_b": (NOON + dt.timedelta(minutes=1), NOON + dt.timedelta(minutes=1))}
        assert seen.flush() == 0
    finally:
        seen.close()


def test_a_time_never_goes_backwards_nor_moves_first_seen(db: Database) -> None:
    now_writer = LastSeen(db, every=0)  # another worker, writing with each message
    batched = LastSeen(db, every=60)
    try:
        now_writer.note("o_a", NOON)
        now_writer.note("o_a", NOON + dt.timedelta(minutes=5))
        batched.note("o_a", NOON + dt.timedelta(minutes=2))  # older than what the other one wrote
        batched.flush()
        assert rows(db) == {"o_a": (NOON, NOON + dt.timedelta(minutes=5))}
        batched.note("o_a", NOON + dt.timedelta(minutes=9))
        batched.flush()
        assert rows(db) == {"o_a": (NOON, NOON + dt.timedelta(minutes=9))}
    finally:
        batched.close()


def test_a_failed_write_keeps_the_times_for_the_next_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    db = Database(url)  # no tables yet: the write fails as a database that is down does
    errors = []
    seen = LastSeen(db, every=60, on_error=lambda: errors.append(1))
    try:
        seen.note("o_a", NOON)
        with pytest.raises(Exception, match="citizens"):
            seen.flush()
        seen.note("o_a", NOON + dt.timedelta(minutes=1))
        upgrade(url)
        assert seen.flush() == 1
        assert rows(db) == {"o_a": (NOON, NOON + dt.timedelta(minutes=1))}
    finally:
        seen.close()
        db.dispose()


def test_while_the_database_is_down_the_backlog_is_bounded(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(last_seen_module, "MAX_PENDING", 2)
    seen = LastSeen(db, every=60)
    try:
        for openid in ("o_a", "o_b", "o_c"):
            seen.note(openid, NOON)
        seen.note("o_a", NOON + dt.timedelta(minutes=1))  # one already waiting is still brought forward
        seen.flush()
        assert rows(db) == {"o_a": (NOON, NOON + dt.timedelta(minutes=1)), "o_b": (NOON, NOON)}
    finally:
        seen.close()


def test_the_writer_writes_on_its_own_and_close_writes_the_rest(db: Database) -> None:
    seen = LastSeen(db, every=0.05)
    try:
        seen.note("o_a", NOON)
        deadline = time.monotonic() + 10
        while "o_a" not in rows(db):
            assert time.monotonic() < deadline, "the writer never wrote"
            time.sleep(0.02)
    finally:
        seen.close()
    slow = LastSeen(db, every=60)
    slow.note("o_b", NOON)
    slow.close()  # a worker's exit: nothing left in memory
    assert set(rows(db)) == {"o_a", "o_b"}


def test_a_message_notes_its_citizen_and_the_batch_records_them(database_url: str, clock, store) -> None:
    from bot import create_app

    app = create_app(make_config(database_url, conversation={"seen_flush_seconds": 60}), clock=clock, store=store)
    bot = app.extensions["bot"]
    try:
        citizen = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="aes", clock=clock), "o_batched")
        assert "取消" in citizen.says("帮助")
        assert rows(bot.db) == {}  # noted, not yet written: the reply did not wait for it
        bot.last_seen.flush()
        assert rows(bot.db) == {"o_batched": (clock.now(), clock.now())}
    finally:
        bot.close()


def test_a_township_choice_creates_the_citizen_even_when_the_batch_got_there_first(db: Database) -> None:
    from bot.services import citizens

    seen = LastSeen(db, every=60)
    seen.note("o_a", NOON)
    seen.flush()
    with db.session() as s:
        citizen = citizens.get_or_create(s, "o_a", NOON + dt.timedelta(hours=1))
        fresh = citizens.get_or_create(s, "o_new", NOON + dt.timedelta(hours=1))
        s.commit()
        assert citizen.first_seen_at == NOON and fresh.first_seen_at == NOON + dt.timedelta(hours=1)
    seen.close()


def test_a_database_outage_is_logged_once_in_full_then_in_a_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    db = Database(url)  # no tables: every write fails until the migration runs
    errors: list[int] = []
    seen = LastSeen(db, every=0.02, on_error=lambda: errors.append(1))
    try:
        with caplog.at_level("INFO", logger="bot.infra.last_seen"):
            seen.note("o_a", NOON)
            deadline = time.monotonic() + 10
            while len(errors) < 3:
                assert time.monotonic() < deadline, "the writer never retried"
                time.sleep(0.01)
            upgrade(url)
            while "o_a" not in rows(db):
                assert time.monotonic() < deadline, "the writer never recovered"
                time.sleep(0.01)
            seen.close()
        failures = [r for r in caplog.records if "not written" in r.getMessage()]
        assert len(failures) >= 3 and failures[0].exc_info and not any(r.exc_info for r in failures[1:])
        assert any("written again after" in r.getMessage() for r in caplog.records)
    finally:
        seen.close()
        db.dispose()


def events(db: Database) -> dict[str, tuple[dt.datetime | None, str | None]]:
    with db.session() as s:
        return {c.openid: (c.window_event_at, c.window_event_kind) for c in s.scalars(select(CitizenRow))}


def test_clicks_and_scans_are_batched_apart_the_latest_kept_with_its_kind_never_backwards(db: Database) -> None:
    now_writer = LastSeen(db, every=0)
    batched = LastSeen(db, every=60)
    try:
        batched.note_event("o_a", NOON + dt.timedelta(minutes=1), "menu")
        batched.note_event("o_a", NOON + dt.timedelta(minutes=3), "scan")
        batched.note_event("o_a", NOON + dt.timedelta(minutes=2), "menu")  # older, noted later
        batched.note("o_b", NOON)
        assert events(db) == {}
        assert batched.flush() == 2
        assert events(db) == {"o_a": (NOON + dt.timedelta(minutes=3), "scan"), "o_b": (None, None)}
        assert rows(db)["o_a"] == (NOON + dt.timedelta(minutes=1), None)  # a click is no message
        now_writer.note_event("o_a", NOON + dt.timedelta(minutes=9), "menu")
        batched.note_event("o_a", NOON + dt.timedelta(minutes=5), "scan")  # older than what is written
        batched.flush()
        assert events(db)["o_a"] == (NOON + dt.timedelta(minutes=9), "menu")
    finally:
        batched.close()
        now_writer.close()
