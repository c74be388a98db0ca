"""The Bot: every long-lived collaborator of one process, built once by create_app."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.chat.dedupe import Dedupe
from bot.chat.gate import build_gate
from bot.chat.routing import Dispatcher
from bot.clock import TZ, Clock, SimulatedClock, SystemClock
from bot.config import PROJECT_ROOT, Config
from bot.content import Content, load_content
from bot.infra.db import Database
from bot.infra.last_seen import LastSeen
from bot.infra.observability import Metrics
from bot.infra.store import RedisStore, Store, build_store
from bot.services.content_edits import LiveContent
from bot.services.reports.identity import IdentityVault, vault_for
from bot.wechat.gateway import Gateway
from bot.wechat.replay import ReplayGuard


class Bot:
    def __init__(self, config: Config, *, clock: Clock | None = None, store: Store | None = None,
                 routers: list | None = None) -> None:
        self.config = config
        self.log = logging.getLogger("bot")
        self.clock = clock or default_clock(config)
        self._owns_store = store is None  # a store handed in (tests) is closed by whoever made it
        self.store = store if store is not None else build_store(config.redis.url)
        self.db = Database(config.database.url)
        # content/ as loaded at start, and what the process serves: it with the console's edits.
        self.seed_content: Content = load_content(content_dir(config))
        self.live_content = LiveContent(self.seed_content, self.db)
        if routers is None:
            from handlers import ROUTERS

            routers = ROUTERS
        self.dispatcher = Dispatcher(routers)
        self.gateway = Gateway(config.wechat.token, config.wechat.app_id, config.wechat.encoding_aes_key)
        dedupe = Dedupe(self.store, ttl=config.conversation.dedupe_seconds, wait=config.conversation.lock_wait_seconds)
        self.replay_guard = ReplayGuard(self.store, self.clock, config.wechat.signature_max_age_seconds)
        self.gate = build_gate(self.store, dedupe, lock_wait=config.conversation.lock_wait_seconds)
        self.metrics = Metrics()
        self.last_seen = LastSeen(self.db, config.conversation.seen_flush_seconds, on_error=self.metrics.db_errors.inc)
        # Where each quiz round's draw of questions comes from; tests hand in a seeded one.
        self.quiz_rng: Callable[[], random.Random] = fresh_rng
        # Filled by the features that need them (the WeChat API client, the outbox, ...).
        self.extensions: dict[str, Any] = {}

    @property
    def content(self) -> Content:
        return self.live_content.get()

    @functools.cached_property
    def vault(self) -> IdentityVault:
        """The identity vault, built on first use (key derivations and one keyring read) and kept for the
        process. A database error is raised, never kept: a vault without the keyring's keys would hash
        owners wrongly."""
        return vault_for(self.config)

    @property
    def idle(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.config.conversation.idle_minutes)

    def close(self) -> None:
        self.last_seen.close()
        self.db.dispose()
        if self._owns_store and isinstance(self.store, RedisStore):
            self.store.close()


def fresh_rng() -> random.Random:
    return random.Random(secrets.randbits(128))


def content_dir(config: Config) -> Path:
    path = Path(config.content.dir)
    return path if path.is_absolute() else PROJECT_ROOT / path


def demo_start(today: str) -> dt.datetime:
    """`[server] today`: a day (the clock starts at 09:00) or a moment ("2021-06-01T19:29"), Beijing time."""
    if "T" in today:
        return dt.datetime.fromisoformat(today).replace(tzinfo=TZ)
    day = dt.date.fromisoformat(today)
    return dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=TZ)


def default_clock(config: Config) -> Clock:
    if config.server.today:
        return SimulatedClock(demo_start(config.server.today))
    return SystemClock()
