"""The simulator's server side: messages go through the real webhook, signed and (optionally) encrypted."""

from __future__ import annotations

import re

import pytest

from bot import create_app
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import WeChatServer


def send(app, **message):
    return app.test_client().post("/simulator/api/send", json={"openid": "o_sim_zhangsan", **message})


def test_page_renders_citizens_and_places(app) -> None:
    html = app.test_client().get("/simulator/").get_data(as_text=True)
    assert "张三" in html and "城关镇" in html and "安全模式" in html


def test_text_goes_through_the_webhook_in_both_modes(app) -> None:
    for aes in (False, True):
        data = send(app, type="text", text="帮助", aes=aes).get_json()
        assert data["status"] == 200
        assert data["reply"]["type"] == "text" and "答题 — 参加安全知识有奖竞猜" in data["reply"]["content"]
        assert ("<Encrypt>" in data["request_body"]) is aes
        assert ("<Encrypt>" in data["reply_body"]) is aes
        assert "<Content><![CDATA[帮助]]></Content>" in data["request_xml"]


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_a_message_signed_by_the_simulator_or_by_the_test_client_is_accepted_alike(app, mode) -> None:
    """Both sign (and encrypt) with bot/wechat/signing.py: the message the simulator built, pushed again
    by the tests' WeChat client as a new message (its own MsgId), is accepted and answered the same."""
    simulated = send(app, type="text", text="帮助", aes=mode == "aes").get_json()
    assert simulated["status"] == 200 and ("<Encrypt>" in simulated["request_body"]) is (mode == "aes")
    xml = re.sub(r"<MsgId>\d+</MsgId>", "<MsgId>1</MsgId>", simulated["request_xml"])
    server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=app.extensions["bot"].clock)
    reply = server.push(xml, openid="o_sim_zhangsan")
    assert reply.status == 200 and reply.text == simulated["reply"]["content"]
    assert (reply.fields["ToUserName"], reply.fields["FromUserName"]) == ("o_sim_zhangsan", "gh_simulator")


def test_follow_event_location_and_voice(app) -> None:
    welcome = send(app, type="event", event="subscribe", key="").get_json()
    assert "安全生产月" in welcome["reply"]["content"]
    located = send(app, type="location", latitude="36.19", longitude="113.11", label="城关镇").get_json()
    assert located["status"] == 200 and "<Location_X>36.19</Location_X>" in located["request_xml"]
    voiced = send(app, type="voice", text="帮助").get_json()
    assert "<Recognition><![CDATA[帮助]]></Recognition>" in voiced["request_xml"]


def test_bad_requests_are_400(app) -> None:
    assert send(app, type="teleport").status_code == 400
    assert send(app, type="location", latitude="north").status_code == 400
    assert app.test_client().post("/simulator/api/send", json={"openid": "o_stranger", "type": "text"}).status_code == 400


def test_simulator_is_404_in_production(config, clock) -> None:
    prod = config.replace(server={"mode": "production", "secret_key": "aDMNP9HXHyE3r7Uj-HXOQxCZrNJKhqxh2mZscKl5GrA"},
                          wechat={"app_secret": "real", "token": "realtoken", "encoding_aes_key": "Z" * 43},
                          security={"identity_key": "2b404ca73e7cd48243d2fb47ba74487757fb68b78618a3e17f3b0d79dc0470e7"})
    app = create_app(prod, clock=clock)
    assert app.test_client().get("/simulator/").status_code == 404
    assert app.test_client().post("/simulator/api/send", json={}).status_code == 404
    app.extensions["bot"].close()


def test_photo_upload_becomes_wechat_media_and_pushes_show_in_the_chat(app) -> None:
    import io

    from bot.wechat.fake import FakeWeChat, mount

    bot = app.extensions["bot"]
    fake = FakeWeChat(bot.config.wechat.app_id, "secret", clock=bot.clock)
    mount(app, fake)
    client = app.test_client()
    uploaded = client.post("/simulator/api/upload", data={"photo": (io.BytesIO(b"\xff\xd8jpeg"), "p.jpg", "image/jpeg")},
                           content_type="multipart/form-data").get_json()
    assert client.get(f"/simulator/media/{uploaded['media_id']}").data == b"\xff\xd8jpeg"
    sent = send(app, type="image", media_id=uploaded["media_id"], pic_url=uploaded["pic_url"]).get_json()
    assert f"<MediaId><![CDATA[{uploaded['media_id']}]]></MediaId>" in sent["request_xml"]
    # The simulator told the fake that this citizen wrote, so a customer-service message may reach them.
    fake.custom_send({"touser": "o_sim_zhangsan", "msgtype": "text", "text": {"content": "您的举报已受理"}})
    feed = client.get("/simulator/api/pushes?openid=o_sim_zhangsan&after=0").get_json()["pushes"]
    assert [p["reply"] for p in feed] == [{"type": "text", "content": "您的举报已受理"}]
    assert client.get("/simulator/api/pushes?openid=o_sim_zhangsan&after=1").get_json()["pushes"] == []


def test_push_feed_needs_the_fake_api(app) -> None:
    assert app.test_client().get("/simulator/api/pushes?openid=o_sim_zhangsan").status_code == 404


def test_accept_subscribe_records_the_consent_through_the_webhook(database_url, clock, store) -> None:
    from sqlalchemy import select

    from bot.models import SubscribeConsent
    from bot.wechat.fake import FakeWeChat, mount
    from tests.settings import make_config

    config = make_config(database_url, wechat={"account_type": "service"},
                         push={"report_status_subscribe": "SUB_REPORT", "report_status_subscribe_keys": "status=phrase1"})
    service = create_app(config, clock=clock, store=store)
    try:
        bot = service.extensions["bot"]
        fake = FakeWeChat(bot.config.wechat.app_id, "secret", clock=bot.clock, account_type="service")
        mount(service, fake)
        answer = service.test_client().post("/simulator/api/subscribe", json={"openid": "o_sim_zhangsan"})
        assert answer.status_code == 200 and answer.get_json()["templates"] == ["SUB_REPORT"]
        assert "<Event><![CDATA[subscribe_msg_popup_event]]></Event>" in answer.get_json()["request_xml"]
        with bot.db.session() as s:
            [consent] = s.scalars(select(SubscribeConsent)).all()
        assert (consent.template_id, consent.status, consent.sends_left) == ("SUB_REPORT", "accept", 1)
    finally:
        service.extensions["bot"].close()


def test_accept_subscribe_without_a_subscribe_template_says_so_in_chinese(app) -> None:
    from bot.wechat.fake import FakeWeChat, mount

    mount(app, FakeWeChat(app.extensions["bot"].config.wechat.app_id, "secret"))
    answer = app.test_client().post("/simulator/api/subscribe", json={"openid": "o_sim_zhangsan"})
    assert answer.status_code == 400 and "没有配置订阅通知" in answer.get_json()["error"]
