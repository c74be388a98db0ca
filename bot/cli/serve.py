"""`python -m bot serve`: gunicorn with the app factory `bot:create_app()`."""

from __future__ import annotations

import argparse

from gunicorn.app.base import BaseApplication
from gunicorn.config import Config as GunicornConfig
from gunicorn.glogging import Logger

from bot.cli.base import Commands, upgrade_sqlite
from bot.config import Config, ConfigError
from bot.infra.observability import JsonFormatter, RedactSecrets

commands = Commands()

# gunicorn's default with the path instead of the request line (%(r)s holds the query: a push's
# signature, timestamp, nonce and openid, enough to replay it and to tie a citizen to their flow)
# and without the referer, which can carry a console page's query.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


class RedactingLogger(Logger):
    """gunicorn's logger whose handlers redact query secrets from every line, its error lines too
    ("Error handling request /wechat?signature=..." names the full URI)."""

    def setup(self, cfg: GunicornConfig) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers + self.access_log.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())


class JsonRedactingLogger(RedactingLogger):
    """Production: gunicorn's own lines (booting, worker exits, the access log) as one JSON object a
    line, like the bot's (bot/infra/observability.py), so that the journal holds one format to search."""

    def setup(self, cfg: GunicornConfig) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers + self.access_log.handlers:
            handler.setFormatter(JsonFormatter())


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from bot import create_app

        return create_app()


def gunicorn_options(host: str, port: int, workers: int, *, json_logs: bool = False,
                     **extra: object) -> dict[str, object]:
    logger = "JsonRedactingLogger" if json_logs else "RedactingLogger"
    return {"bind": f"{host}:{port}", "workers": workers, "timeout": 30, "graceful_timeout": 10,
            "accesslog": "-", "loglevel": "info", "access_log_format": ACCESS_LOG_FORMAT,
            "logger_class": f"bot.cli.serve.{logger}", **extra}


def run_gunicorn(host: str, port: int, workers: int, *, json_logs: bool = False, **extra: object) -> int:
    _Gunicorn(gunicorn_options(host, port, workers, json_logs=json_logs, **extra)).run()
    return 0


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)


@commands.add("serve", "run the server under gunicorn (production entry point)", _serve_args)
def serve(args: argparse.Namespace, config: Config) -> int:
    if args.workers > 1 and not config.redis.url:
        raise ConfigError("--workers > 1 needs [redis] url: the in-process store cannot be shared between workers")
    upgrade_sqlite(config)
    return run_gunicorn(args.host, args.port, args.workers, json_logs=config.server.mode == "production")
