"""What staff read about a token pause (the dashboard's 微信接口状态): what happened and whom to ask,
in Chinese, never a setting's name; the operator's log names the setting to check."""

from __future__ import annotations

import logging

import pytest

from bot.background.sender import Sender
from bot.models import Citizen
from bot.services.outbox import enqueue, text_payload
from tests.console import ConsoleClient, add_staff, dashboard_panel


@pytest.fixture
def config(api_config):
    return api_config


def test_a_wrong_app_secret_tells_staff_whom_to_ask_and_the_log_names_the_setting(app, bot, fake_wechat, clock,
                                                                                  caplog) -> None:
    fake_wechat.app_secret = "reset-on-the-platform"
    with bot.db.session() as session:
        session.add(Citizen(openid="o_asker", first_seen_at=clock.now(), last_interaction_at=clock.now()))
        fake_wechat.record_interaction("o_asker")
        enqueue(session, key="k1", purpose="test", payload=text_payload("您好"), now=clock.now(), openid="o_asker")
        session.commit()
    with caplog.at_level(logging.ERROR, logger="bot.wechat.api"):
        Sender.from_bot(bot).drain()
    add_staff(app, "boss", "admin")
    console = ConsoleClient(app.test_client())
    console.login("boss")
    html = console.get("/console/").get_data(as_text=True)
    panel = dashboard_panel(html, "wechat_api")
    assert "已暂停发送" in panel and "请系统管理员核对服务器配置中的开发者密码（AppSecret）" in panel
    assert "BOT_" not in html
    # The operator, who reads the log on the server, is told which setting to check.
    assert any("BOT_WECHAT_APP_SECRET" in r.getMessage() for r in caplog.records)
