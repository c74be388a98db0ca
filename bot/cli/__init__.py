"""Command line: `python -m bot --help` lists everything.

Each module below holds one group of subcommands (`commands = Commands()`, see bot/cli/base.py);
GROUPS lists them, in the order --help shows them. They are imported when the parser is built, so
`import bot.cli.base` stays light and no command module imports this one.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.config import ConfigError, load_config
from bot.content import ContentError
from bot.infra.observability import configure_logging
from bot.version import VERSION

GROUPS: tuple[str, ...] = (
    "bot.cli.serve",
    "bot.cli.db",
    "bot.cli.backup",
    "bot.cli.keys",
    "bot.cli.content",
    "bot.cli.demo",
    "bot.cli.staff",
    "bot.cli.menu",
    "bot.cli.quiz",
    "bot.cli.reports",
    "bot.cli.understanding",
    "bot.cli.pushes",
    "bot.cli.flows",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Safety Month Bot (安全生产月公众号后台)")
    parser.add_argument("--config", help="config file (default: env BOT_CONFIG or config.toml)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        for command in importlib.import_module(group).commands:
            p = sub.add_parser(command.name, help=command.help, description=command.help)
            command.configure(p)
            p.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        # One JSON object a line in production; gunicorn's workers inherit this from the master.
        configure_logging(config.server.mode)
        return int(args.run(args, config) or 0)
    except (ConfigError, ContentError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
