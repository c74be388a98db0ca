"""content/ plus the console's edits: what every process serves, and how soon it sees an edit."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from bot import create_app
from bot.infra.store import MemoryStore
from bot.models import ContentEdit
from bot.services import content_edits
from bot.services.content_edits import EVENTS, StaleEdit
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.test_console_calendar import LECTURE, form_of, logged_in
from tests.wechat import Citizen, WeChatServer


@pytest.fixture
def second_worker(config, clock):
    """Another process on the same database: its own store, its own copy of the content."""
    app = create_app(config, clock=clock, store=MemoryStore())
    app.testing = True
    yield app
    app.extensions["bot"].close()


def test_another_worker_answers_with_an_edit_within_seconds(app, second_worker, clock) -> None:
    other = second_worker.extensions["bot"]
    citizen = Citizen(WeChatServer(second_worker.test_client(), TOKEN, APP_ID, AES_KEY, mode="aes", clock=clock),
                      "o_on_b")
    assert "县政府二楼会议室" in citizen.says("宣讲")
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    assert console.post(f"/console/calendar/{LECTURE}/edit", form | {"place": "县应急管理局三楼报告厅"}).status_code == 302
    saved_at = time.monotonic()
    while "县应急管理局三楼报告厅" not in (reply := citizen.says("宣讲")):
        assert time.monotonic() - saved_at < content_edits.REFRESH_SECONDS + 5, reply
        time.sleep(0.1)
    assert other.live_content.revision == 1


def test_a_worker_keeps_serving_when_the_edits_cannot_be_read(bot, monkeypatch) -> None:
    live = bot.live_content
    before = bot.content
    monkeypatch.setattr(live.database, "reads", lambda: (_ for _ in ()).throw(OSError("database away")))
    live.refresh()
    assert bot.content is before
    assert live._next_check - time.monotonic() > content_edits.REFRESH_SECONDS  # retried later, not per request


def test_edits_replace_add_and_cancel_items_of_the_seed(bot, clock) -> None:
    seed = bot.seed_content
    with bot.db.session() as session:
        moved, base = content_edits.entry_of(session, seed, EVENTS, LECTURE)
        assert base == 0 and moved["start"] == dt.datetime(2021, 6, 2, 15, 0)
        content_edits.save(session, part=EVENTS, item_id=LECTURE, entry=moved | {"place": "新地点"}, actor="ed",
                           now=clock.now(), base=0)
        content_edits.save(session, part=EVENTS, item_id="drill-flood", entry=None, actor="ed", now=clock.now(), base=0)
        added = dict(moved, id="extra-lecture", start=dt.date(2021, 6, 9))
        del added["end"]
        content_edits.save(session, part=EVENTS, item_id="extra-lecture", entry=added, actor="ed", now=clock.now(),
                           base=0)
        with pytest.raises(StaleEdit):  # based on the file's version, which is no longer the newest
            content_edits.save(session, part=EVENTS, item_id=LECTURE, entry=moved, actor="ed2", now=clock.now(), base=0)
        session.commit()
        stored = session.scalars(select(ContentEdit.entry).where(ContentEdit.item_id == "extra-lecture")).one()
    assert stored["start"] == "2021-06-09"  # JSON, as ISO text
    bot.live_content.refresh()
    events = bot.content.events
    assert events.get(LECTURE).place == "新地点"
    assert events.get("drill-flood") is None
    assert events.get("extra-lecture").all_day and events.get("extra-lecture").when_text().endswith("全天")
    assert len(events.items) == len(seed.events.items) + 1 - 1
    assert bot.seed_content.events.get("drill-flood") is not None  # the files stay as they are


def test_cancelled_items_are_listed_by_the_title_they_had(bot, clock) -> None:
    seed = bot.seed_content
    with bot.db.session() as session:
        entry, _ = content_edits.entry_of(session, seed, EVENTS, LECTURE)
        renamed = content_edits.save(session, part=EVENTS, item_id=LECTURE, entry=entry | {"title": "改名后的宣讲"},
                                     actor="ed", now=clock.now(), base=0)
        content_edits.save(session, part=EVENTS, item_id=LECTURE, entry=None, actor="ed2", now=clock.now(),
                           base=renamed.id)
        content_edits.save(session, part=EVENTS, item_id="drill-flood", entry=None, actor="ed", now=clock.now(), base=0)
        session.commit()
        titles = {c.item_id: (c.title, c.actor) for c in content_edits.cancelled(session, seed, EVENTS)}
    assert titles == {LECTURE: ("改名后的宣讲", "ed2"), "drill-flood": (seed.events.get("drill-flood").title, "ed")}
