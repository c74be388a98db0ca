"""What the intent layer costs a message, in instructions rather than seconds (issue 21 item 8).

bench.intent_cost times the same thing, but on this shared 2-CPU VM its A/A runs differ by up to
~100 µs, more than the budget it checks. Valgrind's callgrind counts the instructions a process
executes, which repeat for the same code and input whatever else the machine is doing. Each figure
is the difference between two processes that do the same start-up and warm-up and then send N or 0
pushes through the WSGI app, so start-up cancels out and what is left is N messages' work.

Two mixes, each with and without the intent layer's router (the rest of the dispatcher the same):
- stateless: the 17-text mix of bench/load.py that bench.webhook_bench and bench.profile_webhook
  send (a text repeats, so its guess is cached after the first), half of it AES-encrypted;
- unseen: the 240 distinct messages of tests/understanding_cases.py, each guessed for the first
  time (the worst case for the classifier; the features it then serves cost what they cost).

    .venv/bin/python -m bench.intent_instructions           # needs valgrind (apt-get install valgrind)
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMAND = ".venv/bin/python -m bench.intent_instructions"
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def _pushes(mix: str, count: int) -> list[tuple[str, bytes]]:
    from bench.load import signed_pushes, stateless_messages
    from tests.understanding_cases import CASES

    if mix == "stateless":
        messages = stateless_messages(count, 5000, seed=10)
    else:
        texts = [text for text, _ in CASES][:count]
        messages = ((f"o_unseen_{n:04d}", text) for n, text in enumerate(texts))
    return [(path, body.encode()) for path, body in signed_pushes(messages, 0.5, 10)]


def child(side: str, mix: str, count: int) -> None:
    """One measured process: start the app, warm it, send `count` pushes of the mix, exit."""
    logging.disable(logging.CRITICAL)
    from bench.intent_cost import _without_intents
    from bench.profile_webhook import bot_app, drive

    with tempfile.TemporaryDirectory() as tmp:
        app = bot_app(f"sqlite:///{tmp}/bot.db", "")
        if side == "without":
            _without_intents(app)
        drive(app, _pushes("stateless", 50))  # the first request's lazy imports, in both processes alike
        pushes = _pushes(mix, count)  # built (and signed) in both processes: only sending them differs
        if count:
            drive(app, pushes)
        app.extensions["bot"].close()


def instructions(side: str, mix: str, count: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, "-m",
             "bench.intent_instructions", "--child", side, mix, str(count)],
            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True)
    return int(COLLECTED.findall(result.stderr)[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("SIDE", "MIX", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--messages", type=int, default=960, help="stateless pushes per process")
    parser.add_argument("--repeat", type=int, default=2, help="each pair of processes run this many times")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.child:
        side, mix, count = args.child
        child(side, mix, int(count))
        return 0
    from bench.results import write_section

    rows = []
    # The unseen mix has 240 distinct messages; a repeat would be cached, so it is never longer.
    for mix, count in (("stateless", args.messages), ("unseen", min(args.messages, 240))):
        per_message: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(args.repeat):
            for side in ("without", "with"):
                base = instructions(side, mix, 0)
                loaded = instructions(side, mix, count)
                per_message[side].append((loaded - base) / count)
                print(f"{mix} {side}: {base:,} + {loaded - base:,} instructions for {count} messages", flush=True)
        without, with_ = (sum(v) / len(v) for v in (per_message["without"], per_message["with"]))
        spread = max(max(v) - min(v) for v in per_message.values())
        rows.append(f"| {mix} ({count}) | {without:,.0f} | {with_:,.0f} | {with_ - without:+,.0f} "
                    f"| {(with_ - without) / without:+.1%} | {spread:,.0f} |")
    body = (f"Command: `{COMMAND} --messages {args.messages} --repeat {args.repeat}`\n\n"
            "Instructions per message (callgrind; each the difference of a process sending N pushes and one "
            "sending none, start-up and warm-up alike), through the WSGI app on SQLite, with and without the "
            "intent layer's router:\n\n"
            f"| mix (messages) | without intent layer | with | added | added share | spread of {args.repeat} runs |\n"
            "|---|---:|---:|---:|---:|---:|\n"
            + "\n".join(rows) + "\n\n"
            "- instructions are not seconds, but on one CPU they are what a worker's throughput is paid in: "
            "the added share is the throughput a CPU-bound worker would lose to the intent layer\n"
            "- spread: the largest difference between runs of one side (per message); start-up is not exactly "
            "repeatable (fresh secrets, temporary paths, the wall clock in signatures), so a figure inside the "
            "spread is not told apart from zero")
    print(body)
    if not args.no_write:
        write_section("Intent layer cost in instructions", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
