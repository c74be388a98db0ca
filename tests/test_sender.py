"""The sender against the fake WeChat API: channels, retries, leases and crash recovery."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from bot.background.sender import Sender
from bot.models import Citizen, Delivery, DeliveryStatus
from bot.services.articles import article
from bot.services.outbox import enqueue, news_payload, requeue, text_payload
from tests.settings import make_config

TEMPLATE = {"report_status_template": "TPL_STATUS",
            "report_status_template_keys": "ticket=character_string1 status=phrase2 note=thing3"}


@pytest.fixture
def config(api_config):
    return api_config


def active_citizen(bot, fake, clock, openid: str) -> None:
    with bot.db.session() as s:
        s.add(Citizen(openid=openid, first_seen_at=clock.now(), last_interaction_at=clock.now()))
        s.commit()
    fake.record_interaction(openid)


def push(bot, clock, key: str, **target) -> int:
    with bot.db.session() as s:
        row = enqueue(s, key=key, purpose=target.pop("purpose", "test"),
                      payload=target.pop("payload", text_payload("您好")),
                      now=clock.now(), **target)
        s.commit()
        return row.id


def row(bot, delivery_id: int) -> Delivery:
    with bot.db.session() as s:
        return s.get(Delivery, delivery_id)


def test_active_citizen_gets_a_customer_service_message(bot, fake_wechat, clock) -> None:
    active_citizen(bot, fake_wechat, clock, "o1")
    delivery_id = push(bot, clock, "k1", openid="o1")
    assert Sender.from_bot(bot).drain() == 1
    done = row(bot, delivery_id)
    assert (done.status, done.channel, done.attempts) == (DeliveryStatus.SENT, "custom", 1)
    assert done.sent_at == clock.now() and done.lease_owner is None
    assert [d.message["text"]["content"] for d in fake_wechat.sent_to("o1")] == ["您好"]


def test_outside_the_window_without_templates_is_undeliverable(bot, fake_wechat, clock) -> None:
    active_citizen(bot, fake_wechat, clock, "o1")
    clock.advance(hours=49)
    delivery_id = push(bot, clock, "k1", openid="o1", purpose="report_status")
    Sender.from_bot(bot).drain()
    done = row(bot, delivery_id)
    assert done.status == DeliveryStatus.UNDELIVERABLE
    assert "已超过 48 小时" in done.last_error and "没有配置模板消息" in done.last_error
    assert fake_wechat.sent_to("o1") == []


def test_service_account_falls_back_to_a_template(database_url, fake_wechat, clock, store) -> None:
    from bot import create_app

    fake_wechat.account_type = "service"
    cfg = make_config(database_url, wechat={"api_base_url": fake_wechat.base_url, "account_type": "service"},
                      push=TEMPLATE)
    app = create_app(cfg, clock=clock, store=store)
    bot = app.extensions["bot"]
    try:
        active_citizen(bot, fake_wechat, clock, "o1")
        clock.advance(days=3)
        delivery_id = push(bot, clock, "k1", openid="o1", purpose="report_status",
                           payload=news_payload("举报已受理", "编号 YH001", "https://example.org/r/1"))
        Sender.from_bot(bot).drain()
        done = row(bot, delivery_id)
        assert (done.status, done.channel) == (DeliveryStatus.SENT, "template")
        [sent] = fake_wechat.sent_to("o1")
        assert sent.message["template_id"] == "TPL_STATUS" and sent.message["url"] == "https://example.org/r/1"
        assert done.wechat_msg_id == sent.msg_id
    finally:
        bot.close()


def test_window_count_exhausted_means_undeliverable_with_the_reason(bot, fake_wechat, clock) -> None:
    active_citizen(bot, fake_wechat, clock, "o1")
    ids = [push(bot, clock, f"k{n}", openid="o1") for n in range(6)]
    Sender.from_bot(bot).drain()
    statuses = [row(bot, i).status for i in ids]
    assert statuses.count(DeliveryStatus.SENT) == 5
    [refused] = [row(bot, i) for i in ids if row(bot, i).status != DeliveryStatus.SENT]
    assert refused.status == DeliveryStatus.UNDELIVERABLE and "条数已用完" in refused.last_error
    assert fake_wechat.calls["message/custom/send"] == 5  # the sixth was never attempted


def test_transient_errors_back_off_then_give_up(bot, fake_wechat, clock) -> None:
    active_citizen(bot, fake_wechat, clock, "o1")
    bot.extensions["api"].access_token()
    fake_wechat.error_rate = 1.0
    delivery_id = push(bot, clock, "k1", openid="o1")
    sender = Sender.from_bot(bot)
    sender.drain()
    first = row(bot, delivery_id)
    assert (first.status, first.attempts, first.last_errcode) == (DeliveryStatus.PENDING, 1, -1)
    assert first.not_before > clock.now()
    assert sender.drain() == 0  # not due yet
    for _ in range(bot.config.push.max_attempts - 1):
        clock.advance(hours=2)
        sender.drain()
    final = row(bot, delivery_id)
    assert final.status == DeliveryStatus.FAILED and final.attempts == bot.config.push.max_attempts
    assert final.last_error.startswith("gave up after 5 attempts")
    fake_wechat.error_rate = 0.0


def test_a_retry_succeeds_once_the_error_clears(bot, fake_wechat, clock) -> None:
    active_citizen(bot, fake_wechat, clock, "o1")
    bot.extensions["api"].access_token()
    fake_wechat.error_rate = 1.0
    delivery_id = push(bot, clock, "k1", openid="o1")
    sender = Sender.from_bot(bot)
    sender.drain()
    fake_wechat.error_rate = 0.0
    clock.advance(minutes=1)
    sender.drain()
    assert row(bot, delivery_id).status == DeliveryStatus.SENT
    assert len(fake_wechat.sent_to("o1")) == 1


def test_permanent_errors_fail_with_the_reason(bot, fake_wechat, clock) -> None:
    with bot.db.session() as s:  # we think they are active, WeChat does not know them
        s.add(Citizen(openid="ghost", first_seen_at=clock.now(), last_interaction_at=clock.now()))
        s.commit()
    delivery_id = push(bot, clock, "k1", openid="ghost")
    Sender.from_bot(bot).drain()
    done = row(bot, delivery_id)
    assert (done.status, done.last_errcode, done.attempts) == (DeliveryStatus.FAILED, 40003, 1)
    assert "invalid openid" in done.last_error


def test_unfollowed_citizens_are_not_tried(bot, fake_wechat, clock) -> None:
    active_citizen(bot, fake_wechat, clock, "o1")
    with bot.db.session() as s:
        s.scalar(select(Citizen).where(Citizen.openid == "o1")).unsubscribed_at = clock.now()
        s.commit()
    delivery_id = push(bot, clock, "k1", openid="o1")
    Sender.from_bot(bot).drain()
    assert row(bot, delivery_id).status == DeliveryStatus.UNDELIVERABLE
    assert fake_wechat.calls["message/custom/send"] == 0


def test_audience_rows_are_mass_sends(bot, fake_wechat, clock) -> None:
    for openid in ("a", "b"):
        fake_wechat.add_user(openid)
    payload = {"type": "news", "articles": [article(title="案例警示", digest="一起有限空间事故", body="先通风、再检测、后作业。",
                                                     cover="covers/case.jpg", source_url="https://example.org/case/1")]}
    delivery_id = push(bot, clock, "plan:case-1", audience={"all": True}, payload=payload)
    Sender.from_bot(bot).drain()
    done = row(bot, delivery_id)
    assert (done.status, done.channel) == (DeliveryStatus.SENT, "mass")
    job = fake_wechat.mass_jobs()[done.wechat_msg_id]
    assert job["sent"] == 2 and job["message"]["msgtype"] == "mpnews"
    [sent] = fake_wechat.article(job["message"]["mpnews"]["media_id"])
    assert sent["content_source_url"] == "https://example.org/case/1"


def test_township_audience_creates_the_tag(bot, fake_wechat, clock) -> None:
    fake_wechat.add_user("a")
    delivery_id = push(bot, clock, "b:1", audience={"township": "chengguan"})
    Sender.from_bot(bot).drain()
    assert row(bot, delivery_id).status == DeliveryStatus.SENT
    assert list(fake_wechat.tags().values()) == ["城关镇"]


def test_expired_leases_become_uncertain_and_are_never_resent(bot, fake_wechat, clock) -> None:
    active_citizen(bot, fake_wechat, clock, "o1")
    fake_wechat.add_user("a")
    personal = push(bot, clock, "k1", openid="o1")
    mass = push(bot, clock, "k2", audience={"all": True})
    dead = Sender.from_bot(bot, owner="dead")
    claimed = dead.claim(10)
    # The dead sender got as far as WeChat for both rows, then died before writing anything.
    outcomes = [dead.deliver(r) for r in claimed]
    clock.advance(seconds=bot.config.push.lease_seconds + 1)
    alive = Sender.from_bot(bot, owner="alive")
    alive.drain()
    assert row(bot, personal).status == DeliveryStatus.UNCERTAIN
    assert "may have arrived" in row(bot, personal).last_error
    assert row(bot, mass).status == DeliveryStatus.SENT  # resent with the same clientmsgid: WeChat deduped it
    assert sorted((d.openid, d.channel) for d in fake_wechat.delivered()) == [
        ("a", "mass"), ("o1", "custom"), ("o1", "mass")]
    # The dead sender's late results are not written over the recovery.
    assert dead.record(outcomes) == 0
    assert row(bot, personal).status == DeliveryStatus.UNCERTAIN
    # Staff may requeue it (here they decide it did not arrive).
    with bot.db.session() as s:
        assert requeue(s, None, clock.now()) == 1
        s.commit()
    alive.drain()
    assert row(bot, personal).status == DeliveryStatus.SENT


def test_two_senders_never_deliver_a_row_twice(bot, fake_wechat, clock) -> None:
    openids = [f"o{n}" for n in range(150)]
    with bot.db.session() as s:
        for openid in openids:
            s.add(Citizen(openid=openid, first_seen_at=clock.now(), last_interaction_at=clock.now()))
            fake_wechat.record_interaction(openid)
            enqueue(s, key=f"k:{openid}", purpose="test", payload=text_payload("x"), now=clock.now(), openid=openid)
        s.commit()
    senders = [Sender.from_bot(bot, owner=f"s{n}") for n in range(3)]
    threads = [threading.Thread(target=s.drain) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake_wechat.delivery_counts() == {o: 1 for o in openids}
    with bot.db.session() as s:
        assert set(s.scalars(select(Delivery.status))) == {DeliveryStatus.SENT}


def test_the_loop_stops_gracefully_with_nothing_in_doubt(bot, fake_wechat, clock) -> None:
    fake_wechat.latency = 0.01
    with bot.db.session() as s:
        for n in range(40):
            s.add(Citizen(openid=f"o{n}", first_seen_at=clock.now(), last_interaction_at=clock.now()))
            fake_wechat.record_interaction(f"o{n}")
            enqueue(s, key=f"k{n}", purpose="test", payload=text_payload("x"), now=clock.now(), openid=f"o{n}")
        s.commit()
    stop = threading.Event()
    sender = Sender.from_bot(bot)
    thread = threading.Thread(target=sender.run, args=(stop,), kwargs={"idle_wait": 0.01})
    thread.start()
    while len(fake_wechat.delivered()) < 10:
        threading.Event().wait(0.005)
    stop.set()
    thread.join(timeout=10)
    with bot.db.session() as s:
        statuses = list(s.scalars(select(Delivery.status)))
    assert DeliveryStatus.SENDING not in statuses and DeliveryStatus.UNCERTAIN not in statuses
    assert statuses.count(DeliveryStatus.SENT) == len(fake_wechat.delivered())
