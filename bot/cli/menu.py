"""`python -m bot menu show|sync`: print the custom menu's payload, or push it through the WeChat API."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from bot.cli.base import Commands
from bot.config import Config

commands = Commands()

log = logging.getLogger(__name__)


class MenuSyncError(Exception):
    """The menu could not be pushed; the message says why."""


# menu/create's refusals, for staff ([D] 创建自定义菜单 createCustomMenu and 全局返回码).
MENU_ERRORS = {
    40016: "一级菜单数量不对：应为 1 到 3 个。",
    40017: "一级菜单的类型不对（应为 click、view 等微信支持的类型）。",
    40018: "一级菜单名称为空或太长：最多 16 个字节（约 5 个汉字）。",
    40019: "一级菜单的 key 为空或太长：点击类菜单必须有 key，最多 128 个字节。",
    40020: "一级菜单的网址为空或太长：view 类菜单必须有网址，最多 1024 个字节。",
    40023: "子菜单数量不对：每个一级菜单下最多 5 个。",
    40024: "子菜单的类型不对（应为 click、view 等微信支持的类型）。",
    40025: "子菜单名称为空或太长：最多 60 个字节。",
    40026: "子菜单的 key 为空或太长：点击类菜单必须有 key，最多 128 个字节。",
    40027: "子菜单的网址为空或太长：view 类菜单必须有网址，最多 1024 个字节。",
    40054: "子菜单网址的域名不被允许。",
    40055: "一级菜单网址的域名不被允许。",
    48001: "公众号没有自定义菜单接口的权限（未认证的订阅号不能用接口设置菜单）。",
}


def menu_error_text(exc: Exception) -> str:
    """The refusal in Chinese, with WeChat's own code and words kept for a technician."""
    errcode = getattr(exc, "errcode", None)
    advice = MENU_ERRORS.get(errcode) if isinstance(errcode, int) else None
    if advice is None:
        return f"微信拒绝了菜单：{exc}"
    return f"微信拒绝了菜单：{advice}请修改 content/menu.toml 后重试。（微信返回 {errcode}：{exc.errmsg}）"  # type: ignore[attr-defined]


def sync_menu(bot: Any) -> dict[str, Any]:
    """Push the loaded content's menu through `bot.extensions["api"]`; returns the payload sent."""
    from bot.services.menu import build_menu_payload

    api = bot.extensions.get("api")
    if api is None:
        raise MenuSyncError("没有可用的微信接口客户端（bot.extensions['api'] 未设置），菜单无法推送；"
                            "可用 `python -m bot menu show` 查看菜单内容")
    payload = build_menu_payload(bot.content.menu)
    try:
        api.create_menu(payload)
    except Exception as exc:  # WeChatAPIError(errcode, errmsg), or the network
        raise MenuSyncError(menu_error_text(exc)) from exc
    return payload


def _menu_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show", "sync"])


@commands.add("menu", "custom menu: `menu show` prints content/menu.toml as WeChat JSON, `menu sync` pushes it",
              _menu_args)
def menu(args: argparse.Namespace, config: Config) -> int:
    from bot.cli.content import reported_problems

    if reported_problems(config):
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
        sys.stderr.write(f"错误：{exc}\n")
        return 2
    finally:
        bot.close()
    log.info("menu pushed; WeChat clients show it within about 5 minutes")
    return 0
