"""Leaderboard benchmark: rank lookups and top-10 with N participants, on Redis and on PostgreSQL.

    python bench/leaderboard_bench.py [--participants 1000000] [--lookups 2000] [--db-lookups 300]
        [--pg-admin postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--redis redis://127.0.0.1:6379/14]

Creates a scratch PostgreSQL database (dropped afterwards) and uses its own Redis key prefix (deleted
afterwards). Bulk-loads with COPY and pipelined ZADD, then times the same calls the bot makes
(RedisBoard / DbBoard .standing and .top(10)). Prints the figures and rewrites the "Leaderboard"
section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import shanghai  # noqa: E402
from bot.infra.db import Database  # noqa: E402
from bot.infra.migrate import upgrade  # noqa: E402
from bot.infra.store import RedisStore  # noqa: E402
from bot.services.quiz import leaderboard  # noqa: E402


def rows(n: int, seed: int = 1):
    rng = random.Random(seed)
    start = shanghai(2021, 6, 1, 8)
    for i in range(n):
        score = min(5, int(rng.triangular(0, 6, 5)))
        duration = rng.randrange(10, 600)
        finished = start + dt.timedelta(seconds=rng.randrange(30 * 86400))
        yield f"o{i:010d}{rng.choice('abcXYZ_-')}", i + 1, score, 5, duration, finished, \
            leaderboard.rank_key(score, duration, finished)


def timed(calls: list[Callable[[], object]]) -> list[float]:
    out = []
    for call in calls:
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(ms: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return q[49], q[98]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--participants", type=int, default=1_000_000)
    p.add_argument("--lookups", type=int, default=2000)
    p.add_argument("--db-lookups", type=int, default=300)
    p.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = p.parse_args()
    n = args.participants
    name = f"smb_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = args.pg_admin.rsplit("/", 1)[0] + "/" + name
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    store = RedisStore(args.redis, prefix=prefix)
    raw = redis.Redis.from_url(args.redis)
    results: dict[str, tuple[float, float]] = {}
    try:
        upgrade(url)
        db = Database(url)
        t0 = time.perf_counter()
        with db.engine.begin() as conn:
            # The benchmark loads the leaderboard table alone, without 1M rounds behind it.
            conn.exec_driver_sql("ALTER TABLE quiz_best DROP CONSTRAINT fk_quiz_best_round_id_quiz_rounds")
            cursor = conn.connection.driver_connection.cursor()
            with cursor.copy("COPY quiz_best (openid, round_id, score, total, duration_seconds, finished_at, rank_key)"
                             " FROM STDIN") as copy:
                for row in rows(n):
                    copy.write_row(row)
            conn.exec_driver_sql("ANALYZE quiz_best")
        pg_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        pipe = raw.pipeline(transaction=False)
        chunk: dict[str, float] = {}
        for openid, *_rest, key in rows(n):
            chunk[openid] = float(key)
            if len(chunk) == 10_000:
                pipe.zadd(prefix + leaderboard.KEY, chunk)
                chunk = {}
                if len(pipe) >= 20:
                    pipe.execute()
        if chunk:
            pipe.zadd(prefix + leaderboard.KEY, chunk)
        pipe.execute()
        redis_load = time.perf_counter() - t0
        sample = [row[0] for row in rows(n)][:: max(1, n // args.lookups)][: args.lookups]
        random.Random(3).shuffle(sample)
        redis_board = leaderboard.RedisBoard(store)
        with db.session() as session:
            db_board = leaderboard.DbBoard(session)
            assert redis_board.size() == db_board.size() == n
            for openid in sample[:50]:
                assert redis_board.standing(openid) == db_board.standing(openid)
            assert redis_board.top(10) == db_board.top(10)
            results["Redis rank lookup (ZSCORE+ZRANK)"] = pct(timed([lambda o=o: redis_board.standing(o) for o in sample]))
            results["Redis top-10 (ZRANGE)"] = pct(timed([lambda: redis_board.top(10)] * 500))
            results["PostgreSQL rank lookup (COUNT on rank index)"] = pct(
                timed([lambda o=o: db_board.standing(o) for o in sample[: args.db_lookups]]))
            results["PostgreSQL top-10 (index scan)"] = pct(timed([lambda: db_board.top(10)] * 500))
        db.dispose()
    finally:
        raw.delete(prefix + leaderboard.KEY)
        raw.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    command = "python bench/leaderboard_bench.py " + " ".join(sys.argv[1:])
    lines = ["## Leaderboard", "",
             f"Command: `{command.strip()}` (from the repository root, local PostgreSQL and Redis).",
             "",
             f"{n:,} participants; load: PostgreSQL COPY {pg_load:.1f} s, Redis pipelined ZADD {redis_load:.1f} s.",
             f"Lookups: {args.lookups} random participants on Redis, {args.db_lookups} on PostgreSQL; 500 top-10 calls each.",
             "", "| operation | p50 ms | p99 ms |", "|---|---|---|"]
    lines += [f"| {what} | {p50:.3f} | {p99:.3f} |" for what, (p50, p99) in results.items()]
    lines += ["", "Both paths were checked to give identical standings and top-10 before timing.",
              "Target: a Redis rank lookup well under 5 ms.", ""]
    section = "\n".join(lines)
    print(section)
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n\n"
    pattern = re.compile(r"## Leaderboard\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(section.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
