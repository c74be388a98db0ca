"""The store failing mid-flight, and what /metrics shows."""

from __future__ import annotations

import pytest

from bot import create_app
from bot.infra.store import MemoryStore, StoreError
from handlers import common
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.test_conversation import survey
from tests.wechat import Citizen, WeChatServer


class SwitchableStore(MemoryStore):
    """A real in-process store that can be made to fail like a Redis that went away."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def __getattribute__(self, name: str):
        if name not in ("down", "__dict__", "__class__") and object.__getattribute__(self, "down") and not name.startswith("_"):
            raise StoreError("connection refused")
        return super().__getattribute__(name)


@pytest.fixture
def flaky(config, clock):
    store = SwitchableStore()
    app = create_app(config, clock=clock, store=store, routers=[common.escapes, survey, common.fallback])
    yield app, store
    app.extensions["bot"].close()


def test_store_down_answers_stateless_refuses_flows_and_recovers(flaky, mode, clock) -> None:
    app, store = flaky
    person = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock), "o_r")
    store.down = True
    assert "还可以发送：调查" in person.says("帮助")                 # stateless: still answered
    assert "系统繁忙" in person.says("调查")                          # a flow would be lost: refused
    store.down = False
    assert "名字" in person.says("调查")                              # back without a restart
    assert "小王，您的年龄" in person.says("小王")
    store.down = True
    reply = person.text("30")
    assert reply.status == 200                                          # never a 5xx to WeChat
    store.down = False
    assert "记下了：小王，30岁" in person.says("30")                   # the flow was kept whole


def test_metrics_count_requests_retries_and_errors(app, citizen) -> None:
    citizen.says("我要举报")  # starts a flow: claimed, so its retry is answered from the first delivery
    citizen.resend_last()
    app.test_client().post("/wechat?signature=bad&timestamp=1&nonce=1", data=b"<xml/>")
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'smb_requests_total{outcome="2xx",route="/wechat"} 2.0' in text
    assert 'smb_requests_total{outcome="4xx",route="/wechat"} 1.0' in text
    assert "smb_dedupe_hits_total 1.0" in text
    assert 'smb_outbox_backlog{status="pending"} 0.0' in text
