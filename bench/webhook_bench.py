"""Webhook load benchmark: the bot (Redis + PostgreSQL, and the embedded default) against a floor
(bare Flask + wechatpy), a WeRoBot echo app and the floor plus the least shared-state work a message
needs (bench/apps/floor_shared.py), under the same gunicorn settings, loaded by wrk from a separate
process on loopback.

    .venv/bin/pip install -r bench/requirements.txt   # WeRoBot, bench only
    .venv/bin/python -m bench.webhook_bench

Needs wrk (apt-get install wrk), PostgreSQL and Redis on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.apps.floor_shared import prepared  # noqa: E402
from bench.load import AES_KEY, APP_ID, TOKEN, quiz_answers, signed, stateless_messages, text_xml, write_requests  # noqa: E402
from bench.results import write_section  # noqa: E402
from bot.content import load_content  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
THREADS = 8
GUNICORN = [str(ROOT / ".venv/bin/gunicorn"), "-k", "gthread", "--threads", str(THREADS), "--log-level",
            "warning"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def scratch_postgres() -> Iterator[str]:
    name = f"smb_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# The requests are written ahead with one timestamp (bench/load.py) and replayed for minutes: the
# signature window is widened to a day so that they stay inside it. Each push still costs its
# (timestamp, nonce) claim, as in production.
PREPARED_REQUESTS_WINDOW = {"BOT_WECHAT_SIGNATURE_MAX_AGE_SECONDS": "86400"}


def bot_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {"BOT_WECHAT_TOKEN": TOKEN, "BOT_WECHAT_APP_ID": APP_ID, "BOT_WECHAT_ENCODING_AES_KEY": AES_KEY,
            "BOT_DATABASE_URL": database_url, "BOT_REDIS_URL": redis_url, "BOT_SERVER_TODAY": "2021-06-01",
            "BOT_SERVER_MODE": "dev", **PREPARED_REQUESTS_WINDOW}


@contextlib.contextmanager
def server(app: str, workers: int, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    proc = subprocess.Popen([*GUNICORN, "-w", str(workers), "-b", f"127.0.0.1:{port}", app], cwd=ROOT,
                            env={**os.environ, **env, "BENCH_TOKEN": TOKEN, "BENCH_APP_ID": APP_ID,
                                 "BENCH_AES_KEY": AES_KEY}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    # A fresh nonce per probe: the replay guard refuses a signature it saw (the store outlives a server).
    path, body = signed(text_xml("o_probe", "帮助"), False, f"probe-{uuid.uuid4().hex}")
    for _ in range(200):
        try:
            if requests.post(base + path, data=body.encode(), timeout=15).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        raise RuntimeError(f"{app} did not start")
    try:
        yield base, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def worker_rss_mb(master: subprocess.Popen) -> dict[int, float]:
    out = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid", str(master.pid)], capture_output=True, text=True).stdout
    return {int(pid): int(rss) / 1024 for pid, rss in (line.split() for line in out.splitlines() if line.strip())}


def wrk(base: str, requests_file: Path, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
                          "-s", str(ROOT / "bench/replay.lua"), base, "--", str(requests_file), "2"],
                         capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out).groups()
        result[f"p{pct}"] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    value, unit = re.search(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)", out).groups()
    result["max"] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["errors"] = (int(errors.group(1)) if errors else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    return result


def start_rounds(base: str, first_user: int, users: int) -> None:
    """Put each quiz user inside a round before the load (the load then sends answers only)."""

    def start(user: int) -> None:
        path, body = signed(text_xml(f"o_quiz_{user:06d}", "答题"), user % 2 == 0, 10_000_000 + user)
        requests.post(base + path, data=body.encode(), timeout=10).raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(start, range(first_user, first_user + users)))


def open_rounds(database_url: str) -> dict[str, list[tuple[str, int]]]:
    """Each active round's questions still to answer, as (kind, option count): the quiz load
    answers exactly those, so every message is an answer the bot stores."""
    bank = load_content(ROOT / "content").quiz
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT openid, question_ids, position FROM quiz_rounds "
                                    "WHERE status = 'active' ORDER BY openid")).all()
    engine.dispose()
    rounds = {}
    for openid, question_ids, position in rows:
        ids = json.loads(question_ids) if isinstance(question_ids, str) else question_ids
        rounds[openid] = [(q.kind, len(q.options)) for q in map(bank.get, ids[position:])]
    return rounds


@dataclasses.dataclass(frozen=True)
class Target:
    label: str
    app: str
    workers: int
    env: dict[str, str]
    quiz: bool = False  # the load is answers inside quiz rounds rather than the stateless mix


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--quiz-users", type=int, default=5_000, help="fresh quiz players per round")
    parser.add_argument("--memory-requests", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="smb-bench-"))
    # Every run replays messages nobody sent before: a replayed MsgId would be a dedupe hit, which
    # costs almost nothing and would flatter the bot. Files are sized so that wrk never wraps.
    lines = args.duration * 6_000

    def messages(name: str, count: int, seed: int) -> Path:
        path = work / f"{name}.txt"
        write_requests(path, stateless_messages(count, 5_000, seed=seed))
        return path

    warmup = messages("warmup", 40_000, 1)
    stateless = [messages(f"stateless-{r}", lines, 10 + r) for r in range(args.rounds)]
    redis_url = "redis://127.0.0.1:6379/14"
    subprocess.run(["redis-cli", "-n", "14", "flushdb"], check=True, capture_output=True)
    results: dict[str, list[dict[str, float]]] = {}
    notes: list[str] = []
    with scratch_postgres() as pg, contextlib.ExitStack() as running:
        sqlite = f"sqlite:///{work / 'embedded.db'}"
        upgrade(pg, redis_url)
        upgrade(sqlite, "")
        shared = prepared(pg, redis_url)
        targets = [Target("floor (Flask + wechatpy)", "bench.apps.floor:app", 2, {}),
                   Target("WeRoBot echo", "bench.apps.werobot_echo:app", 2, {}),
                   Target("bot, Redis + PostgreSQL, stateless mix", "bot:create_app()", 2, bot_env(pg, redis_url)),
                   Target("bot, Redis + PostgreSQL, quiz answers in rounds", "bot:create_app()", 2,
                          bot_env(pg, redis_url), quiz=True),
                   Target("bot, embedded (SQLite + in-process store), stateless mix", "bot:create_app()", 1,
                          bot_env(sqlite, "")),
                   Target("floor (Flask + wechatpy), 1 worker", "bench.apps.floor:app", 1, {}),
                   Target("floor + one Redis read (stateless ceiling)", "bench.apps.floor_shared:stateless", 2, shared),
                   Target("floor + claim/lock, INSERT, save/unlock (stateful ceiling)", "bench.apps.floor_shared:stateful",
                          2, shared)]
        # Every target runs at once, idle but for its turn, so that each round measures them all
        # within a minute or two: this VM's speed drifts by 2-3x over a session, and ratios taken
        # from runs far apart in time measured the drift.
        bases = {t.label: running.enter_context(server(t.app, t.workers, t.env))[0] for t in targets if not t.quiz}
        bases[targets[3].label] = bases[targets[2].label]  # the same two workers take both loads
        for t in targets:
            if not t.quiz:  # warm-up: citizens known, pools and caches filled, as on any day after the first
                wrk(bases[t.label], warmup, 5, args.connections)
        for r in range(args.rounds):
            for t in targets:
                if t.quiz:
                    file, total = quiz_load(bases[t.label], pg, work, r, args.quiz_users)
                else:
                    file, total = stateless[r], lines
                result = wrk(bases[t.label], file, args.duration, args.connections)
                if result["requests"] > total:
                    notes.append(f"- {t.label}, round {r + 1}: wrk wrapped around its file ({result['requests']:,} "
                                 f"requests, {total:,} distinct); the repeats were dedupe hits.")
                results.setdefault(t.label, []).append(result)
                print(f"round {r + 1}", t.label, result, flush=True)
        memory = measure_memory(bot_env(pg, redis_url), work, args.memory_requests, args.connections)
    body = report(targets, results, args) + "\n" + "\n".join(notes) + "\n\n" + memory
    print(body)
    write_section("Webhook throughput", body)
    return 0


def quiz_load(base: str, database_url: str, work: Path, round_no: int, users: int) -> tuple[Path, int]:
    """A round's quiz load: fresh players each start a round, then answer every question of it
    (the last answer finishes the round: scored, leaderboard), each answer well-formed for that
    player's own question, so every message is an answer the bot stores."""
    first = round_no * users
    start_rounds(base, first, users)
    players = {f"o_quiz_{user:06d}" for user in range(first, first + users)}
    questions = {openid: left for openid, left in open_rounds(database_url).items() if openid in players}
    path = work / f"answers-{round_no}.txt"
    return path, write_requests(path, quiz_answers(questions, max(map(len, questions.values())), seed=2 + round_no))


def report(targets: list[Target], results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> str:
    def median(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    floor, werobot, bot, quiz, embedded, floor1, shared_read, shared_write = (t.label for t in targets)

    def ratio(label: str, against: str, target: str = "") -> str:
        each = [mine["rps"] / theirs["rps"] for mine, theirs in zip(results[label], results[against], strict=True)]
        spread = ", ".join(f"{x:.2f}" for x in each)
        return f"{median(label, 'rps') / median(against, 'rps'):.2f}{target} (rounds: {spread})"

    table = ["| target | workers | req/s, median | req/s, each round | p50 ms | p99 ms | worst p99 ms | max ms | "
             "errors |", "|---|---|---|---|---|---|---|---|---|"]
    for t in targets:
        rows = results[t.label]
        each = " / ".join(f"{r['rps']:.0f}" for r in rows)
        table.append(f"| {t.label} | {t.workers} | {median(t.label, 'rps'):.0f} | {each} | "
                     f"{median(t.label, 'p50'):.1f} | {median(t.label, 'p99'):.1f} | {max(r['p99'] for r in rows):.1f} | "
                     f"{max(r['max'] for r in rows):.0f} | {sum(r['errors'] for r in rows):.0f} |")
    ratios = [f"bot stateless / floor: {ratio(bot, floor, ' (target ≥ 0.8)')}",
              f"bot stateless / WeRoBot: {ratio(bot, werobot, ' (target > 1)')}",
              f"bot quiz answers / floor: {ratio(quiz, floor, ' (target ≥ 0.4)')}",
              f"bot embedded / floor at 1 worker: {ratio(embedded, floor1)}",
              f"stateless ceiling (floor + one Redis read) / floor: {ratio(shared_read, floor)}",
              f"bot stateless / stateless ceiling: {ratio(bot, shared_read)}",
              f"stateful ceiling (floor + 2 Redis scripts + 1 INSERT) / floor: {ratio(shared_write, floor)}",
              f"bot quiz answers / stateful ceiling: {ratio(quiz, shared_write)}"]
    return (f"Command: `.venv/bin/python -m bench.webhook_bench --duration {args.duration} --rounds {args.rounds} "
            f"--connections {args.connections} --quiz-users {args.quiz_users} --memory-requests {args.memory_requests}`\n\n"
            f"gunicorn gthread, {THREADS} threads per worker; wrk -t2 -c{args.connections}, {args.duration} s per target "
            f"per round, on the same 2-core machine (it takes CPU from the servers). All targets run at once and "
            f"take turns, {args.rounds} rounds; medians over the rounds (p99 and p50: the median round's; worst p99 "
            "and max: over all rounds). Stateless mix: half of the requests AES-encrypted, 5,000 distinct openids, "
            "every request a message not sent before (no dedupe hits), each target warmed up for 5 s first. Quiz "
            f"load: each round {args.quiz_users:,} fresh players start a round, then answer all its questions, users "
            "interleaved, each answer well-formed for that player's question (every one is stored; one in five "
            "finishes a round). The embedded default runs one worker (its store lives in the process). The two "
            "ceilings (bench/apps/floor_shared.py) are the floor plus the fewest round trips a bot with shared "
            "state must make: one Redis read for a stateless message; claim and lock, an INSERT, save and unlock "
            "for a stored answer (they take the stateless mix).\n\n"
            + "\n".join(table) + "\n\n" + "\n".join(f"- {r}" for r in ratios))


def upgrade(database_url: str, redis_url: str) -> None:
    subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "bot", "db", "upgrade"], cwd=ROOT, check=True,
                   env={**os.environ, **bot_env(database_url, redis_url)}, capture_output=True)


def measure_memory(env: dict[str, str], work: Path, total: int, connections: int) -> str:
    """RSS of each worker after half and after all of `total` requests (fresh messages throughout)."""
    readings: dict[int, list[float]] = {}
    with server("bot:create_app()", 2, env) as (base, master):
        sent, chunk = 0, 0
        for goal in (total // 2, total):
            while sent < goal:
                chunk += 1
                path = work / f"memory-{chunk}.txt"
                write_requests(path, stateless_messages(30_000, 5_000, seed=100 + chunk))
                sent += wrk(base, path, 5, connections)["requests"]
                path.unlink()
            readings[goal] = worker_rss_mb(master)
    half, full = readings[total // 2], readings[total]
    rows = [f"| {pid} | {half.get(pid, 0):.1f} | {rss:.1f} | {rss - half.get(pid, 0):+.1f} |" for pid, rss in full.items()]
    return ("Memory: the bot on Redis + PostgreSQL, 2 workers, the stateless mix, fresh messages throughout "
            f"(the workers share the load; counts are for both).\n\n| worker pid | RSS MB after {total // 2:,} "
            f"requests | after {total:,} | growth MB |\n|---|---|---|---|\n" + "\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
