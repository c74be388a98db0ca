"""Rules of the fake WeChat API that no other module tests on their own, each against the document
its comment in bot/wechat/fake.py cites: sendall refuses the legacy group_id (40050), custom/send unknown
msgtypes (40008), openids (40003) and who unfollowed (45015), stable_token
takes only a JSON POST (47001 / 40002), template and subscribe sends need a service account (48001)
and a template id (40037)."""

from __future__ import annotations

import json

import pytest
import requests

from bot.wechat.api import WeChatAPI, WeChatAPIError
from tests.settings import APP_ID, APP_SECRET


def post(fake, endpoint: str, body: bytes, token: str = "") -> dict:
    session = requests.Session()
    session.trust_env = False
    query = f"?access_token={token}" if token else ""
    return session.post(fake.base_url + endpoint + query, data=body, timeout=5).json()


def test_sendall_with_the_legacy_group_id_is_refused(fake_wechat, store) -> None:
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)
    fake_wechat.add_user("a")
    body = {"filter": {"is_to_all": False, "group_id": 2}, "msgtype": "text", "text": {"content": "今晚八点"}}
    answer = post(fake_wechat, "message/mass/sendall", json.dumps(body).encode(), api.access_token())
    assert answer["errcode"] == 40050 and fake_wechat.delivered() == []


@pytest.mark.parametrize("body, code", [
    (b"grant_type=client_credential&appid=x&secret=y", 47001),  # a form, not JSON
    (json.dumps({"grant_type": "password", "appid": APP_ID, "secret": APP_SECRET}).encode(), 40002),
])
def test_stable_token_takes_only_a_json_post_with_its_grant_type(fake_wechat, body: bytes, code: int) -> None:
    assert post(fake_wechat, "stable_token", body)["errcode"] == code


def test_template_and_subscribe_sends_need_a_service_account_and_a_template(fake_wechat, store) -> None:
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)
    fake_wechat.add_user("a")
    for send in (lambda: api.send_template("a", "TPL", {"thing1": {"value": "受理"}}),
                 lambda: api.send_subscribe("a", "SUB", {"thing1": {"value": "受理"}})):
        with pytest.raises(WeChatAPIError) as refused:
            send()
        assert refused.value.errcode == 48001  # a subscription account
    fake_wechat.account_type = "service"
    with pytest.raises(WeChatAPIError) as refused:
        api.send_template("a", "", {"thing1": {"value": "受理"}})
    assert refused.value.errcode == 40037
    assert fake_wechat.delivered() == []


def test_custom_send_refuses_unknown_types_and_openids_and_who_unfollowed(fake_wechat, store) -> None:
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)
    fake_wechat.record_interaction("a")
    token = api.access_token()
    assert post(fake_wechat, "message/custom/send", json.dumps(
        {"touser": "a", "msgtype": "hologram", "hologram": {}}).encode(), token)["errcode"] == 40008
    text = {"msgtype": "text", "text": {"content": "您的举报已受理"}}
    assert post(fake_wechat, "message/custom/send", json.dumps({"touser": "nobody", **text}).encode(), token)["errcode"] == 40003
    fake_wechat.unfollow("a")
    assert post(fake_wechat, "message/custom/send", json.dumps({"touser": "a", **text}).encode(), token)["errcode"] == 45015
    assert fake_wechat.delivered() == []
