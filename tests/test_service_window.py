"""The customer-service window as the platform counts it (bot/services/service_window.py):
what opens it, each opening's allowance, the fake's enforcement, the sender's and the
"active" broadcast audience's use of it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.background.sender import Sender
from bot.models import Citizen as CitizenRow
from bot.models import Delivery, DeliveryStatus
from bot.services import broadcasts
from bot.services.outbox import enqueue, text_payload
from bot.wechat.api import WeChatAPI, WeChatAPIError
from tests.wechat import Citizen, WeChatServer

TEMPLATE = {"report_status_template": "TPL_STATUS",
            "report_status_template_keys": "ticket=character_string1 status=phrase2 note=thing3"}


@pytest.fixture
def config(api_config):
    return api_config


@pytest.fixture
def api(fake_wechat, store) -> WeChatAPI:
    return WeChatAPI("wxtest00000000001", "test-app-secret", fake_wechat.base_url, store, sleep=lambda s: None)


def refused(api: WeChatAPI, openid: str) -> int | None:
    try:
        api.send_custom(openid, {"type": "text", "content": "x"})
    except WeChatAPIError as exc:
        return exc.errcode
    return None


def citizen_row(bot, openid: str) -> CitizenRow | None:
    with bot.db.session() as s:
        return s.scalar(select(CitizenRow).where(CitizenRow.openid == openid))


def notice(bot, clock, key: str, openid: str, purpose: str = "report_status") -> int:
    with bot.db.session() as s:
        row = enqueue(s, key=key, purpose=purpose, openid=openid, payload=text_payload("进度"), now=clock.now())
        s.commit()
        return row.id


def delivery(bot, delivery_id: int) -> Delivery:
    with bot.db.session() as s:
        return s.get(Delivery, delivery_id)


# --- the fake: what opens an allowance, and how much it allows -------------------------------------

@pytest.mark.parametrize("msg_type, event", [
    ("event", "VIEW"), ("event", "LOCATION"), ("event", "pic_sysphoto"), ("event", "pic_weixin"),
    ("event", "location_select"), ("event", "subscribe_msg_popup_event"), ("event", "subscribe_msg_change_event"),
    ("event", "MASSSENDJOBFINISH"), ("event", "TEMPLATESENDJOBFINISH"), ("event", "unsubscribe"),
])
def test_the_fake_opens_nothing_for_pushes_the_platform_does_not_count(api, fake_wechat, msg_type, event) -> None:
    fake_wechat.add_user("o1")
    assert fake_wechat.record_push("o1", msg_type, event) is None
    assert refused(api, "o1") == 45015


@pytest.mark.parametrize("msg_type, event, kind", [
    ("text", "", "message"), ("image", "", "message"), ("voice", "", "message"), ("video", "", "message"),
    ("shortvideo", "", "message"), ("location", "", "message"), ("link", "", "message"),
    ("event", "CLICK", "menu"), ("event", "scancode_push", "menu"), ("event", "scancode_waitmsg", "menu"),
    ("event", "subscribe", "follow"), ("event", "SCAN", "scan"),
])
def test_the_fake_opens_an_allowance_for_what_the_platform_counts(api, fake_wechat, msg_type, event, kind) -> None:
    assert fake_wechat.record_push("o1", msg_type, event) == kind
    assert refused(api, "o1") is None


@pytest.mark.parametrize("kind", ["menu", "follow", "scan"])
def test_a_click_follow_or_scan_allows_three_in_one_minute(api, fake_wechat, clock, kind) -> None:
    fake_wechat.record_interaction("o1", kind)
    assert [refused(api, "o1") for _ in range(4)] == [None, None, None, 45047]
    fake_wechat.record_interaction("o2", kind)
    clock.advance(seconds=61)
    assert refused(api, "o2") == 45015


def test_a_menu_click_leaves_the_allowance_of_an_earlier_message(api, fake_wechat, clock) -> None:
    # Old fake: the click replaced the message's 48 hours with its own minute (then 45015).
    fake_wechat.record_interaction("o1", "message")
    clock.advance(hours=1)
    fake_wechat.record_interaction("o1", "menu")
    clock.advance(minutes=5)
    assert refused(api, "o1") is None


def test_a_new_message_renews_the_five(api, fake_wechat, clock) -> None:
    fake_wechat.record_interaction("o1")
    assert [refused(api, "o1") for _ in range(6)] == [None] * 5 + [45047]
    clock.advance(hours=1)
    fake_wechat.record_interaction("o1")
    assert refused(api, "o1") is None


# --- the bot: what it records --------------------------------------------------------------------

@pytest.fixture
def person(api_app, clock) -> Citizen:
    return Citizen(WeChatServer(api_app.test_client(), "test-token", "wxtest00000000001",
                                "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", mode="plain", clock=clock), "o_w")


@pytest.mark.parametrize("name, key, extra", [
    ("VIEW", "https://example.org/", ""),
    ("LOCATION", None, "<Latitude>30.1</Latitude><Longitude>120.2</Longitude><Precision>50</Precision>"),
    ("pic_sysphoto", "PHOTO", "<SendPicsInfo><Count>0</Count></SendPicsInfo>"),
    ("location_select", "LOC", "<SendLocationInfo><Location_X>30.1</Location_X><Location_Y>120.2</Location_Y>"
                               "<Scale>15</Scale><Label>x</Label></SendLocationInfo>"),
    ("subscribe_msg_popup_event", None, "<SubscribeMsgPopupEvent><List><TemplateId>T</TemplateId>"
                                        "<SubscribeStatusString>accept</SubscribeStatusString><PopupScene>0</PopupScene>"
                                        "</List></SubscribeMsgPopupEvent>"),
])
def test_pushes_that_open_nothing_leave_no_window(person, api_bot, name, key, extra) -> None:
    # Old code: every event but the job reports moved last_interaction_at (a 48-hour window).
    person.event(name, key, extra)
    row = citizen_row(api_bot, "o_w")
    assert row is None or (row.last_interaction_at, row.window_event_at) == (None, None)


@pytest.mark.parametrize("name, kind", [("CLICK", "menu"), ("scancode_push", "menu"), ("SCAN", "scan")])
def test_a_click_or_scan_is_recorded_with_its_kind_not_as_a_message(person, api_bot, clock, name, kind) -> None:
    person.event(name, "HELP")
    row = citizen_row(api_bot, "o_w")
    assert (row.last_interaction_at, row.window_event_at, row.window_event_kind) == (None, clock.now(), kind)


def test_a_message_in_the_minute_after_a_click_still_counts(person, api_bot, clock) -> None:
    # Old code: the click took the once-a-minute "seen" mark, and the message after it was not noted.
    person.event("CLICK", "HELP")
    clock.advance(seconds=10)
    person.says("你好")
    row = citizen_row(api_bot, "o_w")
    assert row.last_interaction_at == clock.now()
    assert row.window_event_at == clock.now() - dt.timedelta(seconds=10)


# --- the sender: never a send the allowance does not permit ------------------------------------------

def test_a_notice_after_a_menu_click_only_is_not_attempted_once_its_minute_is_over(person, api_bot, fake_wechat,
                                                                                   clock) -> None:
    person.event("CLICK", "HELP")
    fake_wechat.record_push("o_w", "event", "CLICK")
    clock.advance(minutes=2)
    delivery_id = notice(api_bot, clock, "n1", "o_w")
    Sender.from_bot(api_bot).drain()
    done = delivery(api_bot, delivery_id)
    assert done.status == DeliveryStatus.UNDELIVERABLE and "从未给公众号发过消息" in done.last_error
    assert fake_wechat.calls["message/custom/send"] == 0


def test_inside_the_click_minute_three_go_and_the_rest_are_not_attempted(person, api_bot, fake_wechat, clock) -> None:
    person.event("CLICK", "HELP")
    fake_wechat.record_push("o_w", "event", "CLICK")
    ids = [notice(api_bot, clock, f"n{n}", "o_w") for n in range(4)]
    Sender.from_bot(api_bot).drain()
    assert [delivery(api_bot, i).status for i in ids] == [DeliveryStatus.SENT] * 3 + [DeliveryStatus.UNDELIVERABLE]
    assert "条数已用完" in delivery(api_bot, ids[3]).last_error
    assert fake_wechat.calls["message/custom/send"] == 3


def test_sends_since_the_last_message_count_and_a_new_message_renews_them(person, api_bot, fake_wechat, clock) -> None:
    person.says("你好")
    fake_wechat.record_push("o_w", "text")
    sender = Sender.from_bot(api_bot)
    for n in range(5):
        notice(api_bot, clock, f"a{n}", "o_w")
        sender.drain()
        clock.advance(minutes=10)
    sixth = notice(api_bot, clock, "a5", "o_w")
    sender.drain()
    assert delivery(api_bot, sixth).status == DeliveryStatus.UNDELIVERABLE
    assert fake_wechat.calls["message/custom/send"] == 5
    clock.advance(minutes=2)
    api_bot.store.delete("seen:o_w")  # the once-a-minute mark, elapsed
    person.says("还在吗")
    fake_wechat.record_push("o_w", "text")
    seventh = notice(api_bot, clock, "a6", "o_w")
    sender.drain()
    assert delivery(api_bot, seventh).status == DeliveryStatus.SENT


def test_a_row_another_sender_holds_counts_against_the_allowance(person, api_bot, fake_wechat, clock) -> None:
    person.says("你好")
    fake_wechat.record_push("o_w", "text")
    held = [notice(api_bot, clock, f"h{n}", "o_w") for n in range(5)]
    other = Sender.from_bot(api_bot, owner="other")
    assert len(other.claim(5)) == 5  # claimed, not sent yet: in flight at WeChat, for all we know
    mine = notice(api_bot, clock, "mine", "o_w")
    [claimed] = Sender.from_bot(api_bot).claim(10)
    assert claimed.id == mine and not claimed.custom_allowed
    assert all(delivery(api_bot, i).status == DeliveryStatus.SENDING for i in held)


# --- the "active in 48 hours" audience -----------------------------------------------------------

def test_the_active_audience_is_who_wrote_and_still_has_room(api_bot, clock) -> None:
    now = clock.now()
    with api_bot.db.session() as s:
        s.add_all([
            CitizenRow(openid="wrote", first_seen_at=now, last_interaction_at=now - dt.timedelta(hours=1)),
            CitizenRow(openid="followed", first_seen_at=now, window_event_at=now, window_event_kind="follow"),
            CitizenRow(openid="used_up", first_seen_at=now, last_interaction_at=now - dt.timedelta(hours=2)),
            CitizenRow(openid="long_ago", first_seen_at=now, last_interaction_at=now - dt.timedelta(hours=49)),
        ])
        for n in range(5):
            s.add(Delivery(key=f"old{n}", openid="used_up", purpose="broadcast", payload=text_payload("x"),
                           status=DeliveryStatus.SENT, channel="custom", attempts=1, created_at=now,
                           not_before=now, sent_at=now - dt.timedelta(hours=1)))
        s.commit()
        assert broadcasts.active_openids(s, now) == ["wrote"]


def test_a_broadcast_outside_the_window_never_falls_back_to_a_template(database_url, fake_wechat, clock,
                                                                     store) -> None:
    from bot import create_app
    from tests.settings import make_config

    fake_wechat.account_type = "service"
    bot = create_app(make_config(database_url, wechat={"api_base_url": fake_wechat.base_url, "account_type": "service"},
                                 push=TEMPLATE), clock=clock, store=store).extensions["bot"]
    try:
        with bot.db.session() as s:
            s.add(CitizenRow(openid="o_b", first_seen_at=clock.now(),
                             last_interaction_at=clock.now() - dt.timedelta(days=3)))
            s.commit()
        fake_wechat.add_user("o_b")
        delivery_id = notice(bot, clock, "b1", "o_b", purpose="broadcast")
        Sender.from_bot(bot).drain()
        done = delivery(bot, delivery_id)
        assert done.status == DeliveryStatus.UNDELIVERABLE and "不能改用模板消息" in done.last_error
        assert fake_wechat.sent_to("o_b") == []
    finally:
        bot.close()
