"""`python -m bot demo`: one process with the simulator, fake WeChat API, scheduler and sender."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.test_deployment import free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@contextlib.contextmanager
def demo(db: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen, list[str]]]:
    port = free_port()
    env = {**os.environ, "BOT_DATABASE_URL": f"sqlite:///{db}", "BOT_REPORTS_PHOTO_DIR": str(db.parent / "photos")}
    # Output goes to a file, not a pipe: an unread pipe fills up and blocks the demo's logging (and its exit).
    log_path = db.parent / f"demo-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--port", str(port), *extra], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        wait_healthy(base)
        yield base, proc, lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            lines.extend(log_path.read_text(encoding="utf-8").splitlines())


def say(base: str, text: str, openid: str = "o_sim_zhangsan") -> str:
    response = requests.post(base + "/simulator/api/send", json={"openid": openid, "type": "text", "text": text,
                                                                  "aes": True}, timeout=10)
    response.raise_for_status()
    return response.json()["reply"]["content"]


def test_demo_runs_everything_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    with demo(db, "--today", "2021-06-01") as (base, proc, lines):
        assert "请选择隐患类别" in say(base, "举报")
        for text in ("1", "楼道里堆满了纸箱，消防通道被堵死了", "跳过", "跳过", "匿名"):
            say(base, text)
        assert "举报已提交" in say(base, "确认")
        assert requests.get(base + "/simulator/", timeout=5).status_code == 200
        # The request the sender makes for an access token (to the fake API, in the same server).
        token = requests.get(base + "/fake-wechat/cgi-bin/token", timeout=5, params={
            "grant_type": "client_credential", "appid": "wxdemo0000000000", "secret": "demo-app-secret"})
        assert "access_token" in token.json()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    output = "\n".join(lines)
    assert "/simulator/" in output and "/console/" in output and "2021-06-01" in output
    assert re.search(r"staff: admin / \S{8,}", output)
    # The request lines (werkzeug's, the simulator's pushes and the fake API's token URL) name no
    # citizen and carry no signature, nonce or secret (issue 17.5).
    assert "POST /simulator/api/send" in output and "GET /fake-wechat/cgi-bin/token" in output and "o_sim_zhangsan" not in output
    assert "demo-app-secret" not in output and "demo-token" not in output and "demo-identity-key" not in output
    assert not re.search(r"(signature|nonce|secret|access_token)=[^-]", output)

    with demo(db) as (base, _, _):  # a second start reuses the data
        assert "YH20210601-" in say(base, "我的举报")


def test_demo_refuses_a_bad_day(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "bot", "demo", "--today", "June 1st"], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert out.returncode == 2
    assert "--today must be a date like 2021-06-01" in out.stderr
