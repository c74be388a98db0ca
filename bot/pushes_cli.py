"""Subcommands of the pushes feature: `outbox`, `scheduler`, `broadcast`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from bot.cli import command
from bot.config import Config

log = logging.getLogger(__name__)


def _bot(config: Config) -> Any:
    from bot import create_app

    return create_app(config).extensions["bot"]


def stop_on_signals() -> threading.Event:
    """SIGTERM / Ctrl-C set the event: loops finish their calls in flight, then return."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _outbox_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["send", "status", "uncertain", "requeue"])
    p.add_argument("--loop", action="store_true", help="send: keep running until stopped")
    p.add_argument("ids", nargs="*", type=int, help="requeue: delivery ids (default: every uncertain one)")


@command("outbox", "outbox: `send [--loop]`, `status`, `uncertain` (list), `requeue [ids]`", _outbox_args)
def outbox(args: argparse.Namespace, config: Config) -> int:
    from bot.sender import Sender
    from bot.services import outbox as service

    bot = _bot(config)
    try:
        if args.action == "send":
            sender = Sender.from_bot(bot)
            if args.loop:
                sender.run(stop_on_signals())
            else:
                sys.stdout.write(f"delivered {sender.drain()} rows\n")
        elif args.action == "status":
            with bot.db.session() as session:
                for status, count in sorted(service.status_counts(session).items()):
                    sys.stdout.write(f"{status}\t{count}\n")
        elif args.action == "uncertain":
            with bot.db.session() as session:
                for row in service.uncertain(session):
                    sys.stdout.write(f"{row.id}\t{row.key}\t{row.openid or row.audience}\t{row.last_error}\n")
        else:
            with bot.db.session() as session:
                count = service.requeue(session, args.ids or None, bot.clock.now())
                session.commit()
            sys.stdout.write(f"requeued {count} rows\n")
    finally:
        bot.close()
    return 0


@command("scheduler", "run the scheduler (one leader across processes) and a sender loop until stopped")
def scheduler(args: argparse.Namespace, config: Config) -> int:
    from bot.scheduler import Workers

    bot = _bot(config)
    stop = stop_on_signals()
    workers = Workers(bot).start()
    log.info("scheduler and sender running; stop with Ctrl-C or SIGTERM")
    try:
        stop.wait()
    finally:
        workers.stop()
        bot.close()
    return 0
