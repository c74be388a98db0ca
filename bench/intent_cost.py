"""What the intent layer costs a serving process (issue 21 item 8): CPU per message and memory.

One process, two apps on the same SQLite file and content: one with the routers of handlers.ROUTERS,
one without the intent layer (its router taken out of the dispatcher: knowledge search and the short
help then answer what it took). The same pre-signed pushes go through both, interleaved batch by
batch, so that this VM's drifting speed hits both alike; each side's figure is its best batch.

- the stateless mix of bench/load.py (17 texts, as bench.profile_webhook and bench.webhook_bench
  send them: a text repeats, so its guess is cached after the first);
- the classifier alone on the 240 distinct messages of tests/understanding_cases.py, its cache
  emptied: what a message never seen before costs to understand (the worst case; the features a
  guess then serves cost what they cost without it).

Memory: the Python heap the intent model holds once loaded (tracemalloc); bench/worker_rss.py gives
a serving process's RSS.

    .venv/bin/python -m bench.intent_cost
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import signed_pushes, stateless_messages  # noqa: E402
from bench.profile_webhook import bot_app, drive  # noqa: E402
from bench.results import write_section  # noqa: E402

COMMAND = ".venv/bin/python -m bench.intent_cost"


def _without_intents(app):
    from bot.chat.routing import Dispatcher
    from handlers import ROUTERS, intent

    bot = app.extensions["bot"]
    bot.dispatcher = Dispatcher([r for r in ROUTERS if r is not intent.router])
    return app


def _pushes(texts: list[str], start: int) -> list[tuple[str, bytes]]:
    messages = ((f"o_bench_{start + n:06d}", text) for n, text in enumerate(texts))
    return [(path, body.encode()) for path, body in signed_pushes(messages, aes_share=0.5, seed=start)]


def compare(with_intents, without, batches: list[list[tuple[str, bytes]]]) -> tuple[float, float]:
    best = {"with": float("inf"), "without": float("inf")}
    for n, batch in enumerate(batches):
        order = [("with", with_intents), ("without", without)] if n % 2 == 0 else [("without", without), ("with", with_intents)]
        for name, app in order:
            cpu, _wall = drive(app, batch)
            best[name] = min(best[name], cpu)
    return best["with"], best["without"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    from bot.content import load_content
    from bot.services.intents import load_intents
    from tests.understanding_cases import CASES

    tracemalloc.start()
    load_intents(ROOT / "content")
    model_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    load_content(ROOT / "content")  # warm the imports before the RSS is read
    rows = []
    added = []
    # The app made first runs slower in one process (an A/A run showed ~100 µs), so each order is run
    # once and the two differences are averaged.
    for first in ("with", "without"):
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = f"sqlite:///{tmp}/bot.db"
            made = {}
            for name in (first, "without" if first == "with" else "with"):
                app = bot_app(sqlite, "")
                made[name] = app if name == "with" else _without_intents(app)
            warm = _pushes(["帮助"] * 5000, 0)  # every openid known, as in the other benches
            for app in made.values():
                drive(app, warm)
            mix = [_mix(args.requests, 10 + n) for n in range(args.batches)]
            with_cpu, without_cpu = compare(made["with"], made["without"], mix)
            added.append(with_cpu - without_cpu)
            rows.append(f"| stateless mix (17 texts, cached after the first), the app {first} the intent layer made "
                        f"first | {without_cpu:.0f} | {with_cpu:.0f} | {with_cpu - without_cpu:+.0f} |")
            model = made["with"].extensions["bot"].content.intents
        guess_us = _guess_cost(model, [text for text, _ in CASES], args.batches)
    rows.append(f"| **added, the two orders averaged** | | | **{sum(added) / len(added):+.0f}** |")
    body = (f"Command: `{COMMAND} --batches {args.batches} --requests {args.requests}`\n\n"
            "One process, two apps (with and without the intent layer's router), the same pre-signed pushes "
            "(half AES) through the WSGI app, batches interleaved; the best batch of each (this VM is shared "
            "and its speed wanders). CPU µs per message:\n\n"
            "| messages | without intent layer | with | added |\n|---|---:|---:|---:|\n" + "\n".join(rows) + "\n\n"
            f"- the classifier alone, a message never seen before (240 distinct, uncached; best of {args.batches} "
            f"passes): {guess_us:.0f} µs per message\n"
            f"- the intent model's Python heap once loaded: {model_mb:.1f} MB (tracemalloc); a serving process's RSS "
            "before and after: `.venv/bin/python -m bench.worker_rss` in each tree\n"
            "- serving never imports scikit-learn, numpy or scipy (tests/test_intents.py checks it in a subprocess)")
    print(body)
    if not args.no_write:
        write_section("Intent layer cost", body)
    return 0


def _guess_cost(model, texts: list[str], passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        model.guess.cache_clear()
        started = time.process_time()
        for text in texts:
            model.guess(text)
        best = min(best, (time.process_time() - started) / len(texts) * 1e6)
    return best


def _mix(count: int, seed: int) -> list[tuple[str, bytes]]:
    return [(path, body.encode()) for path, body in signed_pushes(stateless_messages(count, 5000, seed=seed), 0.5, seed)]


if __name__ == "__main__":
    raise SystemExit(main())
