"""`python -m bot db upgrade`: bring the schema up to date (Alembic)."""

from __future__ import annotations

import argparse
import logging

from bot.cli.base import Commands
from bot.config import Config

commands = Commands()
log = logging.getLogger(__name__)


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["upgrade"])


@commands.add("db", "database migrations: `db upgrade` brings the schema up to date", _db_args)
def db(args: argparse.Namespace, config: Config) -> int:
    from bot.infra.migrate import upgrade

    upgrade(config.database.url)
    log.info("database is up to date")
    return 0
