"""Where the machine's CPU goes per request under load: each process's CPU time (gunicorn workers,
redis-server, PostgreSQL backends, wrk) over a wrk run, divided by the requests served.

    .venv/bin/python -m bench.cpu_per_request

On a saturated 2-core machine, requests/s is 2 cores over the sum of these figures, so they say
what a target would have to shed to go faster. Writes "CPU per request" in bench/RESULTS.md.
Needs wrk, PostgreSQL and Redis (as bench.webhook_bench).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.apps.floor_shared import prepared  # noqa: E402
from bench.load import stateless_messages, write_requests  # noqa: E402
from bench.results import write_section  # noqa: E402
from bench.webhook_bench import bot_env, quiz_load, scratch_postgres, server, upgrade, wrk  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
REDIS_URL = "redis://127.0.0.1:6379/14"


def process_cpu() -> dict[int, tuple[str, float]]:
    """pid -> (what it is, CPU seconds so far) for every process."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(pid)] = (kind_of(cmdline, stat), (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def kind_of(cmdline: str, stat: str) -> str:
    if "gunicorn" in cmdline:
        return "gunicorn (workers and master)"
    if "redis-server" in cmdline:
        return "redis-server"
    if cmdline.startswith("postgres"):
        return "PostgreSQL"
    return "everything else (kernel threads, this script, idle services)"


def measure(base: str, requests_file: Path, seconds: int, connections: int) -> tuple[dict[str, float], dict]:
    before, children = process_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = wrk(base, requests_file, seconds, connections)
    after, children_after = process_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    per_kind: dict[str, float] = defaultdict(float)
    for pid, (kind, cpu) in after.items():
        per_kind[kind] += cpu - before.get(pid, (kind, 0.0))[1]
    # wrk is this script's child and gone by now: its CPU is in RUSAGE_CHILDREN.
    per_kind["wrk"] = (children_after.ru_utime + children_after.ru_stime) - (children.ru_utime + children.ru_stime)
    return {k: v / result["requests"] * 1e6 for k, v in per_kind.items()}, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="smb-cpu-"))
    warm, load = work / "warm.txt", work / "load.txt"
    write_requests(warm, stateless_messages(30_000, 5_000, seed=40))
    write_requests(load, stateless_messages(args.duration * 6_000, 5_000, seed=41))
    subprocess.run(["redis-cli", "-n", "14", "flushdb"], check=True, capture_output=True)
    rows = []
    with scratch_postgres() as pg:
        upgrade(pg, REDIS_URL)
        shared = prepared(pg, REDIS_URL)
        for label, app, env, quiz in [("floor (Flask + wechatpy)", "bench.apps.floor:app", {}, False),
                                      ("WeRoBot echo", "bench.apps.werobot_echo:app", {}, False),
                                      ("bot, Redis + PostgreSQL, stateless mix", "bot:create_app()",
                                       bot_env(pg, REDIS_URL), False),
                                      ("bot, Redis + PostgreSQL, quiz answers", "bot:create_app()",
                                       bot_env(pg, REDIS_URL), True),
                                      ("stateless ceiling (floor + one Redis read)", "bench.apps.floor_shared:stateless",
                                       shared, False),
                                      ("stateful ceiling (floor + claim/lock, INSERT, save/unlock)",
                                       "bench.apps.floor_shared:stateful", shared, False)]:
            with server(app, 2, env) as (base, _):
                wrk(base, warm, 4, args.connections)
                file = quiz_load(base, pg, work, 0, 3_000)[0] if quiz else load
                costs, result = measure(base, file, args.duration, args.connections)
            rows.append((label, result, costs))
            print(label, f"{result['rps']:.0f} req/s", {k: round(v) for k, v in costs.items()}, flush=True)
    kinds = ["gunicorn (workers and master)", "redis-server", "PostgreSQL", "wrk",
             "everything else (kernel threads, this script, idle services)"]
    table = ["| target | req/s | " + " | ".join(kinds) + " | total |", "|---" * (len(kinds) + 3) + "|"]
    for label, result, costs in rows:
        cells = " | ".join(f"{costs.get(k, 0):.0f}" for k in kinds)
        table.append(f"| {label} | {result['rps']:.0f} | {cells} | {sum(costs.values()):.0f} |")
    write_section("CPU per request", (
        f"Command: `.venv/bin/python -m bench.cpu_per_request --duration {args.duration} --connections "
        f"{args.connections}`\n\nCPU µs per request served, by process, over one {args.duration} s wrk run at "
        f"{args.connections} connections (gunicorn gthread, 2 workers x 8 threads, as in the throughput "
        "benchmark; the quiz row: 3,000 players answering whole rounds). The machine has 2 cores: "
        "req/s ≈ 2,000,000 / total when it is saturated.\n\n" + "\n".join(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
