"""`python -m bot demo`: the whole product in one process (the work is in bot.dev.demo)."""

from __future__ import annotations

import argparse

from bot.cli.base import Commands
from bot.config import Config

commands = Commands()


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--today", help="the simulated campaign day, YYYY-MM-DD, from 09:00 (default: the campaign's "
                                   "first day), or a moment, YYYY-MM-DDTHH:MM")


@commands.add("demo", "everything in one process: server, simulator, fake WeChat API, scheduler (SQLite, in-process store)",
              _demo_args)
def demo(args: argparse.Namespace, config: Config) -> int:
    from bot.dev.demo import run_demo

    return run_demo(config, args.host, args.port, args.today)
