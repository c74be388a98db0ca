"""Replayed signatures. WeChat's `signature` is sha1(token, timestamp, nonce): it never expires and
does not cover a plaintext body, so anyone who has seen one signed URL could send any body with it.

A push is taken only when its timestamp is within `max_age` seconds of the (injected) clock, and
each (timestamp, nonce) is remembered for that window with a digest of the message it came with:
the same signature with another message is refused, while a repeat of the same message — WeChat's
retry, with the same query or a fresh one — goes on to the dedupe, which gives the first reply.
One SET NX per push; a second read only when the (timestamp, nonce) was seen before.
"""

from __future__ import annotations

import dataclasses
import hashlib

from bot.clock import Clock
from bot.infra.store import Store


class StaleSignature(Exception):
    """The timestamp is not a number, or too far from the clock (→ 403)."""


class ReplayedSignature(Exception):
    """A (timestamp, nonce) already used for another message (→ 403)."""


@dataclasses.dataclass(frozen=True)
class ReplayGuard:
    store: Store
    clock: Clock
    max_age: int

    def check_fresh(self, timestamp: str) -> None:
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise StaleSignature("timestamp is not a number")
        if abs(self.clock.now().timestamp() - int(timestamp)) > self.max_age:
            raise StaleSignature("timestamp too far from the clock")

    def claim(self, timestamp: str, nonce: str, message: str) -> None:
        """Remember this (timestamp, nonce) with the message; refuse it with another message."""
        # Hashed: a nonce is the sender's to choose, and its length with it.
        key = "sig:" + hashlib.sha256(f"{timestamp}\n{nonce}".encode()).hexdigest()[:32]
        digest = hashlib.sha256(message.encode("utf-8", "surrogatepass")).hexdigest()
        # Kept for two windows: a timestamp is accepted from max_age before the clock to max_age after.
        ttl = 2 * self.max_age
        if self.store.set_nx(key, digest, ttl):
            return
        earlier = self.store.get(key)
        if earlier is None and self.store.set_nx(key, digest, ttl):
            return  # expired between the two calls
        if earlier != digest:
            raise ReplayedSignature("signature reused with another message")
