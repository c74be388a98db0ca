"""A serving process's memory: RSS after create_app (embedded) and after answering 3,000 messages of
the stateless mix, and whether scikit-learn got imported. Run it in two trees to compare releases.

    .venv/bin/python -m bench.worker_rss
"""

from __future__ import annotations

import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import stateless_messages
from bench.profile_webhook import bot_app, drive, requests_for


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.process_time()
        app = bot_app(f"sqlite:///{tmp}/bot.db", "")
        start_cpu = time.process_time() - started
        after_start = rss_mb()
        drive(app, requests_for(stateless_messages(3000, 5000, seed=5)))
        print(f"start {start_cpu:.2f} s CPU; RSS after start {after_start:.1f} MB, after 3,000 messages {rss_mb():.1f} MB "
              f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB); "
              f"scikit-learn imported: {'sklearn' in sys.modules}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
