"""The access token as the platform hands it out: stable_token, its limits, and what its refusals do.

Rules (fake and client) and their sources:
- [D] 获取稳定版接口调用凭据 getStableAccessToken (doc/service/api/base/api_getstableaccesstoken): POST JSON;
  normal mode returns the same token while valid, renewed 5 minutes early; force_refresh invalidates the
  previous token, 20 a day and 30 s apart; isolated from getAccessToken.
- [D] 获取接口调用凭据 getAccessToken (doc/service/api/base/api_getaccesstoken): a new token invalidates the
  previous one after 5 minutes; 40013 / 40125 / 40164 in its error table; [D] 通用错误码 45009.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from bot.background.sender import Sender
from bot.infra.store import MemoryStore
from bot.models import Citizen, Delivery, DeliveryStatus
from bot.services.outbox import enqueue, text_payload
from bot.wechat.api import TokenUnavailable, WeChatAPI, WeChatAPIError
from tests.console import ConsoleClient, add_staff, dashboard_panel
from tests.settings import APP_ID
from tests.settings import APP_SECRET as SECRET


@pytest.fixture
def config(api_config):
    return api_config


@pytest.fixture
def api(fake_wechat, store, clock) -> WeChatAPI:
    return WeChatAPI(APP_ID, SECRET, fake_wechat.base_url, store, timeout=2.0, sleep=lambda s: None, clock=clock)


def stable_token(fake, force: bool = False, secret: str = SECRET) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": APP_ID, "secret": secret, "force_refresh": force}
    _, raw = fake.handle("stable_token", {}, json.dumps(body).encode())
    return json.loads(raw)


def old_token(fake) -> dict[str, Any]:
    _, raw = fake.handle("token", {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}, b"")
    return json.loads(raw)


def works(fake, token: str) -> bool:
    _, raw = fake.handle("tags/get", {"access_token": token}, b"")
    return "errcode" not in json.loads(raw)


# --- the fake's rules ------------------------------------------------------------------------------

def test_stable_token_normal_mode_hands_back_the_same_token(fake_wechat, clock) -> None:
    first = stable_token(fake_wechat)
    clock.advance(minutes=30)
    again = stable_token(fake_wechat)
    assert again["access_token"] == first["access_token"] and works(fake_wechat, first["access_token"])
    assert again["expires_in"] == 7200 - 30 * 60  # what is left of it


def test_stable_token_is_renewed_five_minutes_before_it_expires(fake_wechat, clock) -> None:
    first = stable_token(fake_wechat)["access_token"]
    clock.advance(minutes=116)
    renewed = stable_token(fake_wechat)["access_token"]
    assert renewed != first and works(fake_wechat, first)  # the old one lives out its 2 hours
    clock.advance(minutes=4)
    assert not works(fake_wechat, first) and works(fake_wechat, renewed)


def test_force_refresh_replaces_the_token_within_its_limits(fake_wechat, clock) -> None:
    first = stable_token(fake_wechat)["access_token"]
    forced = stable_token(fake_wechat, force=True)["access_token"]
    assert forced != first and not works(fake_wechat, first) and works(fake_wechat, forced)
    assert stable_token(fake_wechat, force=True)["errcode"] == 45009  # 30 s apart
    for _ in range(19):
        clock.advance(seconds=31)
        assert "access_token" in stable_token(fake_wechat, force=True)
    clock.advance(seconds=31)
    assert stable_token(fake_wechat, force=True)["errcode"] == 45009  # 20 a day
    assert "access_token" in stable_token(fake_wechat)  # normal mode is not affected


def test_get_token_invalidates_the_previous_one_after_five_minutes(fake_wechat, clock) -> None:
    first = old_token(fake_wechat)["access_token"]
    old_token(fake_wechat)
    clock.advance(minutes=4, seconds=59)
    assert works(fake_wechat, first)
    clock.advance(seconds=1)
    assert not works(fake_wechat, first)


def test_the_two_kinds_of_token_do_not_touch_each_other(fake_wechat, clock) -> None:
    stable = stable_token(fake_wechat)["access_token"]
    old_token(fake_wechat)
    old_token(fake_wechat)
    clock.advance(minutes=10)
    assert works(fake_wechat, stable)


def test_the_ip_whitelist_names_the_caller(fake_wechat) -> None:
    fake_wechat.set_ip_whitelist({"10.1.2.3"})
    for answer in (stable_token(fake_wechat), old_token(fake_wechat)):
        assert answer["errcode"] == 40164
        assert answer["errmsg"].startswith("invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist")
    fake_wechat.set_ip_whitelist({"127.0.0.1"})
    assert "access_token" in stable_token(fake_wechat)


def test_wrong_secret_and_daily_quota(fake_wechat) -> None:
    assert stable_token(fake_wechat, secret="wrong")["errcode"] == 40125
    fake_wechat.token_quota["stable_token"] = 2
    stable_token(fake_wechat)
    stable_token(fake_wechat)
    assert stable_token(fake_wechat)["errcode"] == 45009


# --- the client ------------------------------------------------------------------------------------

def test_the_client_uses_stable_token(api, fake_wechat) -> None:
    api.access_token()
    assert fake_wechat.calls["stable_token"] == 1 and fake_wechat.calls["token"] == 0


def test_another_holder_of_the_secret_does_not_invalidate_our_token(api, fake_wechat, clock) -> None:
    """A staging copy (its own store) and the online debug tool (GET token) fetch too; ours keeps working."""
    ours = api.access_token()
    staging = WeChatAPI(APP_ID, SECRET, fake_wechat.base_url, MemoryStore(), clock=clock)
    staging.access_token()
    old_token(fake_wechat)
    clock.advance(minutes=6)
    fetches = fake_wechat.token_fetches
    fake_wechat.record_interaction("o1")
    api.send_custom("o1", {"type": "text", "content": "您好"})
    assert fake_wechat.token_fetches == fetches  # no 40001, no refetch
    assert api.access_token() == ours and len(fake_wechat.sent_to("o1")) == 1


def test_a_newer_token_elsewhere_is_taken_in_normal_mode(api, fake_wechat) -> None:
    """Someone force-refreshed: our 40001 is cured by a normal-mode fetch, no force_refresh of ours."""
    api.access_token()
    stable_token(fake_wechat, force=True)
    api.create_tag("城关镇")
    assert len(fake_wechat.force_refreshes) == 1  # only the other holder's


def test_force_refresh_only_when_the_refused_token_comes_back(api, fake_wechat, clock) -> None:
    refused = api.access_token()
    fake_wechat.refuse_token(refused)
    api.create_tag("城关镇")
    assert len(fake_wechat.force_refreshes) == 1 and api.access_token() != refused
    # Refused again at once: no second force_refresh within 30 s; the call fails with 40001 instead.
    fake_wechat.refuse_token(api.access_token())
    with pytest.raises(WeChatAPIError) as err:
        api.create_tag("乡镇二")
    assert err.value.errcode == 40001 and len(fake_wechat.force_refreshes) == 1
    clock.advance(seconds=31)
    api.create_tag("乡镇二")
    assert len(fake_wechat.force_refreshes) == 2


def test_a_token_refusal_pauses_every_client_sharing_the_store(api, fake_wechat, store, clock, caplog) -> None:
    fake_wechat.set_ip_whitelist({"10.1.2.3"})
    other = WeChatAPI(APP_ID, SECRET, fake_wechat.base_url, store, clock=clock)
    with caplog.at_level(logging.ERROR, logger="bot.wechat.api"):
        for client in (api, other, api, other):
            with pytest.raises(TokenUnavailable) as err:
                client.create_tag("城关镇")
            assert err.value.errcode == 40164
    assert fake_wechat.calls["stable_token"] == 1  # one token request, not one per call
    assert len([r for r in caplog.records if "token endpoint refused" in r.getMessage()]) == 1
    pause = other.token_pause()
    assert pause is not None and "IP 白名单" in pause.reason and "127.0.0.1" in pause.reason
    fake_wechat.set_ip_whitelist(None)
    clock.advance(minutes=5)
    assert other.token_pause() is None
    other.create_tag("城关镇")
    assert fake_wechat.calls["stable_token"] == 2


# --- the sender, the console and the CLI during a pause -----------------------------------------------

def queue_for_active_citizens(bot, fake, clock, count: int) -> list[int]:
    ids = []
    with bot.db.session() as s:
        for n in range(count):
            openid = f"o{n}"
            s.add(Citizen(openid=openid, first_seen_at=clock.now(), last_interaction_at=clock.now()))
            fake.record_interaction(openid)
            ids.append(enqueue(s, key=f"k{n}", purpose="test", payload=text_payload("您好"), now=clock.now(),
                               openid=openid).id)
        s.commit()
    return ids


def rows(bot) -> list[Delivery]:
    with bot.db.session() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


def test_token_refusal_leaves_rows_pending_and_pauses_every_sender(bot, fake_wechat, clock) -> None:
    fake_wechat.set_ip_whitelist({"10.1.2.3"})
    queue_for_active_citizens(bot, fake_wechat, clock, 5)
    Sender.from_bot(bot).drain()
    Sender.from_bot(bot, owner="second").drain()
    assert fake_wechat.calls["stable_token"] == 1
    assert {(r.status, r.attempts) for r in rows(bot)} <= {(DeliveryStatus.PENDING, 0)}
    assert any(r.last_errcode == 40164 for r in rows(bot))
    # The administrator adds the IP; after the pause the rows go out, each once.
    fake_wechat.set_ip_whitelist(None)
    clock.advance(minutes=5)
    Sender.from_bot(bot).drain()
    assert {(r.status, r.attempts) for r in rows(bot)} == {(DeliveryStatus.SENT, 1)}
    assert sum(fake_wechat.delivery_counts().values()) == 5


def test_a_wrong_secret_is_not_a_failed_delivery(bot, fake_wechat, clock) -> None:
    fake_wechat.app_secret = "the-secret-was-reset"
    queue_for_active_citizens(bot, fake_wechat, clock, 2)
    for _ in range(bot.config.push.max_attempts + 2):
        Sender.from_bot(bot).drain()
        clock.advance(minutes=6)
    assert {r.status for r in rows(bot)} == {DeliveryStatus.PENDING}
    assert fake_wechat.calls["stable_token"] == bot.config.push.max_attempts + 2  # one per pause, not per row


def test_the_pause_shows_on_the_dashboard_and_in_outbox_status(app, bot, fake_wechat, clock, capsys,
                                                                monkeypatch) -> None:
    from bot import cli
    from bot.cli import pushes as pushes_cli

    fake_wechat.set_ip_whitelist({"10.1.2.3"})
    queue_for_active_citizens(bot, fake_wechat, clock, 1)
    Sender.from_bot(bot).drain()
    add_staff(app, "boss", "admin")
    console = ConsoleClient(app.test_client())
    console.login("boss")
    html = console.get("/console/").get_data(as_text=True)
    panel = dashboard_panel(html, "wechat_api")
    assert "已暂停发送" in panel and "IP 白名单" in panel and "127.0.0.1" in panel
    assert "已暂停发送" in html and "IP 白名单" in html and "127.0.0.1" in html

    monkeypatch.setattr(pushes_cli, "_bot", lambda config: _Unclosed(bot))
    assert cli.main(["outbox", "status"]) == 0
    out = capsys.readouterr().out
    assert "待发送\tpending\t1" in out and "已暂停发送" in out and "IP 白名单" in out


class _Unclosed:
    """The test's bot for the CLI, which closes what it opens; the fixture closes it later."""

    def __init__(self, bot: Any) -> None:
        self._bot = bot

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)

    def close(self) -> None:
        pass
