"""Safety Month Bot: the backend of a county 安全生产月 WeChat official account.

`create_app()` is the only builder; importing this package connects to nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask

from bot.config import Config, load_config


def create_app(config: Config | None = None, **collaborators: Any) -> Flask:
    """Build the Flask app. `collaborators` (clock, store, routers) replace the defaults in tests."""
    from bot.chat import webhook
    from bot.runtime import Bot

    config = config or load_config()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.server.max_body_bytes
    app.config["SECRET_KEY"] = config.server.secret_key or "dev-only-" + config.wechat.token
    bot = Bot(config, **collaborators)
    app.extensions["bot"] = bot
    app.register_blueprint(webhook.bp)
    app.wsgi_app = webhook.PushesBelowFlask(app.wsgi_app, bot, config.server.max_body_bytes)  # type: ignore[method-assign]
    for module in FEATURES:
        importlib.import_module(module).init_app(app, bot)
    _trust_proxies(app, config.server.proxy_hops)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Read the client's address from X-Forwarded-For only through the configured number of proxies
    (the last `hops` entries, which those proxies wrote); with none, a client-sent header is ignored."""
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


# Parts that add blueprints or collaborators; each module has `init_app(app, bot)`.
FEATURES: tuple[str, ...] = (
    "bot.infra.headers",
    "bot.infra.metrics",
    "bot.wechat.client",
    "bot.console",
    "bot.dev.simulator",
    "bot.infra.error_pages",
)
