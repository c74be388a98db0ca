"""gunicorn, started from `python -m bot serve` with the app factory `bot:create_app()`."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # noqa: ANN201 - gunicorn's hook
        from bot import create_app

        return create_app()


def run_gunicorn(host: str, port: int, workers: int, **extra: object) -> int:
    options = {"bind": f"{host}:{port}", "workers": workers, "timeout": 30, "graceful_timeout": 10,
               "accesslog": "-", "loglevel": "info", **extra}
    _Gunicorn(options).run()
    return 0
