"""Retry dedupe: WeChat redelivers a message it got no answer for in 5 seconds, up to 3 times.

The first delivery claims the key before any side effect; retries get the first reply back (or
`success` while the first is still at work, after a short wait). See wechat-frameworks.md §3.2.
"""

from __future__ import annotations

import time

from bot.infra.store import Store

PENDING = "\x00pending"
SUCCESS = "success"


class Dedupe:
    def __init__(self, store: Store, ttl: float, wait: float) -> None:
        self._store = store
        self.ttl = ttl
        self._wait = wait

    def claim(self, key: str) -> str | None:
        """None if this delivery is the first (it must run); otherwise the reply to give the retry."""
        if self._store.set_nx(f"dedupe:{key}", PENDING, self.ttl):
            return None
        deadline = time.monotonic() + self._wait
        while True:
            cached = self._store.get(f"dedupe:{key}")
            if cached is None:
                # The first delivery gave up its claim (it could not run): this one may take it.
                if self._store.set_nx(f"dedupe:{key}", PENDING, self.ttl):
                    return None
            elif cached != PENDING:
                return cached
            if time.monotonic() >= deadline:
                return SUCCESS
            time.sleep(0.05)

    def remember(self, key: str, reply: str) -> None:
        self._store.set(f"dedupe:{key}", reply, self.ttl)

    def release(self, key: str) -> None:
        self._store.delete_if_equals(f"dedupe:{key}", PENDING)
