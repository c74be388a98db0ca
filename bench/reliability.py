"""Fault drills against the real server (gunicorn, 2 workers) on private Redis and PostgreSQL
instances that the drills may stop and restart without touching the machine's own services.

    .venv/bin/python -m bench.reliability

Drills: WeChat retries (each message delivered 3 times at once), Redis stopped under load,
PostgreSQL restarted under load, a gunicorn worker killed mid-flow; the last three during report
flows and again during quiz rounds. Writes the "Reliability" table of bench/RESULTS.md: messages
lost, messages duplicated and 5xx returned.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import AES_KEY, APP_ID, TOKEN, signed, text_xml  # noqa: E402
from bench.results import write_section  # noqa: E402
from bench.webhook_bench import free_port  # noqa: E402

PG_BIN = Path(next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin")))))
TICKET = re.compile(r"YH\d{8}-[A-Z0-9]{6}")
REPORT_STEPS = ["举报", "1", "幸福小区3号楼楼道里堆满纸箱，消防通道被堵死了", "跳过", "跳过", "匿名", "确认"]
QUIZ_FEEDBACK = ("✅ 回答正确", "❌ 回答错误")
QUESTION = "题 · "  # in every question's head: 第2/5题 · 单选题 · 消防安全


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.port, self.dir, self.proc = free_port(), workdir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir)], stdout=subprocess.DEVNULL)
        for _ in range(50):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()


class PrivatePostgres:
    """A throwaway cluster owned by the postgres user, on its own port."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.dir = free_port(), workdir / "pg"
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres(f"{PG_BIN}/initdb -D {self.dir} -A trust -U postgres >/dev/null")

    @staticmethod
    def _as_postgres(command: str) -> None:
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._as_postgres(f"{PG_BIN}/pg_ctl -D {self.dir} -o '-p {self.port} -k /tmp' -w -l {self.dir}/log start >/dev/null")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(f"{PG_BIN}/pg_ctl -D {self.dir} -m {mode} -w stop >/dev/null")


@contextlib.contextmanager
def bot_server(database_url: str, redis_url: str) -> Iterator[tuple[str, subprocess.Popen]]:
    env = {**os.environ, "BOT_WECHAT_TOKEN": TOKEN, "BOT_WECHAT_APP_ID": APP_ID, "BOT_WECHAT_ENCODING_AES_KEY": AES_KEY,
           "BOT_DATABASE_URL": database_url, "BOT_REDIS_URL": redis_url, "BOT_SERVER_TODAY": "2021-06-01",
           "BOT_WECHAT_SIGNATURE_MAX_AGE_SECONDS": "86400"}  # requests prepared ahead with one timestamp
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--workers", "2"], cwd=ROOT,
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                break
        time.sleep(0.1)
    try:
        yield base, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


class Client:
    """Sends one citizen's messages like WeChat: each with its own MsgId, retried as WeChat retries."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.statuses: list[int] = []
        self.busy = 0        # "the system is busy" (the store is down: flows refused, nothing half-done)
        self.apologies = 0   # "please send it again" (the database failed that message)
        self.lock = threading.Lock()

    def deliver(self, xml: str, aes: bool, nonce: int) -> tuple[int, str]:
        path, body = signed(xml, aes, nonce)
        try:
            response = self.session.post(self.base + path, data=body.encode(), timeout=10)
            status, text = response.status_code, response.content.decode()
        except requests.RequestException:
            status, text = 0, ""
        with self.lock:
            self.statuses.append(status)
        return status, text

    def reply_text(self, xml: str, aes: bool, nonce: int, attempts: int = 4) -> str:
        """WeChat retries a delivery that failed (no answer, 5xx) up to 3 more times."""
        for attempt in range(attempts):
            status, body = self.deliver(xml, aes, nonce * 10 + attempt)
            if status == 200:
                text = _decrypt(body) if aes and "<Encrypt>" in body else body
                with self.lock:
                    self.busy += "系统繁忙" in text
                    self.apologies += "系统刚才出了点问题" in text
                return text
            time.sleep(0.5)
        return ""

    @property
    def server_errors(self) -> int:
        return sum(1 for s in self.statuses if s >= 500)


def _decrypt(body: str) -> str:
    import base64

    import xmltodict
    from wechatpy.crypto import PrpCrypto

    encrypted = xmltodict.parse(body)["xml"]["Encrypt"]
    return PrpCrypto(base64.b64decode(AES_KEY + "=")).decrypt(encrypted, APP_ID)


def count_reports(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM reports")).scalar()
    finally:
        engine.dispose()


def tickets_in_db(database_url: str) -> set[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(sa.text("SELECT ticket FROM reports"))}
    finally:
        engine.dispose()


def file_reports(client: Client, users: range, prefix: str, pause: float = 0.0) -> list[str]:
    """Each user walks the whole report flow; returns the tickets the bot acknowledged."""
    acknowledged: list[str] = []

    def walk(user: int) -> None:
        openid = f"o_{prefix}_{user:05d}"
        for step, text in enumerate(REPORT_STEPS):
            xml = text_xml(openid, text)
            reply = client.reply_text(xml, aes=user % 2 == 0, nonce=user * 100 + step)
            if text == "确认" and (found := TICKET.search(reply)):
                acknowledged.append(found.group(0))
            time.sleep(pause)

    with futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(walk, users))
    return acknowledged


@contextlib.contextmanager
def fault(after: float, inject: Callable[[], object]) -> Iterator[None]:
    """Inject a fault `after` seconds into the load run inside the block; wait for it to be over."""
    timer = threading.Timer(after, inject)
    timer.start()
    try:
        yield
    finally:
        timer.join()


def redis_outage(redis: PrivateRedis) -> None:
    redis.stop()
    time.sleep(4)
    redis.start()


def postgres_restart(pg: PrivatePostgres) -> None:
    pg.stop("immediate")
    time.sleep(2)
    pg.start()


def kill_a_worker(server: subprocess.Popen) -> None:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.pid)], capture_output=True, text=True).stdout
    if pids := [int(p) for p in out.split()]:
        os.kill(pids[0], signal.SIGKILL)


def answer_for(question: str) -> str:
    """A well-formed answer to the question a reply asks; right or wrong does not matter here."""
    if "判断题" in question:
        return "对"
    return "AB" if "多选题" in question else "A"


def play_quiz(client: Client, users: range, prefix: str, pause: float = 0.0) -> dict[str, tuple[int, int]]:
    """Each user plays one round to its end as a person would: when a reply asks no question (the
    system was busy, an apology), 答题 again picks the round up. openid -> (answers acknowledged
    with feedback, answer messages sent)."""
    played: dict[str, tuple[int, int]] = {}

    def play(user: int) -> None:
        openid, aes = f"o_{prefix}_{user:05d}", user % 2 == 0
        acknowledged = sent = 0
        reply = client.reply_text(text_xml(openid, "答题"), aes, nonce=user * 1000)
        for step in range(1, 60):
            if "本轮结束" in reply:
                break
            if QUESTION not in reply:
                time.sleep(0.5)
                reply = client.reply_text(text_xml(openid, "答题"), aes, nonce=user * 1000 + step)
                continue
            reply = client.reply_text(text_xml(openid, answer_for(reply.split(QUESTION)[-1])), aes, user * 1000 + step)
            sent += 1
            acknowledged += any(word in reply for word in QUIZ_FEEDBACK)
            time.sleep(pause)
        played[openid] = (acknowledged, sent)

    with futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(play, users))
    return played


def quiz_outcome(database_url: str, played: dict[str, tuple[int, int]]) -> dict:
    """Lost: answers acknowledged beyond those stored; duplicated: answers stored beyond the answer
    messages sent; restarted: players who needed a second round (their first was lost)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT r.openid, count(DISTINCT r.id), count(a.id), bool_and(r.status = 'finished') FROM quiz_rounds r "
                "LEFT JOIN quiz_answers a ON a.round_id = r.id WHERE r.openid = ANY(:players) GROUP BY r.openid"),
                {"players": list(played)}).all()
    finally:
        engine.dispose()
    stored = {openid: (rounds, answers, finished) for openid, rounds, answers, finished in rows}
    lost = duplicated = restarted = finished = 0
    for openid, (acknowledged, sent) in played.items():
        rounds, answers, done = stored.get(openid, (0, 0, False))
        lost += max(0, acknowledged - answers)
        duplicated += max(0, answers - sent)
        restarted += rounds > 1
        finished += bool(done)
    return {"lost": lost, "duplicated": duplicated, "restarted": restarted, "finished": finished,
            "answers": sum(sent for _, sent in played.values())}


def quiz_drill(name: str, faults: str, client: Client, pg_url: str, played: dict[str, tuple[int, int]]) -> dict:
    outcome = quiz_outcome(pg_url, played)
    return {"drill": name, "load": f"{len(client.statuses)} deliveries, {len(played)} players, "
                                   f"{outcome['answers']} answers", "faults": faults,
            "lost": outcome["lost"], "duplicated": outcome["duplicated"], "5xx": client.server_errors,
            "note": f"{outcome['finished']}/{len(played)} players finished their round, {outcome['restarted']} "
                    f"needed a second one; {client.busy} busy replies, {client.apologies} apologies"}


def drill_retries(base: str, pg: str, messages: int) -> dict:
    """Every message delivered 3 times at once: each handled exactly once."""
    client = Client(base)
    before = count_reports(pg)

    def triple(user: int) -> None:
        openid = f"o_retry_{user:05d}"
        for step, text in enumerate(REPORT_STEPS):
            xml = text_xml(openid, text)
            copies = [(xml, n % 2 == 0, user * 1000 + step * 10 + n) for n in range(3)]
            with futures.ThreadPoolExecutor(3) as pool:
                list(pool.map(lambda copy: client.deliver(*copy), copies))

    with futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(triple, range(messages // len(REPORT_STEPS))))
    created = count_reports(pg) - before
    flows = messages // len(REPORT_STEPS)
    return {"drill": "WeChat retries: each message delivered 3× concurrently",
            "load": f"{flows * len(REPORT_STEPS)} messages ({flows} report flows), {len(client.statuses)} deliveries",
            "faults": "3 copies of every message at once", "lost": flows - created if created <= flows else 0,
            "duplicated": max(0, created - flows), "5xx": client.server_errors}


def drill_redis_down(base: str, pg: str, redis: PrivateRedis) -> dict:
    client = Client(base)
    with fault(2.0, lambda: redis_outage(redis)):
        acknowledged = file_reports(client, range(60), "redis", pause=0.3)
    time.sleep(1)
    after = file_reports(client, range(100, 110), "redis_after")  # recovery without a restart
    stored = tickets_in_db(pg)
    lost = [t for t in acknowledged + after if t not in stored]
    return {"drill": "Redis stopped for 4 s during report flows, then restarted",
            "load": f"{len(client.statuses)} deliveries, 70 citizens", "faults": "Redis killed and restarted",
            "lost": len(lost), "duplicated": 0, "5xx": client.server_errors,
            "note": f"{len(acknowledged)}/60 flows under the fault got a ticket (the others were told the system was "
                    f"busy: {client.busy} replies); {len(after)}/10 flows completed after Redis returned, "
                    "without restarting the bot"}


def drill_postgres_restart(base: str, pg: PrivatePostgres) -> dict:
    client = Client(base)
    with fault(2.0, lambda: postgres_restart(pg)):
        acknowledged = file_reports(client, range(60), "pg", pause=0.3)
    after = file_reports(client, range(100, 110), "pg_after")
    stored = tickets_in_db(pg.url)
    lost = [t for t in acknowledged + after if t not in stored]
    return {"drill": "PostgreSQL stopped (immediate) and restarted during report flows",
            "load": f"{len(client.statuses)} deliveries, 70 citizens", "faults": "PostgreSQL down ~2 s",
            "lost": len(lost), "duplicated": 0, "5xx": client.server_errors,
            "note": f"{len(acknowledged)}/60 flows under the fault got a ticket, every one stored; {client.apologies} "
                    f"apologies while the database was down; {len(after)}/10 flows completed after the restart "
                    "(the pool recovered by itself)"}


def drill_worker_killed(base: str, server: subprocess.Popen, pg: str) -> dict:
    client = Client(base)
    before = count_reports(pg)
    with fault(1.5, lambda: kill_a_worker(server)):
        acknowledged = file_reports(client, range(40), "kill", pause=0.3)
    stored = tickets_in_db(pg)
    created = count_reports(pg) - before
    return {"drill": "a gunicorn worker killed with SIGKILL mid-flow", "load": f"{len(client.statuses)} deliveries, 40 citizens",
            "faults": "SIGKILL of one of 2 workers", "lost": len([t for t in acknowledged if t not in stored]),
            "duplicated": max(0, created - 40), "5xx": client.server_errors,
            "note": f"{len(acknowledged)}/40 citizens finished their report (WeChat-style retries of failed deliveries)"}


def drill_quiz_redis_down(base: str, pg: str, redis: PrivateRedis) -> dict:
    client = Client(base)
    with fault(2.0, lambda: redis_outage(redis)):
        played = play_quiz(client, range(40), "qredis", pause=0.3)
    return quiz_drill("Redis stopped for 4 s during quiz rounds, then restarted", "Redis killed and restarted",
                      client, pg, played)


def drill_quiz_postgres_restart(base: str, pg: PrivatePostgres) -> dict:
    client = Client(base)
    with fault(2.0, lambda: postgres_restart(pg)):
        played = play_quiz(client, range(40), "qpg", pause=0.3)
    return quiz_drill("PostgreSQL stopped (immediate) and restarted during quiz rounds", "PostgreSQL down ~2 s",
                      client, pg.url, played)


def drill_quiz_worker_killed(base: str, server: subprocess.Popen, pg: str) -> dict:
    client = Client(base)
    with fault(1.5, lambda: kill_a_worker(server)):
        played = play_quiz(client, range(40), "qkill", pause=0.3)
    return quiz_drill("a gunicorn worker killed with SIGKILL mid-round", "SIGKILL of one of 2 workers", client, pg, played)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="smb-drills-"))
    shutil.chown(work, "postgres", "postgres")
    redis, pg = PrivateRedis(work), PrivatePostgres(work)
    redis.start()
    pg.start()
    rows = []
    try:
        with bot_server(pg.url, redis.url) as (base, server):
            for drill in (lambda: drill_retries(base, pg.url, 1001), lambda: drill_redis_down(base, pg.url, redis),
                          lambda: drill_postgres_restart(base, pg), lambda: drill_worker_killed(base, server, pg.url),
                          lambda: drill_quiz_redis_down(base, pg.url, redis), lambda: drill_quiz_postgres_restart(base, pg),
                          lambda: drill_quiz_worker_killed(base, server, pg.url)):
                rows.append(drill())
                print(rows[-1], flush=True)
    finally:
        redis.stop()
        with contextlib.suppress(Exception):
            pg.stop()
    table = ["| drill | load | faults injected | messages lost | duplicated | 5xx returned |", "|---|---|---|---|---|---|"]
    table += [f"| {r['drill']} | {r['load']} | {r['faults']} | {r['lost']} | {r['duplicated']} | {r['5xx']} |" for r in rows]
    notes = [f"- {r['drill']}: {r['note']}" for r in rows if r.get("note")]
    write_section("Reliability", "Command: `.venv/bin/python -m bench.reliability` (gunicorn, 2 workers, private Redis "
                  "and PostgreSQL instances the drills stop and restart). \"Lost\" counts reports the bot acknowledged "
                  "with a ticket that are not in the database, and quiz answers acknowledged with feedback beyond "
                  "those stored; \"duplicated\" counts reports beyond one per flow, and stored answers beyond the "
                  "answer messages sent.\n\n"
                  + "\n".join(table) + "\n\n" + "\n".join(notes))
    return 1 if any(r["lost"] or r["duplicated"] or r["5xx"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
