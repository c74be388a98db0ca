"""The WeChat API client against the fake WeChat API: tokens, retries, the calls and their errors."""

from __future__ import annotations

import threading

import pytest

from bot.infra.store import MemoryStore
from bot.wechat.api import ANSWER_LOST, CONNECT_FAILED, WeChatAPI, WeChatAPIError
from bot.wechat.fake import FakeServer, FakeWeChat
from tests.settings import APP_ID, APP_SECRET


@pytest.fixture
def api(fake_wechat, store) -> WeChatAPI:
    return WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store, timeout=2.0, sleep=lambda s: None)


def test_custom_text_reaches_a_user_inside_the_window(api, fake_wechat) -> None:
    fake_wechat.record_interaction("o1")
    api.send_custom("o1", {"type": "text", "content": "您好"})
    [item] = fake_wechat.sent_to("o1")
    assert item.channel == "custom" and item.message["text"] == {"content": "您好"}
    assert fake_wechat.token_fetches == 1


def test_the_token_is_shared_through_the_store(fake_wechat, store) -> None:
    """Two clients (two processes) over one store fetch one token, even when they start together."""
    clients = [WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store) for _ in range(4)]
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda c=c: tokens.append(c.access_token())) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1
    assert fake_wechat.token_fetches == 1


def test_a_stale_token_is_refreshed_once_and_the_call_retried(api, fake_wechat, store) -> None:
    fake_wechat.record_interaction("o1")
    api.access_token()
    fake_wechat.invalidate_tokens()
    api.send_custom("o1", {"type": "text", "content": "x"})
    assert fake_wechat.token_fetches == 2
    assert len(fake_wechat.sent_to("o1")) == 1


def test_a_newer_token_from_another_process_is_not_cleared(api, fake_wechat, store) -> None:
    old = api.access_token()
    store.set(api.token_key, "NEWER-TOKEN-FROM-ELSEWHERE")
    # The failed token is cleared only if it is still the cached one.
    assert store.delete_if_equals(api.token_key, old) is False
    assert store.get(api.token_key) == "NEWER-TOKEN-FROM-ELSEWHERE"


def test_retry_is_bounded_when_the_token_stays_bad(fake_wechat, store) -> None:
    fake = fake_wechat
    api = WeChatAPI(APP_ID, APP_SECRET, fake.base_url, store, sleep=lambda s: None)
    original = fake._check_token

    def always_bad(token: str | None) -> None:
        raise __import__("bot.wechat.fake", fromlist=["WeChatError"]).WeChatError(40001, "invalid credential")

    fake._check_token = always_bad
    try:
        with pytest.raises(WeChatAPIError) as err:
            api.create_tag("城关镇")
    finally:
        fake._check_token = original
    assert err.value.errcode == 40001
    # The first fetch, one normal-mode refetch (it handed back the refused token), one force_refresh:
    # never a storm.
    assert fake.token_fetches == 3 and len(fake.force_refreshes) == 1


def test_expired_token_gets_42001_then_refresh(api, fake_wechat, clock) -> None:
    fake_wechat.record_interaction("o1")
    token = api.access_token()
    clock.advance(hours=3)
    fake_wechat.record_interaction("o1")
    # Our store TTL is real seconds, so the cached token is still there; WeChat says it expired.
    api.send_custom("o1", {"type": "text", "content": "x"})
    assert api.access_token() != token
    assert fake_wechat.token_fetches == 2


def test_the_48_hour_window_and_the_message_count(api, fake_wechat, clock) -> None:
    with pytest.raises(WeChatAPIError) as err:
        api.send_custom("nobody", {"type": "text", "content": "x"})
    assert err.value.errcode == 40003
    fake_wechat.record_interaction("o1")
    for _ in range(5):
        api.send_custom("o1", {"type": "text", "content": "x"})
    with pytest.raises(WeChatAPIError) as err:
        api.send_custom("o1", {"type": "text", "content": "x"})
    assert err.value.errcode == 45047
    fake_wechat.record_interaction("o2")
    clock.advance(hours=48)
    with pytest.raises(WeChatAPIError) as err:
        api.send_custom("o2", {"type": "text", "content": "x"})
    assert err.value.errcode == 45015


def test_a_menu_click_opens_a_short_window(api, fake_wechat, clock) -> None:
    fake_wechat.record_interaction("o1", kind="event")
    for _ in range(3):
        api.send_custom("o1", {"type": "text", "content": "x"})
    with pytest.raises(WeChatAPIError) as err:
        api.send_custom("o1", {"type": "text", "content": "x"})
    assert err.value.errcode == 45047


def test_mass_send_by_tag_uses_tag_id_and_the_daily_quota(api, fake_wechat, clock) -> None:
    for openid in ("a", "b", "c"):
        fake_wechat.add_user(openid)
    tag = api.create_tag("城关镇")
    api.tag_users(tag, ["a", "b"])
    result = api.mass_send({"tag_id": tag}, {"type": "text", "content": "今晚八点 警示教育片"}, "plan:1")
    job = fake_wechat.mass_jobs()[str(result["msg_id"])]
    assert job["filter_spec"] == {"is_to_all": False, "tag_id": tag}
    assert {d.openid for d in fake_wechat.delivered()} == {"a", "b"}
    # The same clientmsgid again is recognised, not sent twice: within a minute 45066, later 45065.
    with pytest.raises(WeChatAPIError) as err:
        api.mass_send({"tag_id": tag}, {"type": "text", "content": "x"}, "plan:1")
    assert err.value.errcode == 45066
    clock.advance(seconds=61)
    with pytest.raises(WeChatAPIError) as err:
        api.mass_send({"tag_id": tag}, {"type": "text", "content": "x"}, "plan:1")
    assert err.value.errcode == 45065
    with pytest.raises(WeChatAPIError) as err:
        api.mass_send({"all": True}, {"type": "text", "content": "x"}, "plan:2")
    assert err.value.errcode == 45028
    clock.advance(days=1)
    api.mass_send({"all": True}, {"type": "text", "content": "x"}, "plan:2")
    assert len(fake_wechat.sent_to("c")) == 1
    assert api.mass_status(result["msg_id"])["msg_status"] == "SEND_SUCCESS"


def test_service_account_quota_is_four_a_month_per_user(fake_wechat, store, clock) -> None:
    fake_wechat.account_type = "service"
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)
    fake_wechat.add_user("a")
    for n in range(4):
        api.mass_send({"all": True}, {"type": "text", "content": str(n)}, f"m{n}")
    with pytest.raises(WeChatAPIError) as err:
        api.mass_send({"all": True}, {"type": "text", "content": "5"}, "m5")
    assert err.value.errcode == 45028


def test_templates_subscribe_messages_and_preview(fake_wechat, store) -> None:
    fake_wechat.account_type = "service"
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)
    fake_wechat.add_user("a")
    api.send_template("a", "TPL", {"thing1": {"value": "受理"}}, url="https://example.org/r")
    with pytest.raises(WeChatAPIError) as err:
        api.send_subscribe("a", "SUB", {"thing1": {"value": "x"}})
    assert err.value.errcode == 43101
    fake_wechat.grant_subscribe("a", "SUB")
    api.send_subscribe("a", "SUB", {"thing1": {"value": "x"}})
    api.mass_preview("a", {"type": "text", "content": "案例预览"})
    assert [d.channel for d in fake_wechat.sent_to("a")] == ["template", "subscribe", "preview"]


def test_media_download_upload_and_expiry(api, fake_wechat, clock) -> None:
    media_id = fake_wechat.add_media(b"\xff\xd8photo")
    assert api.download_media(media_id) == b"\xff\xd8photo"
    uploaded = api.upload_media("image", "poster.jpg", b"\xff\xd8poster")
    assert api.download_media(uploaded) == b"\xff\xd8poster"
    clock.advance(days=3)
    with pytest.raises(WeChatAPIError) as err:
        api.download_media(media_id)
    assert err.value.errcode == 40007


def test_menu_and_tags(api, fake_wechat) -> None:
    api.create_menu({"button": [{"type": "click", "name": "帮助", "key": "HELP"}]})
    assert fake_wechat.menu["button"][0]["key"] == "HELP"
    tag = api.create_tag("北坡镇")
    assert api.list_tags() == {"北坡镇": tag}
    with pytest.raises(WeChatAPIError) as err:
        api.create_tag("北坡镇")
    assert err.value.errcode == 45157


def test_system_busy_is_retried_once(api, fake_wechat) -> None:
    fake_wechat.add_user("a")
    api.access_token()
    fake_wechat.error_rate = 1.0
    with pytest.raises(WeChatAPIError) as err:
        api.create_tag("x")
    assert err.value.errcode == -1
    assert fake_wechat.calls["tags/create"] == 2


def test_transport_failures_say_whether_the_request_may_have_arrived(clock) -> None:
    store = MemoryStore()
    store.set(f"wechat:token:{APP_ID}", "T")
    closed = WeChatAPI(APP_ID, "s", "http://127.0.0.1:9/cgi-bin/", store, timeout=0.5)
    with pytest.raises(WeChatAPIError) as err:
        closed.send_custom("o1", {"type": "text", "content": "x"})
    assert err.value.errcode == CONNECT_FAILED

    slow = FakeWeChat(APP_ID, "s", clock=clock, latency=1.0)
    server = FakeServer(slow).start()
    try:
        api = WeChatAPI(APP_ID, "s", server.base_url, store, timeout=0.2)
        with pytest.raises(WeChatAPIError) as err:
            api.send_custom("o1", {"type": "text", "content": "x"})
        assert err.value.errcode == ANSWER_LOST
    finally:
        server.stop()


def test_the_app_has_an_api_client(api_bot, fake_wechat) -> None:
    fake_wechat.record_interaction("o9")
    api_bot.extensions["api"].send_custom("o9", {"type": "text", "content": "hi"})
    assert len(fake_wechat.sent_to("o9")) == 1
