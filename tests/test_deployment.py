"""Production shape: gunicorn masters with several workers sharing Redis and PostgreSQL, as on two hosts.

Copies of one message sent to both instances are handled once; a citizen's flow moves freely
between them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from bot.clock import SimulatedClock, shanghai
from tests.services import DEFAULT_REDIS, REDIS_URL, redis_store
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpClient:
    """Just enough of Flask's test client for tests/wechat.py, over real HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base

    def post(self, path: str, data: bytes, content_type: str) -> HttpResponse:
        response = requests.post(self.base + path, data=data, headers={"Content-Type": content_type}, timeout=30)
        return HttpResponse(response)


class HttpResponse:
    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self._text = response.content.decode("utf-8")

    def get_data(self, as_text: bool = False) -> str:
        return self._text


def wait_healthy(base: str, seconds: float = 40.0) -> None:
    """Wait for a freshly started server's /healthz to answer 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # A worker's first answer can take seconds on a loaded machine: a timeout is "not yet".
        with contextlib.suppress(requests.ConnectionError, requests.Timeout):
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{base} did not start")


@contextlib.contextmanager
def instance(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "2"], cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def campaign_clock() -> SimulatedClock:
    """WeChat's side on the instances' clock (BOT_SERVER_TODAY starts it at 09:00 and it runs on):
    a push's timestamp must be within minutes of the server's clock."""
    return SimulatedClock(shanghai(2021, 6, 1, 9))


def production_env(pg_url: str) -> dict[str, str]:
    """Settings for instances on the test's PostgreSQL and Redis (whose keys are emptied first)."""
    store = next(redis_store())  # fails (not skips) under BOT_TEST_REQUIRE_SERVICES when Redis is away
    store.flush_prefix()
    return {"BOT_WECHAT_TOKEN": TOKEN, "BOT_WECHAT_APP_ID": APP_ID, "BOT_WECHAT_ENCODING_AES_KEY": AES_KEY,
            "BOT_DATABASE_URL": pg_url, "BOT_REDIS_URL": REDIS_URL or DEFAULT_REDIS,
            "BOT_SERVER_TODAY": "2021-06-01", "BOT_CONTENT_DIR": str(ROOT / "content")}


@pytest.fixture
def two_hosts(pg_url: str) -> Iterator[tuple[str, str, str]]:
    env = production_env(pg_url)
    with instance(env) as a, instance(env) as b:
        yield a, b, pg_url


def test_two_instances_share_dedupe_and_conversations(two_hosts) -> None:
    a, b, pg = two_hosts
    openid = f"o_deploy_{uuid.uuid4().hex[:6]}"
    on_a = Citizen(WeChatServer(HttpClient(a), TOKEN, APP_ID, AES_KEY, mode="aes", clock=campaign_clock()), openid)
    on_b = Citizen(WeChatServer(HttpClient(b), TOKEN, APP_ID, AES_KEY, mode="plain", clock=campaign_clock()), openid)
    assert "请选择隐患类别" in on_a.says("举报")
    assert "请描述隐患情况" in on_b.says("1")                      # the flow moved to the other host
    assert "请发送隐患位置" in on_a.says("幸福小区3号楼楼道里堆满纸箱，消防通道被堵死了")
    on_b.dialog([("跳过", "请上传"), ("跳过", "请留下姓名"), ("匿名", "请核对")])

    confirm = on_a._envelope("text", "<Content><![CDATA[确认]]></Content>")
    replies: list = []

    def deliver(server: WeChatServer) -> None:
        replies.append(server.push(confirm, openid=openid))

    threads = [threading.Thread(target=deliver, args=(citizen.server,)) for citizen in (on_a, on_b, on_a, on_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status == 200 for r in replies)
    assert any(not r.is_success and "举报已提交" in r.text for r in replies)

    engine = create_engine(pg)
    with engine.connect() as conn:
        from bot.models.reports import Report

        assert conn.execute(select(func.count()).select_from(Report.__table__)).scalar() == 1
    # The citizen's row comes with a worker's next batch of last-seen times (within a second).
    deadline = time.monotonic() + 10
    while True:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM citizens WHERE openid = :o"), {"o": openid}).scalar()
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert rows == 1  # one citizen, whichever host wrote it
    engine.dispose()


def test_a_stopping_worker_writes_the_last_seen_times_it_holds(pg_url: str) -> None:
    """Last interaction times wait in the worker for the next batch (bot/infra/last_seen.py); a worker
    that is stopped writes them on its way out."""
    openid = f"o_exit_{uuid.uuid4().hex[:6]}"
    engine = create_engine(pg_url)

    def rows() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM citizens WHERE openid = :o"), {"o": openid}).scalar()

    try:
        with instance({**production_env(pg_url), "BOT_CONVERSATION_SEEN_FLUSH_SECONDS": "60"}) as base:
            citizen = Citizen(WeChatServer(HttpClient(base), TOKEN, APP_ID, AES_KEY, mode="aes", clock=campaign_clock()),
                              openid)
            assert "取消" in citizen.says("帮助")
            assert rows() == 0  # held for the next batch, a minute away
        assert rows() == 1  # written as the worker stopped (SIGTERM)
    finally:
        engine.dispose()
