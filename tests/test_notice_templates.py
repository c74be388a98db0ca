"""Template messages for service notices outside the window (bot/services/notice_templates.py):
keywords from config per purpose, values cut to each type's limit, no first/remark/colours,
client_msg_id so a lost answer is retried rather than left uncertain; the fake's rules for them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import create_app
from bot.background.sender import Sender
from bot.config import ConfigError
from bot.models import Citizen as CitizenRow
from bot.models import Delivery, DeliveryStatus
from bot.services.notice_templates import fit
from bot.services.outbox import enqueue, notice_payload
from bot.wechat.api import ANSWER_LOST, WeChatAPI, WeChatAPIError
from tests.settings import make_config

KEYS = "ticket=character_string1 status=phrase2 note=thing3 time=time4"


@pytest.fixture
def service_bot(database_url, fake_wechat, clock, store):
    fake_wechat.account_type = "service"
    config = make_config(database_url, wechat={"api_base_url": fake_wechat.base_url, "account_type": "service"},
                         push={"report_status_template": "TPL_REPORT", "report_status_template_keys": KEYS})
    bot = create_app(config, clock=clock, store=store).extensions["bot"]
    yield bot
    bot.close()


def quiet_citizen(bot, fake, clock, openid: str = "o_t") -> None:
    """Wrote three days ago: outside the window."""
    with bot.db.session() as s:
        s.add(CitizenRow(openid=openid, first_seen_at=clock.now(), last_interaction_at=clock.now() - dt.timedelta(days=3)))
        s.commit()
    fake.add_user(openid)


def status_notice(bot, clock, key: str = "report:YH20210601-7KQ2MX:status:1", openid: str = "o_t") -> int:
    payload = notice_payload("【举报进度】您的举报 YH20210601-7KQ2MX 状态更新为：情况不属实。说明：经现场核查，楼道已清理干净，"
                             "未发现电动车充电", ticket="YH20210601-7KQ2MX", status="情况不属实",
                             note="经现场核查，楼道已清理干净，未发现电动车充电", time="2021年6月4日 10:00")
    with bot.db.session() as s:
        row = enqueue(s, key=key, purpose="report_status", openid=openid, payload=payload, now=clock.now())
        s.commit()
        return row.id


def delivery(bot, delivery_id: int) -> Delivery:
    with bot.db.session() as s:
        return s.get(Delivery, delivery_id)


# --- config -----------------------------------------------------------------------------------

@pytest.mark.parametrize("push, complaint", [
    ({"report_status_template": "T"}, "report_status_template_keys is empty"),
    ({"report_status_template_keys": KEYS}, "the template id) is empty"),
    ({"report_status_template": "T", "report_status_template_keys": "ticket=keyword1"}, "'keyword1' is not a template keyword"),
    ({"report_status_template": "T", "report_status_template_keys": "prize=thing1"}, "unknown field 'prize'"),
    ({"quiz_prize_subscribe": "T", "quiz_prize_subscribe_keys": "prize thing1"}, "is not field=keyword"),
    ({"template_id": "TPL"}, "[push] template_id is retired"),
])
def test_a_missing_or_malformed_template_is_a_clear_config_error(database_url, push, complaint) -> None:
    with pytest.raises(ConfigError) as err:
        make_config(database_url, push=push)
    assert complaint in str(err.value)


# --- values -----------------------------------------------------------------------------------

@pytest.mark.parametrize("keyword, value, expected", [
    ("thing3", "经现场核查，楼道已清理干净，未发现电动车充电的情况", "经现场核查，楼道已清理干净，未发现电动…"),
    ("phrase2", "情况不属实 (已核查)", "情况不属实"),
    ("phrase2", "已受理", "已受理"),
    ("character_string1", "YH20210601-7KQ2MX 编号", "YH20210601-7KQ2MX"),
    ("number5", "共 300 元", "300"),
    ("phone_number6", "电话 0371-12345678-9999-88", "0371-12345678-999"),
    ("thing7", "第一行\n第二行", "第一行 第二行"),
])
def test_values_are_cut_to_their_types_limits(keyword, value, expected) -> None:
    assert fit(keyword, value) == expected


# --- the send -----------------------------------------------------------------------------------

def test_outside_the_window_the_purposes_template_goes_with_its_own_keys(service_bot, fake_wechat, clock) -> None:
    # Old code: one template for every purpose, keys thing1/thing2/time3 whatever the template has.
    quiet_citizen(service_bot, fake_wechat, clock)
    delivery_id = status_notice(service_bot, clock)
    Sender.from_bot(service_bot).drain()
    done = delivery(service_bot, delivery_id)
    assert (done.status, done.channel) == (DeliveryStatus.SENT, "template")
    [sent] = fake_wechat.sent_to("o_t")
    body = sent.message
    assert body["template_id"] == "TPL_REPORT"
    assert body["data"] == {"character_string1": {"value": "YH20210601-7KQ2MX"}, "phrase2": {"value": "情况不属实"},
                            "thing3": {"value": "经现场核查，楼道已清理干净，未发现电动…"},
                            "time4": {"value": "2021年6月4日 10:00"}}
    assert "first" not in body["data"] and "remark" not in body["data"] and "color" not in str(body)
    assert len(body["client_msg_id"]) == 32
    assert fake_wechat.template_as_shown(body)["thing3"] == body["data"]["thing3"]["value"]  # nothing cut by WeChat


def test_a_broadcast_or_an_unconfigured_purpose_never_goes_as_a_template(service_bot, fake_wechat, clock) -> None:
    quiet_citizen(service_bot, fake_wechat, clock)
    with service_bot.db.session() as s:
        prize = enqueue(s, key="quiz-prize:1:o_t", purpose="quiz_prize", openid="o_t", now=clock.now(),
                        payload=notice_payload("您中奖了", prize="安全应急包"))
        s.commit()
    Sender.from_bot(service_bot).drain()
    assert delivery(service_bot, prize.id).status == DeliveryStatus.UNDELIVERABLE  # no quiz_prize template configured
    assert fake_wechat.sent_to("o_t") == []


def test_the_fake_sends_one_message_per_openid_and_client_msg_id_within_ten_minutes(fake_wechat, store, clock) -> None:
    # Old fake: every call delivered.
    fake_wechat.account_type = "service"
    fake_wechat.add_user("o1")
    api = WeChatAPI("wxtest00000000001", "test-app-secret", fake_wechat.base_url, store, sleep=lambda s: None)
    data = {"thing1": {"value": "x"}}
    first = api.send_template("o1", "T", data, client_msg_id="abc")
    again = api.send_template("o1", "T", data, client_msg_id="abc")
    assert first["msgid"] == again["msgid"] and len(fake_wechat.sent_to("o1")) == 1
    fake_wechat.add_user("o2")
    api.send_template("o2", "T", data, client_msg_id="abc")  # another openid: its own message
    clock.advance(minutes=10)
    api.send_template("o1", "T", data, client_msg_id="abc")  # past the 10 minutes
    assert len(fake_wechat.sent_to("o1")) == 2 and len(fake_wechat.sent_to("o2")) == 1


def test_a_template_whose_answer_was_lost_is_retried_and_arrives_once(service_bot, fake_wechat, clock) -> None:
    # Old code: a lost answer made the row uncertain (never resent).
    quiet_citizen(service_bot, fake_wechat, clock)
    delivery_id = status_notice(service_bot, clock)
    sender = Sender.from_bot(service_bot)
    real = sender.api.send_template
    lost = []

    def arrives_but_answer_lost(*args, **kwargs):
        result = real(*args, **kwargs)
        if not lost:
            lost.append(result)
            raise WeChatAPIError(ANSWER_LOST, "no answer: ReadTimeout")
        return result

    sender.api.send_template = arrives_but_answer_lost  # type: ignore[method-assign]
    sender.drain()
    first = delivery(service_bot, delivery_id)
    assert first.status == DeliveryStatus.PENDING and first.last_errcode == ANSWER_LOST
    clock.advance(seconds=15)
    sender.drain()
    done = delivery(service_bot, delivery_id)
    assert (done.status, done.channel, done.attempts) == (DeliveryStatus.SENT, "template", 2)
    assert len(fake_wechat.sent_to("o_t")) == 1  # the retry carried the same client_msg_id


def test_a_template_row_of_a_dead_sender_is_retried_within_ten_minutes_else_uncertain(service_bot, fake_wechat,
                                                                                      clock) -> None:
    quiet_citizen(service_bot, fake_wechat, clock)
    soon, late = status_notice(service_bot, clock, "report:A:status:1"), status_notice(service_bot, clock, "report:B:status:2")
    dead = Sender.from_bot(service_bot, owner="dead")
    [a, b] = dead.claim(10)  # the dead sender took them and may have called WeChat
    assert a.template_since == clock.now() and b.template_since == clock.now()
    with service_bot.db.session() as s:  # B was first tried 9 minutes earlier (an earlier attempt)
        row = s.get(Delivery, late)
        row.result = {"template_since": (clock.now() - dt.timedelta(minutes=9)).isoformat()}
        s.commit()
    clock.advance(seconds=61)
    Sender.from_bot(service_bot).recover_expired()
    assert delivery(service_bot, soon).status == DeliveryStatus.PENDING
    assert delivery(service_bot, late).status == DeliveryStatus.UNCERTAIN


# --- the fake's 订阅通知 rules ---------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    {"thing1": {"value": "一二三四五六七八九十一二三四五六七八九十一"}},  # 21 characters
    {"phrase2": {"value": "已受理OK"}},
    {"character_string3": {"value": "编号YH1"}},
    {"keyword1": {"value": "旧式关键词"}},
    {},
])
def test_the_fake_refuses_subscribe_values_their_type_does_not_allow(fake_wechat, store, data) -> None:
    # Old fake: any data was sent.
    fake_wechat.account_type = "service"
    fake_wechat.add_user("o1")
    fake_wechat.grant_subscribe("o1", "S")
    api = WeChatAPI("wxtest00000000001", "test-app-secret", fake_wechat.base_url, store, sleep=lambda s: None)
    with pytest.raises(WeChatAPIError) as err:
        api.send_subscribe("o1", "S", data)
    assert err.value.errcode == 47003
    api.send_subscribe("o1", "S", {"thing1": {"value": "一二三四五六七八九十一二三四五六七八九十"}, "phrase2": {"value": "已受理"}})
    assert len(fake_wechat.sent_to("o1")) == 1

