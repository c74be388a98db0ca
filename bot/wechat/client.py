"""The process's WeChat API client, built from config once by create_app (`bot.extensions["api"]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Config
from bot.infra.store import Store
from bot.wechat.api import WeChatAPI

if TYPE_CHECKING:
    from flask import Flask

    from bot.runtime import Bot


def build_api(config: Config, store: Store, clock: Clock | None = None) -> WeChatAPI:
    return WeChatAPI(config.wechat.app_id, config.wechat.app_secret, config.wechat.api_base_url, store,
                     timeout=config.wechat.request_timeout_seconds,
                     pool_size=max(10, config.push.sender_concurrency + 4), clock=clock)


def init_app(app: Flask, bot: Bot) -> None:
    bot.extensions.setdefault("api", build_api(bot.config, bot.store, bot.clock))
