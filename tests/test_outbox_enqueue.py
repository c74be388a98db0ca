from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.models import Delivery, DeliveryStatus
from bot.services.outbox import enqueue, text_payload


def test_enqueue_is_idempotent_on_key(bot, clock) -> None:
    with bot.db.session() as s:
        first = enqueue(s, key="report:1:status:2", purpose="report_status", openid="o1",
                        payload=text_payload("您的举报已受理"), now=clock.now())
        again = enqueue(s, key="report:1:status:2", purpose="report_status", openid="o1",
                        payload=text_payload("不同的文字"), now=clock.now())
        s.commit()
        assert first.id == again.id
        assert s.scalar(select(func.count(Delivery.id))) == 1
        row = s.get(Delivery, first.id)
        assert row.status == DeliveryStatus.PENDING and row.payload["content"] == "您的举报已受理"
        assert row.not_before == clock.now()


def test_enqueue_needs_exactly_one_recipient(bot, clock) -> None:
    with bot.db.session() as s, pytest.raises(ValueError):
        enqueue(s, key="k", purpose="x", payload=text_payload("x"), now=clock.now())
    with bot.db.session() as s, pytest.raises(ValueError):
        enqueue(s, key="k", purpose="x", payload=text_payload("x"), now=clock.now(), openid="o", audience={"all": True})
