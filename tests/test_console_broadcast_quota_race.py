"""Two staff members send at the same moment: only one of them gets the day's last mass send
(issue 20). Two console requests in two threads, each with its own database session, on SQLite and
on PostgreSQL; both are held inside the quota check until the other has reached it too, if it can.

June 2 (a subscription account: one mass send a day) has nothing planned, so exactly one fits.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from bot.clock import shanghai
from bot.models import AuditEntry, Broadcast, Delivery
from bot.services import broadcasts
from tests.settings import make_config
from tests.test_console_broadcasts import compose, logged_in


@pytest.fixture(params=["sqlite", "postgresql"])
def config(request, fake_wechat):
    url = request.getfixturevalue("database_url" if request.param == "sqlite" else "pg_url")
    return make_config(url, wechat={"api_base_url": fake_wechat.base_url})


def test_two_sends_at_once_take_the_last_mass_send_once(app, clock, monkeypatch) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    first, second = logged_in(app, username="ed"), logged_in(app, username="li")
    compose(first, title="防汛提醒")
    compose(second, title="高温提醒")
    with app.extensions["bot"].db.session() as session:
        ids = list(session.scalars(select(Broadcast.id).order_by(Broadcast.id)))
    # Each request, once it has counted the day's mass sends, waits (up to a second) for the other to
    # have counted too: without a lock both count none and both queue.
    both_counted = threading.Barrier(2, timeout=1.0)
    counted = broadcasts.quota_refusal

    def count_then_wait(*args, **kwargs):
        refusal = counted(*args, **kwargs)
        try:
            both_counted.wait()
        except threading.BrokenBarrierError:
            pass  # the other one is waiting for the lock (or already done): go on
        return refusal

    monkeypatch.setattr(broadcasts, "quota_refusal", count_then_wait)
    answers: dict[int, int] = {}

    def send(console, broadcast_id: int) -> None:
        answers[broadcast_id] = console.post(f"/console/broadcasts/{broadcast_id}/send", {"at": ""}).status_code

    threads = [threading.Thread(target=send, args=(c, i)) for c, i in zip((first, second), ids, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == {ids[0]: 302, ids[1]: 302}
    with app.extensions["bot"].db.session() as session:
        queued = list(session.scalars(select(Delivery.key).where(Delivery.purpose == "broadcast")))
        statuses = sorted(session.scalars(select(Broadcast.status)))
        refused = list(session.scalars(select(AuditEntry.note).where(AuditEntry.action == "broadcast.refused")))
    assert len(queued) == 1 and statuses == ["draft", "queued"]
    assert len(refused) == 1 and "订阅号每天只能群发 1 次" in refused[0]
