"""The production rehearsal (issue 19): the files in deploy/, run as a county server would run them.

PostgreSQL and Redis as CI starts them; `db upgrade`; two `serve` instances (2 workers each), one
scheduler and one extra sender, each started with the command its systemd unit runs and the
environment template filled in; nginx with the shipped site over HTTPS (a self-signed pair), in
front of both instances. Through nginx: WeChat's URL check, a whole report flow and a quiz round as
signed safe-mode pushes, a broadcast sent from the console, the client address nginx forwarded in
the audit log, /metrics refused outside its allow-list. Then a backup, the database dropped and
restored, the sealed contact found again with the key, and everything stopped with SIGTERM with no
delivery left `uncertain`.

Only the fake WeChat API stands in for the outside world (a real HTTP server on loopback).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shlex
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
import sqlalchemy as sa
from requests.adapters import HTTPAdapter

from bot.clock import SystemClock
from bot.services.reports.identity import IdentityError, IdentityVault, open_hmac_keys
from bot.wechat.fake import FakeServer, FakeWeChat
from tests.reports_helpers import CODE, TICKET
from tests.services import PG_ADMIN_URL, unavailable
from tests.test_deploy_files import DEPLOY, ROOT, _tool, nginx_site
from tests.test_deployment import free_port, wait_healthy
from tests.wechat import Citizen, WeChatServer

pytestmark = pytest.mark.slow

APP_ID, APP_SECRET = "wxrehearsal00000001", "rehearsal-app-secret-0123456789abcdef"
REDIS_DB = 13  # the rehearsal's own Redis database, emptied before and after
CONTACT = ("王芳", "13912345678")


def unit_command(unit: str, **replace: str) -> list[str]:
    """The ExecStart of a shipped unit, with this checkout for /opt/safety-month-bot."""
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    command = line.removeprefix("ExecStart=").replace("/opt/safety-month-bot", str(ROOT))
    for old, new in replace.items():
        assert old in command, old
        command = command.replace(old, new)
    return shlex.split(command)


def filled_template(values: dict[str, str]) -> dict[str, str]:
    """deploy/bot.env.example as an operator fills it: its set lines, with our values."""
    environ = {}
    for line in (DEPLOY / "bot.env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            environ[key] = values.get(key, value)
    missing = [key for key, value in environ.items() if "CHANGE-ME" in value or "example" in value]
    assert not missing, f"the rehearsal must fill {missing}"
    extra = {key: value for key, value in values.items() if key not in environ}
    return environ | extra


class SourceAddress(HTTPAdapter):
    """Connections from a chosen loopback address (127.0.0.3 ...), as from another machine."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


class Https:
    """Just enough of Flask's test client for tests/wechat.py, through nginx over TLS."""

    def __init__(self, base: str, ca: Path) -> None:
        self.base, self.ca = base, ca

    def post(self, path: str, data: bytes, content_type: str):
        response = requests.post(self.base + path, data=data, headers={"Content-Type": content_type},
                                 verify=str(self.ca), timeout=30)
        return _Response(response)


class _Response:
    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self._text = response.content.decode("utf-8")

    def get_data(self, as_text: bool = False) -> str:
        return self._text


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def stop(proc: subprocess.Popen, name: str, log: Path) -> None:
    """SIGTERM, as systemctl stop sends it; the process must end by itself, cleanly."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} did not stop within 60 s of SIGTERM:\n{log.read_text(errors='replace')[-2000:]}")
    assert code == 0, f"{name} exited {code} on SIGTERM:\n{log.read_text(errors='replace')[-2000:]}"


def run(argv: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(argv, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{argv[2:]} failed:\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture
def database() -> Iterator[str]:
    name = f"smb_rehearsal_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    yield url
    client.flushdb()
    client.close()


def recreate_empty(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def scalar(url: str, sql: str, **params: object) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


def play_a_round(citizen: Citizen) -> str:
    """Answer every question (right or wrong does not matter here) until the round's summary."""
    reply = citizen.says("答题")
    for _ in range(20):
        if "本轮结束" in reply:
            return reply
        assert "题 · " in reply, reply
        reply = citizen.says("对" if "判断题：" in reply else "AB" if "多选题：" in reply else "A")
    raise AssertionError(f"the round did not end: {reply}")


def log_in_and_broadcast(base: str, ca: Path, password: str, source: str) -> str:
    web = requests.Session()
    web.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment outranks the session's CA
    web.verify = str(ca)
    web.headers["Referer"] = base + "/console/"  # as a browser sends it: CSRF over HTTPS checks it
    web.mount("https://", SourceAddress(source))

    def csrf(path: str) -> str:
        page = web.get(base + path, timeout=30)
        assert page.status_code == 200, (path, page.status_code)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    token = csrf("/console/login")
    answer = web.post(base + "/console/login", data={"csrf_token": token, "username": "admin",
                                                      "password": password}, timeout=30)
    assert answer.url.endswith("/console/account"), answer.text[-800:]
    own = "县应急局值班员的口令-" + secrets.token_hex(4)
    answer = web.post(base + "/console/account/password", timeout=30,
                      data={"csrf_token": csrf("/console/account"), "current": password, "new": own, "repeat": own})
    assert answer.status_code == 200
    text = "【安全生产月】6月16日是全国安全宣传咨询日，欢迎到县城广场参加咨询活动。"
    answer = web.post(base + "/console/broadcasts/compose", timeout=30,
                      data={"csrf_token": csrf("/console/broadcasts"), "title": "咨询日提醒", "kind": "text",
                            "content": text, "audience": "all"})
    assert "已保存" in answer.text, answer.text[-1500:]
    broadcast_id = re.search(r"群发草稿 (\d+) 已保存", answer.text).group(1)
    answer = web.post(f"{base}/console/broadcasts/{broadcast_id}/send", timeout=30,
                      data={"csrf_token": csrf("/console/broadcasts"), "at": ""})
    assert "已排队" in answer.text, answer.text[-1500:]
    return text


def metrics_status(host: str, port: int, source: str, ca: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    conn = http.client.HTTPSConnection(host, port, source_address=(source, 0), context=context, timeout=30)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_deployment_rehearsal(database: str, redis_url: str, tmp_path: Path) -> None:
    nginx = _tool("nginx")
    _tool("pg_dump")
    identity_key = secrets.token_urlsafe(48)
    aes_key = secrets.token_urlsafe(43).replace("-", "a").replace("_", "b")[:43]
    token = secrets.token_hex(16)

    fake = FakeWeChat(APP_ID, APP_SECRET, clock=SystemClock())
    api = FakeServer(fake).start()
    https_port, http_port = free_port(), free_port()
    base = f"https://localhost:{https_port}"
    env = {**os.environ, **filled_template({
        "BOT_SERVER_SECRET_KEY": secrets.token_urlsafe(48), "BOT_SERVER_PUBLIC_URL": base,
        "BOT_WECHAT_APP_ID": APP_ID, "BOT_WECHAT_APP_SECRET": APP_SECRET, "BOT_WECHAT_TOKEN": token,
        "BOT_WECHAT_ENCODING_AES_KEY": aes_key, "BOT_DATABASE_URL": database, "BOT_REDIS_URL": redis_url,
        "BOT_SECURITY_IDENTITY_KEY": identity_key, "BOT_REPORTS_PHOTO_DIR": str(tmp_path / "photos"),
        "BOT_WECHAT_API_BASE_URL": f"http://127.0.0.1:{api.port}/cgi-bin/"})}
    python = [sys.executable, "-m", "bot"]
    run([*python, "db", "upgrade"], env)
    password = re.search(r"password: (\S+)", run([*python, "staff", "add", "admin", "--role", "admin"], env)).group(1)

    ports = [free_port(), free_port()]
    logs = tmp_path / "logs"
    logs.mkdir()
    (tmp_path / "nginx").mkdir()
    main_conf = nginx_site(tmp_path / "nginx", http_port, https_port, upstream=f"127.0.0.1:{ports[0]}")
    site = tmp_path / "nginx" / "site.conf"
    site.write_text(site.read_text(encoding="utf-8").replace(
        f"server 127.0.0.1:{ports[0]};", f"server 127.0.0.1:{ports[0]};\n    server 127.0.0.1:{ports[1]};"))
    main_conf.write_text("user root;\n" + main_conf.read_text(encoding="utf-8"))  # workers read the test's tmp dir
    ca = tmp_path / "nginx" / "site.crt"

    web = [unit_command("safety-month-bot-web.service", **{"--port 8000": f"--port {port}", "--workers 4": "--workers 2"})
           for port in ports]
    with contextlib.ExitStack() as running:
        webs = [running.enter_context(process(argv, env, logs / f"web{i}.log")) for i, argv in enumerate(web)]
        for port in ports:
            wait_healthy(f"http://127.0.0.1:{port}", seconds=90)
        scheduler = running.enter_context(process(unit_command("safety-month-bot-scheduler.service"), env,
                                                  logs / "scheduler.log"))
        sender = running.enter_context(process(unit_command("safety-month-bot-sender@.service"), env,
                                               logs / "sender.log"))
        proxy = running.enter_context(process([nginx, "-c", str(main_conf), "-p", str(tmp_path / "nginx"),
                                               "-g", "daemon off;"], env, logs / "nginx.log"))
        wait_healthy_https(base, ca)

        # WeChat's URL check, through nginx.
        server = WeChatServer(Https(base, ca), token, APP_ID, aes_key, mode="aes")
        check = requests.get(f"{base}/wechat", params={**server.query(), "echostr": "rehearsal-echo"},
                             verify=str(ca), timeout=30)
        assert check.status_code == 200 and check.text == "rehearsal-echo"

        # A plaintext push is refused in safe mode; a whole report flow in safe mode goes through.
        plain = WeChatServer(Https(base, ca), token, APP_ID, aes_key, mode="plain")
        assert Citizen(plain, "o_rehearsal_plain").text("我的举报").status == 403
        reporter = Citizen(server, "o_rehearsal_reporter")
        reporter.dialog([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"),
                         ("城关镇幸福小区3号楼的消防通道被电动车和纸箱堵死了，晚上很多人在楼道充电。", "请发送隐患位置"),
                         ("跳过", "请上传"), ("完成", "请留下姓名和手机号"),
                         (f"{CONTACT[0]} {CONTACT[1]}", "请核对您的举报")])
        submitted = reporter.says("确认")
        ticket, code = TICKET.search(submitted).group(1), CODE.search(submitted).group(1)
        assert ticket in reporter.says(f"查询 {ticket} {code}")

        # A quiz round, through nginx to whichever instance.
        assert "本轮结束" in play_a_round(Citizen(server, "o_rehearsal_player"))

        # A broadcast from the console over HTTPS, from another address; the audit log has that address.
        text = log_in_and_broadcast(base, ca, password, source="127.0.0.3")
        assert scalar(database, "SELECT ip FROM audit_log WHERE action = 'login' ORDER BY id DESC LIMIT 1") \
            == "127.0.0.3"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not fake.mass_jobs():
            time.sleep(0.5)
        jobs = list(fake.mass_jobs().values())
        assert len(jobs) == 1 and text in str(jobs[0]["message"]), "the broadcast reached WeChat's mass send once"

        # The simulator is never exposed: production does not mount it, and nginx passes no other path.
        assert requests.get(f"{base}/simulator", verify=str(ca), timeout=30).status_code == 404
        assert requests.get(f"http://127.0.0.1:{ports[0]}/simulator", timeout=30).status_code == 404

        # /metrics only from the allow-list (nginx allows 127.0.0.1).
        assert metrics_status("localhost", https_port, "127.0.0.1", ca) == 200
        assert metrics_status("localhost", https_port, "127.0.0.2", ca) == 403

        # Back up while running, as the nightly job does.
        backup = tmp_path / "backup"
        run([*python, "backup", str(backup)], env)

        # systemctl stop: SIGTERM to each; each ends by itself, and no delivery is left uncertain.
        stop(proxy, "nginx", logs / "nginx.log")
        for number, proc in enumerate(webs):
            stop(proc, f"web {number}", logs / f"web{number}.log")
        stop(sender, "sender", logs / "sender.log")
        stop(scheduler, "scheduler", logs / "scheduler.log")
    assert scalar(database, "SELECT count(*) FROM deliveries WHERE status = 'uncertain'") == 0
    api.stop()

    # Disaster: the database is gone. Restore into an empty one and open the sealed contact again.
    recreate_empty(database)
    run([*python, "restore", str(backup)], {**env, "BOT_REPORTS_PHOTO_DIR": str(tmp_path / "restored-photos")})
    assert "opened" in run([*python, "keys", "check"], env)
    vault = IdentityVault(identity_key)
    assert vault.decrypt("name", scalar(database, "SELECT name_enc FROM reports WHERE ticket = :t", t=ticket)) \
        == CONTACT[0]
    assert vault.decrypt("phone", scalar(database, "SELECT phone_enc FROM reports WHERE ticket = :t", t=ticket)) \
        == CONTACT[1]

    # Rotate the key and find it again with the new one: the old key is given only while rotating.
    new_key = secrets.token_urlsafe(48)
    rotating = {**env, "BOT_SECURITY_IDENTITY_KEY": new_key, "BOT_SECURITY_PREVIOUS_IDENTITY_KEY": identity_key}
    assert "done: every sealed value is sealed" in run([*python, "keys", "rotate"], rotating)
    rotated = {**env, "BOT_SECURITY_IDENTITY_KEY": new_key}
    assert "opened" in run([*python, "keys", "check"], rotated)
    keyring = scalar(database, "SELECT sealed FROM vault_keyring")
    renewed = IdentityVault(new_key, hmac_keys=open_hmac_keys(new_key, "", keyring))
    row = {"t": ticket}
    assert renewed.decrypt("name", scalar(database, "SELECT name_enc FROM reports WHERE ticket = :t", **row)) == CONTACT[0]
    assert renewed.owner(reporter.openid) == scalar(database, "SELECT owner FROM reports WHERE ticket = :t", **row)
    assert renewed.code_matches(code, scalar(database, "SELECT query_code_hash FROM reports WHERE ticket = :t", **row))
    with pytest.raises(IdentityError):  # the old key alone opens nothing any more
        IdentityVault(identity_key).decrypt("name", scalar(database, "SELECT name_enc FROM reports WHERE ticket = :t",
                                                           **row))


def wait_healthy_https(base: str, ca: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.ConnectionError, requests.Timeout):
            if requests.get(base + "/healthz", verify=str(ca), timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("nginx did not answer /healthz")
