"""Where a message's time goes, in-process: the floor and the bot answer the same pre-signed pushes
through their WSGI apps on one thread, without gunicorn or wrk in the way.

    .venv/bin/python -m bench.profile_webhook                       # µs per request, each target
    .venv/bin/python -m bench.profile_webhook --target redis --top 25   # and a cProfile of one

The first form writes "Webhook cost per message" in bench/RESULTS.md.

Targets: floor, embedded (SQLite + in-process store), redis (SQLite + Redis db 14),
quiz (answers inside rounds on PostgreSQL + Redis, needs the local PostgreSQL).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import AES_KEY, APP_ID, TOKEN, quiz_answers, signed_pushes, stateless_messages  # noqa: E402
from bench.results import write_section  # noqa: E402
from bench.webhook_bench import bot_env, open_rounds, scratch_postgres  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/14"


def requests_for(messages, aes_share: float = 0.5) -> list[tuple[str, bytes]]:
    return [(path, body.encode()) for path, body in signed_pushes(messages, aes_share)]


def floor_app():
    os.environ.update(BENCH_TOKEN=TOKEN, BENCH_APP_ID=APP_ID, BENCH_AES_KEY=AES_KEY)
    from bench.apps.floor import app
    return app


def bot_app(database_url: str, redis_url: str):
    from bot import create_app
    from bot.config import load_config
    from bot.infra.migrate import upgrade

    upgrade(database_url)
    os.environ.update(bot_env(database_url, redis_url))
    return create_app(load_config(ROOT / "config.toml"))


def drive(app, batch: list[tuple[str, bytes]]) -> tuple[float, float]:
    """(CPU µs, wall µs) per request. The WSGI environs are built before the clock starts: the test
    client's own work would otherwise be most of what is measured."""
    environs = [EnvironBuilder(path=path, method="POST", data=body).get_environ() for path, body in batch]
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    cpu, wall = time.process_time(), time.perf_counter()
    for environ in environs:
        b"".join(app(environ, start_response))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert all(s.startswith("200") for s in statuses), {s for s in statuses if not s.startswith("200")}
    n = len(batch)
    return cpu / n * 1e6, wall / n * 1e6


def measure(name: str, make_app: Callable, batches: list[list], warm: list, top: int) -> tuple[float, float] | None:
    """The best of the batches (this VM's speed wanders by ±15% from one second to the next)."""
    app = make_app()
    if warm:
        drive(app, warm)
    if top:
        profile = cProfile.Profile()
        profile.enable()
        drive(app, batches[0])
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(top)
        pstats.Stats(profile).sort_stats("tottime").print_stats(top)
        return None
    cpu, wall = min(drive(app, batch) for batch in batches)
    print(f"{name:10s} {cpu:8.0f} µs CPU {wall:8.0f} µs wall per request (best of {len(batches)} x "
          f"{len(batches[0])} requests)")
    return cpu, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=["floor", "embedded", "redis", "quiz", "all"], default="all")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=0, help="print a cProfile of this many lines")
    args = parser.parse_args()
    targets = ["floor", "embedded", "redis", "quiz"] if args.target == "all" else [args.target]
    batches = [requests_for(stateless_messages(args.requests, 5000, seed=11 + i)) for i in range(3)]
    # Every openid writes once first (its first message of the minute records the citizen), as in
    # the wrk benchmark's steady state, where 5,000 citizens write every few seconds.
    warm = requests_for((f"o_bench_{user:06d}", "帮助") for user in range(5000))
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite:///{tmp}/bot.db"
        for target in targets:
            if target == "floor":
                figures[target] = measure("floor", floor_app, batches, warm, args.top)
            elif target == "embedded":
                figures[target] = measure("embedded", lambda: bot_app(sqlite, ""), batches, warm, args.top)
            elif target == "redis":
                import redis
                redis.Redis.from_url(REDIS_URL).flushdb()
                figures[target] = measure("redis", lambda: bot_app(sqlite, REDIS_URL), batches, warm, args.top)
            else:
                figures[target] = profile_quiz(args)
    if args.target == "all" and not args.top:
        write_figures(figures, args.requests)
    return 0


LABELS = {"floor": "floor (Flask + wechatpy), the stateless mix",
          "embedded": "bot, embedded (SQLite + in-process store), the stateless mix",
          "redis": "bot, Redis (SQLite for the citizens table), the stateless mix",
          "quiz": "bot, Redis + PostgreSQL, a stored quiz answer"}


def write_figures(figures: dict[str, tuple[float, float]], requests: int) -> None:
    floor_wall = figures["floor"][1]
    rows = [f"| {LABELS[name]} | {cpu:.0f} | {wall:.0f} | {floor_wall / wall:.2f} |"
            for name, (cpu, wall) in figures.items()]
    write_section("Webhook cost per message", (
        f"Command: `.venv/bin/python -m bench.profile_webhook --requests {requests}`\n\n"
        "In-process, one thread: the same pre-signed pushes (half AES) through the WSGI app without "
        "gunicorn or wrk, every openid seen once first; the best of three batches of fresh messages "
        "(this VM's speed wanders). Wall time includes waiting for Redis and PostgreSQL.\n\n"
        "| target | CPU µs | wall µs | floor wall / wall |\n|---|---|---|---|\n" + "\n".join(rows)))


def profile_quiz(args) -> tuple[float, float] | None:
    import redis
    redis.Redis.from_url(REDIS_URL).flushdb()
    users = max(args.requests // 5, 100)
    with scratch_postgres() as url:
        app = bot_app(url, REDIS_URL)
        client = app.test_client()
        start_rounds_in_process(client, users)
        answers = requests_for(quiz_answers(open_rounds(url), 6), aes_share=0.5)
        warm, rest = answers[:users], answers[users:]
        drive(app, warm)
        third = len(rest) // 3
        return measure("quiz", lambda: app, [rest[:third], rest[third:2 * third], rest[2 * third:]], [], args.top)


def start_rounds_in_process(client, users: int) -> None:
    for path, body in requests_for(((f"o_quiz_{u:06d}", "答题") for u in range(users)), aes_share=0):
        client.post(path, data=body)


if __name__ == "__main__":
    raise SystemExit(main())
