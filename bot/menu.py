"""`python -m bot menu show|sync`: print the custom menu's payload, or push it through the WeChat API."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from bot.cli import command
from bot.config import Config

log = logging.getLogger(__name__)


class MenuSyncError(Exception):
    """The menu could not be pushed; the message says why."""


def sync_menu(bot: Any) -> dict[str, Any]:
    """Push the loaded content's menu through `bot.extensions["api"]`; returns the payload sent."""
    from bot.services.menu import build_menu_payload

    api = bot.extensions.get("api")
    if api is None:
        raise MenuSyncError("the WeChat API client is not available (bot.extensions['api'] is not set up), "
                            "so the menu cannot be pushed; `python -m bot menu show` prints it")
    payload = build_menu_payload(bot.content.menu)
    try:
        api.create_menu(payload)
    except Exception as exc:  # WeChatAPIError(errcode, errmsg), or the network
        raise MenuSyncError(f"WeChat refused the menu: {exc}") from exc
    return payload


def _menu_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show", "sync"])


@command("menu", "custom menu: `menu show` prints content/menu.toml as WeChat JSON, `menu sync` pushes it",
         _menu_args)
def menu(args: argparse.Namespace, config: Config) -> int:
    from bot.checks import check_content

    problems = check_content(config)
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    if problems:
        return 1
    if args.action == "show":
        from bot.content import load_content
        from bot.runtime import content_dir
        from bot.services.menu import build_menu_payload

        payload = build_menu_payload(load_content(content_dir(config)).menu)
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return 0
    from bot import create_app

    app = create_app(config)
    bot = app.extensions["bot"]
    try:
        sync_menu(bot)
    except MenuSyncError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    finally:
        bot.close()
    log.info("menu pushed; WeChat clients show it within about 5 minutes")
    return 0
