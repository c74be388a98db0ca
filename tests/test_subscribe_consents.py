"""订阅通知 consents (bot/services/subscribe_consents.py): recorded from the subscribe-message events
WeChat pushes to the webhook (every item of their nested `List`), kept under a keyed hash of the
openid; a notice without consent is not sent and says why; one-time consents are used up; 43101
withdraws the consent; the fake refuses bizsend without consent and pushes the events."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import inspect, select

from bot import create_app
from bot.background.sender import Sender
from bot.models import Citizen as CitizenRow
from bot.models import ConsentStatus, Delivery, DeliveryStatus, SubscribeConsent
from bot.services import notices, subscribe_consents
from bot.services.outbox import enqueue, notice_payload
from bot.wechat.api import WeChatAPI, WeChatAPIError
from bot.wechat.fake import FakeWeChat
from tests.settings import AES_KEY, APP_ID, APP_SECRET, TOKEN, make_config
from tests.wechat import WeChatServer

SUB = "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc"  # the docs' example template ids
OTHER = "9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI"
KEYS = "ticket=character_string1 status=phrase2 note=thing3 time=time4"
OPENID = "otFpruAK8D-E6EfStSYonYSBZ8_4"
BIZSEND = "message/subscribe/bizsend"


@dataclasses.dataclass
class Service:
    bot: object
    fake: FakeWeChat
    wechat: WeChatServer
    clock: object

    def notice(self, key: str, openid: str = OPENID) -> int:
        payload = notice_payload("【举报进度】您的举报 YH20210601-7KQ2MX 状态更新为：已受理。", ticket="YH20210601-7KQ2MX",
                                 status="已受理", note="我们会尽快核查", time="2021年6月1日 10:00")
        with self.bot.db.session() as s:
            row = enqueue(s, key=key, purpose="report_status", openid=openid, payload=payload, now=self.clock.now())
            s.commit()
            return row.id

    def send(self) -> None:
        Sender.from_bot(self.bot).drain()

    def delivery(self, delivery_id: int) -> Delivery:
        with self.bot.db.session() as s:
            return s.get(Delivery, delivery_id)

    def consents(self) -> dict[str, SubscribeConsent]:
        with self.bot.db.session() as s:
            return {row.template_id: row for row in s.scalars(select(SubscribeConsent))}


def make_service(database_url, fake_wechat, clock, store, **push) -> Service:
    fake_wechat.account_type = "service"
    config = make_config(database_url, wechat={"api_base_url": fake_wechat.base_url, "account_type": "service"},
                         push={"report_status_subscribe": SUB, "report_status_subscribe_keys": KEYS, **push})
    app = create_app(config, clock=clock, store=store)
    app.testing = True
    wechat = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)
    fake_wechat.event_sink = lambda xml: wechat.push(xml)  # WeChat pushes its events to the webhook
    bot = app.extensions["bot"]
    with bot.db.session() as s:  # wrote three days ago: outside the 48-hour window
        s.add(CitizenRow(openid=OPENID, first_seen_at=clock.now(), last_interaction_at=clock.now() - dt.timedelta(days=3)))
        s.commit()
    fake_wechat.add_user(OPENID)
    return Service(bot, fake_wechat, wechat, clock)


@pytest.fixture
def service(database_url, fake_wechat, clock, store):
    made = make_service(database_url, fake_wechat, clock, store)
    yield made
    made.bot.close()


# --- recording consent from the events ---------------------------------------------------------

def test_a_popup_records_every_template_in_its_list(service: Service) -> None:
    # Old code: the popup event was ignored, nothing was recorded (and a reader of only the first
    # List item would miss the second template).
    service.fake.subscribe_popup(OPENID, {OTHER: "reject", SUB: "accept"})
    found = service.consents()
    assert (found[SUB].status, found[SUB].sends_left) == (ConsentStatus.ACCEPT, 1)
    assert (found[OTHER].status, found[OTHER].sends_left) == (ConsentStatus.REJECT, 0)


def test_a_popup_with_one_template_is_recorded_too(service: Service) -> None:
    # One <List> parses as a mapping, several as a list: both shapes count.
    reply = service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    assert reply.count("<List>") == 1
    assert service.consents()[SUB].sends_left == 1


def test_each_accept_in_a_popup_allows_one_more_send(service: Service) -> None:
    first = service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    service.wechat.push(first)  # WeChat's retry of the same push counts once
    service.clock.advance(seconds=5)
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    assert service.consents()[SUB].sends_left == 2


def test_consent_is_kept_under_a_keyed_hash_not_the_openid(service: Service) -> None:
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    row = service.consents()[SUB]
    assert row.citizen == service.bot.vault.keyed_tag(subscribe_consents.CONSENT_TAG, OPENID)
    assert OPENID not in row.citizen
    columns = {c["name"] for c in inspect(service.bot.db.engine).get_columns("subscribe_consents")}
    assert "openid" not in columns


def test_the_subscribe_events_open_no_window(service: Service) -> None:
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    service.fake.subscribe_settings_reject(OPENID, [SUB])
    service.fake.subscribe_sent_event(OPENID, SUB, "1700827132819554304")
    with service.bot.db.session() as s:
        row = s.scalar(select(CitizenRow).where(CitizenRow.openid == OPENID))
    assert row.last_interaction_at == service.clock.now() - dt.timedelta(days=3)
    assert row.window_event_at is None


# --- sending -----------------------------------------------------------------------------------

def test_without_consent_a_notice_is_not_sent_and_says_why(service: Service) -> None:
    # Old code: a configured 订阅通知 was never tried, and the notice said no template or subscribe
    # message was configured.
    notice = service.notice("report:n1")
    service.send()
    row = service.delivery(notice)
    assert row.status == DeliveryStatus.UNDELIVERABLE
    assert subscribe_consents.NO_CONSENT in row.last_error
    assert notices.state(row) == "无法送达" and subscribe_consents.NO_CONSENT in notices.reason(row)
    assert service.fake.calls[BIZSEND] == 0


def test_before_sending_the_console_foresees_a_notice_without_consent(service: Service) -> None:
    # Old forecast: a configured 订阅通知 counted as a way through, consent or not.
    notice = service.notice("report:n1")
    with service.bot.db.session() as s:
        doomed = notices.forecast(s, service.bot.config, s.get(Delivery, notice), service.clock.now())
    assert subscribe_consents.NO_CONSENT in doomed and "48 小时" in doomed
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    with service.bot.db.session() as s:
        assert notices.forecast(s, service.bot.config, s.get(Delivery, notice), service.clock.now()) is None


def test_an_accepted_popup_lets_one_notice_through_and_is_used_up(service: Service) -> None:
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    rows = [service.notice("report:n1"), service.notice("report:n2")]
    service.send()  # both in one batch, side by side: one of them gets the consent
    sent, refused = sorted((service.delivery(n) for n in rows), key=lambda d: d.status != DeliveryStatus.SENT)
    assert (sent.status, sent.channel) == (DeliveryStatus.SENT, "subscribe")
    assert sent.wechat_msg_id  # bizsend's msgid, named again by subscribe_msg_sent_event
    assert refused.status == DeliveryStatus.UNDELIVERABLE and subscribe_consents.NO_CONSENT in refused.last_error
    [message] = [d.message for d in service.fake.delivered() if d.channel == "subscribe"]
    assert message["template_id"] == SUB
    assert message["data"]["phrase2"] == {"value": "已受理"}
    assert service.fake.calls[BIZSEND] == 1  # the second notice was not attempted
    assert service.consents()[SUB].sends_left == 0


def test_43101_withdraws_the_consent_and_the_notice_says_why(service: Service) -> None:
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    sink, service.fake.event_sink = service.fake.event_sink, None
    service.fake.subscribe_settings_reject(OPENID, [SUB])  # its event never reached the webhook
    service.fake.event_sink = sink
    first = service.notice("report:n1")
    service.send()
    row = service.delivery(first)
    assert (row.status, row.last_errcode) == (DeliveryStatus.UNDELIVERABLE, 43101)
    assert subscribe_consents.REFUSED in row.last_error and "43101" in notices.reason(row)
    assert service.consents()[SUB].status == ConsentStatus.REFUSED
    second = service.notice("report:n2")
    service.send()
    assert service.delivery(second).status == DeliveryStatus.UNDELIVERABLE
    assert service.fake.calls[BIZSEND] == 1  # after the 43101, nothing more is attempted


def test_a_reject_in_the_settings_withdraws_the_consent(service: Service) -> None:
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    service.fake.subscribe_settings_reject(OPENID, [SUB])
    assert service.consents()[SUB].status == ConsentStatus.REJECT
    notice = service.notice("report:n1")
    service.send()
    assert service.delivery(notice).status == DeliveryStatus.UNDELIVERABLE
    assert service.fake.calls[BIZSEND] == 0


def test_a_failure_wechat_reports_later_makes_the_notice_undeliverable(service: Service) -> None:
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    notice = service.notice("report:n1")
    service.send()
    msg_id = service.delivery(notice).wechat_msg_id
    service.fake.subscribe_sent_event(OPENID, SUB, msg_id, error_code=43101, error_status="failed:user block")
    row = service.delivery(notice)
    assert row.status == DeliveryStatus.UNDELIVERABLE
    assert "failed:user block" in notices.reason(row) and "43101" in notices.reason(row)
    assert service.consents()[SUB].status == ConsentStatus.REFUSED


def test_a_busy_wechat_leaves_the_one_time_consent_for_the_retry(service: Service) -> None:
    service.fake.subscribe_popup(OPENID, {SUB: "accept"})
    service.fake.fail_next(BIZSEND, -1, times=2)  # the client's own retry of a busy answer is busy too
    notice = service.notice("report:n1")
    service.send()
    assert service.delivery(notice).status == DeliveryStatus.PENDING
    assert service.consents()[SUB].sends_left == 1
    service.clock.advance(seconds=30)
    service.send()
    assert service.delivery(notice).status == DeliveryStatus.SENT


def test_a_long_term_consent_allows_every_notice(database_url, fake_wechat, clock, store) -> None:
    made = make_service(database_url, fake_wechat, clock, store, report_status_subscribe_long_term=True)
    try:
        fake_wechat.long_term_templates.add(SUB)
        fake_wechat.subscribe_popup(OPENID, {SUB: "accept"})
        sent = [made.notice(f"report:n{n}") for n in range(3)]
        made.send()
        assert [made.delivery(n).status for n in sent] == [DeliveryStatus.SENT] * 3
        fake_wechat.subscribe_settings_reject(OPENID, [SUB])
        later = made.notice("report:n9")
        made.send()
        assert made.delivery(later).status == DeliveryStatus.UNDELIVERABLE
        assert fake_wechat.calls[BIZSEND] == 3
    finally:
        made.bot.close()


# --- the fake ----------------------------------------------------------------------------------

def test_the_fake_refuses_bizsend_without_consent_and_counts_one_time_ones(fake_wechat, store) -> None:
    fake_wechat.account_type = "service"
    fake_wechat.add_user(OPENID)
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store, sleep=lambda s: None)
    data = {"thing3": {"value": "已受理"}}
    with pytest.raises(WeChatAPIError) as refused:
        api.send_subscribe(OPENID, SUB, data)
    assert refused.value.errcode == 43101
    fake_wechat.subscribe_popup(OPENID, {SUB: "accept", OTHER: "reject"})
    assert api.send_subscribe(OPENID, SUB, data)["msgid"]
    for template_id in (SUB, OTHER):  # the consent is used up; a reject allows nothing
        with pytest.raises(WeChatAPIError) as refused:
            api.send_subscribe(OPENID, template_id, data)
        assert refused.value.errcode == 43101


def test_the_fake_pushes_the_events_as_the_docs_show_them(fake_wechat) -> None:
    from bot.wechat.inbound import parse_inbound, subscribe_items

    pushed: list[str] = []
    fake_wechat.event_sink = pushed.append
    fake_wechat.subscribe_popup(OPENID, {SUB: "accept", OTHER: "reject"})
    fake_wechat.subscribe_settings_reject(OPENID, [SUB])
    fake_wechat.subscribe_sent_event(OPENID, SUB, "1700827132819554304")
    popup, change, sent = (parse_inbound(xml) for xml in pushed)
    assert [(i["TemplateId"], i["SubscribeStatusString"], i["PopupScene"]) for i in subscribe_items(popup)] == [
        (SUB, "accept", "2"), (OTHER, "reject", "2")]
    assert [(i["TemplateId"], i["SubscribeStatusString"]) for i in subscribe_items(change)] == [(SUB, "reject")]
    assert [(i["MsgID"], i["ErrorCode"], i["ErrorStatus"]) for i in subscribe_items(sent)] == [
        ("1700827132819554304", "0", "success")]


def test_the_docs_sample_popup_is_read_item_by_item() -> None:
    from bot.wechat.inbound import parse_inbound, subscribe_items

    # The XML example of "订阅通知的事件推送" (doc/service/guide/product/subscription_messages/push).
    msg = parse_inbound(
        "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]>"
        "</FromUserName><CreateTime>1610969440</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent><List>"
        "<TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List><List>"
        "<TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
        "</SubscribeMsgPopupEvent></xml>")
    assert subscribe_consents.choices(subscribe_items(msg)) == [
        subscribe_consents.Choice(SUB, "accept"), subscribe_consents.Choice(OTHER, "reject")]
