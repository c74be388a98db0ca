"""Subcommands of the pushes feature: `outbox`, `scheduler`, `broadcast`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from bot.cli.base import Commands
from bot.config import Config

commands = Commands()

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


def tune_threads() -> None:
    """The sender's loop thread waits on the database while its pool threads hold the GIL; with
    the default 5 ms switch interval every round trip can cost 5 ms. 1 ms keeps the loop fed."""
    sys.setswitchinterval(0.001)


def _outbox_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["send", "status", "uncertain", "requeue"])
    p.add_argument("--loop", action="store_true", help="send: keep running until stopped")
    p.add_argument("ids", nargs="*", type=int, help="requeue: delivery ids (default: every uncertain one)")


@commands.add("outbox", "outbox: `send [--loop]`, `status`, `uncertain` (list), `requeue [ids]`", _outbox_args)
def outbox(args: argparse.Namespace, config: Config) -> int:
    from bot.background.sender import Sender
    from bot.services import outbox as service

    bot = _bot(config)
    try:
        if args.action == "send":
            sender = Sender.from_bot(bot)
            if args.loop:
                tune_threads()
                sender.run(stop_on_signals())
            else:
                sys.stdout.write(f"已发送 {sender.drain()} 条\n")
        elif args.action == "status":
            with bot.db.session() as session:
                counts = service.status_counts(session)
            sys.stdout.write(status_lines(counts))
            sys.stdout.write(token_pause_line(bot.extensions["api"]) + "\n")
        elif args.action == "uncertain":
            with bot.db.session() as session:
                for row in service.uncertain(session):
                    sys.stdout.write(uncertain_line(row))
        else:
            with bot.db.transaction() as session:
                count = service.requeue(session, args.ids or None, bot.clock.now())
            sys.stdout.write(f"已重新排队 {count} 条\n")
    finally:
        bot.close()
    return 0


# The outbox's states for IT staff: the Chinese word first, the stored value after it (for SQL / logs).
OUTBOX_STATUSES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败",
                   "undeliverable": "无法送达", "cancelled": "已取消", "uncertain": "不确定是否送达"}
# Which setting fixes a token refusal (IT staff read `outbox status` on the server; the console never
# shows these names). Codes without an entry are fixed on the WeChat platform, not in our config.
TOKEN_PAUSE_CONFIG = {40125: ("[wechat] app_secret", "BOT_WECHAT_APP_SECRET"),
                      40013: ("[wechat] app_id", "BOT_WECHAT_APP_ID")}


def status_lines(counts: dict[str, int]) -> str:
    """`outbox status`: one line per state, 中文状态<TAB>stored value<TAB>count."""
    if not counts:
        return "发送队列为空\n"
    return "".join(f"{OUTBOX_STATUSES.get(status, status)}\t{status}\t{count}\n"
                   for status, count in sorted(counts.items()))


def uncertain_line(row: Any) -> str:
    """One line for `outbox uncertain`: id, key, recipient, and why it is uncertain in Chinese (the
    sender and WeChat write English; bot/services/notices.py translates it)."""
    from bot.services.notices import error_text

    parts = (row.payload or {}).get("parts_sent")
    resume = f"（长消息已确认发出前 {parts} 段，重发从第 {parts + 1} 段起）" if parts else ""
    return f"{row.id}\t{row.key}\t{row.openid or row.audience}\t{error_text(row.last_error, row.last_errcode)}{resume}\n"


def token_pause_line(api: Any) -> str:
    """One line for `outbox status`: whether the senders are paused for want of an access token."""
    pause = api.token_pause()
    if pause is None:
        return "微信接口：正常（access_token 可获取）"
    return (f"微信接口：已暂停发送，至 {pause.until:%Y-%m-%d %H:%M:%S}（自 {pause.since:%H:%M:%S} 起），"
            f"待发送的推送保留不丢。原因：{pause.reason}{_config_hint(pause.errcode)}")


def _config_hint(errcode: int) -> str:
    setting = TOKEN_PAUSE_CONFIG.get(errcode)
    if setting is None:
        return ""
    return f"（要改的配置：config.toml 的 {setting[0]}，或环境变量 {setting[1]}）"


@commands.add("scheduler", "run the scheduler (one leader across processes) and a sender loop until stopped")
def scheduler(args: argparse.Namespace, config: Config) -> int:
    from bot.background.scheduler import Workers

    bot = _bot(config)
    stop = stop_on_signals()
    tune_threads()
    workers = Workers(bot).start()
    log.info("scheduler and sender running; stop with Ctrl-C or SIGTERM")
    try:
        stop.wait()
    finally:
        workers.stop()
        bot.close()
    return 0


def _broadcast_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = sub.add_parser("compose", help="write a broadcast (a draft)")
    c.add_argument("--title", required=True, help="for staff (and the news headline)")
    c.add_argument("--text", help="a text message")
    c.add_argument("--body", help="a news article (图文): its text, a blank line between paragraphs; "
                                  "the title is --title")
    c.add_argument("--description", default="", help="a news article: its digest (摘要, ≤ 128 characters)")
    c.add_argument("--cover", default="covers/default.png", help="a news article: cover image under content/")
    c.add_argument("--url", default="", help="a news article: the 阅读原文 link (optional)")
    c.add_argument("--audience", default="all", help="all | active | township:<id or name> | tag:<number>")
    c.add_argument("--by", default="cli", help="who composed it")
    for name, text in (("preview", "send it to test openids first"), ("send", "queue it now, or --at a later time"),
                       ("status", "progress: sent / failed / pending, and WeChat's counts"),
                       ("cancel", "stop what has not gone out")):
        q = sub.add_parser(name, help=text)
        q.add_argument("id", type=int)
        if name == "preview":
            q.add_argument("--to", required=True, help="comma-separated openids")
        if name == "send":
            q.add_argument("--at", help="Beijing time, e.g. 2021-06-02T20:00")
    sub.add_parser("list", help="recent broadcasts")


@commands.add("broadcast", "staff broadcasts: compose, preview, send [--at], status, cancel, list", _broadcast_args)
def broadcast(args: argparse.Namespace, config: Config) -> int:
    import datetime as dt

    from bot.clock import TZ
    from bot.runtime import content_dir
    from bot.services import broadcasts as service
    from bot.services.articles import article
    from bot.services.outbox import text_payload

    bot = _bot(config)
    out = sys.stdout.write
    try:
        with bot.db.transaction() as session:
            now = bot.clock.now()
            if args.action == "compose":
                if bool(args.text) == bool(args.body):
                    out("give either --text or --body (a news article)\n")
                    return 2
                payload = text_payload(args.text) if args.text else {"type": "news", "articles": [article(
                    title=args.title, digest=args.description, body=args.body, cover=args.cover,
                    source_url=args.url)]}
                item = service.compose(session, title=args.title, payload=payload, created_by=args.by, now=now,
                                       audience=service.parse_audience(args.audience, bot.content),
                                       content_dir=content_dir(bot.config))
                out(f"broadcast {item.id} drafted for {service.describe_audience(item.audience, bot.content)}\n")
            elif args.action == "preview":
                rows = service.preview(session, args.id, [o.strip() for o in args.to.split(",") if o.strip()], now)
                out(f"{len(rows)} previews queued\n")
            elif args.action == "send":
                at = dt.datetime.fromisoformat(args.at).replace(tzinfo=TZ) if args.at else None
                item = service.send(session, bot.content, bot.config, args.id, now, at)
                out(f"broadcast {item.id} {item.status}: {item.recipients} deliveries at {item.send_at:%Y-%m-%d %H:%M}\n")
            elif args.action == "status":
                p = service.progress(session, args.id)
                out(f"total {p.total}  sent {p.sent}  failed {p.failed}  pending {p.pending}  other {p.other}\n")
                for report in p.wechat:
                    out(f"WeChat: {report}\n")
            elif args.action == "cancel":
                out(f"{service.cancel(session, args.id, now)} deliveries cancelled\n")
            else:
                for item in service.listing(session):
                    out(f"{item.id}\t{item.status}\t{item.title}\t"
                        f"{service.describe_audience(item.audience, bot.content)}\n")
    except service.BroadcastRefused as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 1
    finally:
        bot.close()
    return 0
