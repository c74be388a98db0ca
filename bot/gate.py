"""The store's part of a message: claim it (dedupe), take the citizen's lock, load their conversation
and note that they were seen; afterwards save the conversation, drop the lock and keep the reply for
WeChat's retries.

`StoreGate` does this through the Store protocol (several calls; free on the in-process store).
`RedisGate` does the same in one server-side script each way, so a message costs two Redis round
trips instead of six or seven — round trips were ~40% of a message's time on Redis (issue 9's
profile). When the short path does not apply (a retry of a message still at work, a busy lock) it
falls back to the step-by-step path, which waits.
"""

from __future__ import annotations

import dataclasses
import random

from bot.dedupe import PENDING, Dedupe
from bot.store import LockTimeout, RedisStore, Store

SEEN_SECONDS = 60  # last_interaction_at is written at most once a minute (see services/citizens.py)
LOCK_TTL = 30.0    # longer than any handler may run; released as soon as the handler returns


@dataclasses.dataclass(frozen=True)
class Entry:
    """What the gate learned on the way in."""

    key: str                     # the message's dedupe key
    openid: str
    token: str = ""              # proves the lock is ours when we let it go
    replay: str | None = None    # a retry: the reply to give instead of running again
    conversation: str | None = None
    first_seen: bool = False     # the first message from this citizen for SEEN_SECONDS


@dataclasses.dataclass(frozen=True)
class ConversationWrite:
    """How the conversation changed: a new value to keep (for `ttl` seconds), or None to forget it."""

    value: str | None
    ttl: float = 0.0


class StoreGate:
    def __init__(self, store: Store, dedupe: Dedupe, *, lock_wait: float) -> None:
        self.store = store
        self.dedupe = dedupe
        self.lock_wait = lock_wait

    def enter(self, key: str, openid: str, *, note_seen: bool) -> Entry:
        """Claim, lock and load; raises LockTimeout (claim given back) or StoreError."""
        replay = self.dedupe.claim(key)
        if replay is not None:
            return Entry(key, openid, replay=replay)
        return self._lock_and_load(key, openid, note_seen)

    def _lock_and_load(self, key: str, openid: str, note_seen: bool) -> Entry:
        try:
            token = self.store.acquire(f"lock:{openid}", LOCK_TTL, self.lock_wait)
        except LockTimeout:
            # The citizen's previous message is still being handled. Give the claim back so that
            # WeChat's retry of this one can run.
            self.dedupe.release(key)
            raise
        conversation = self.store.get(f"conv:{openid}")
        first_seen = note_seen and self.store.set_nx(f"seen:{openid}", "1", SEEN_SECONDS)
        return Entry(key, openid, token=token, conversation=conversation, first_seen=first_seen)

    def leave(self, entry: Entry, change: ConversationWrite | None, reply: str) -> None:
        """Save the conversation (when it changed), unlock, and keep the reply for retries."""
        if change is not None:
            if change.value is None:
                self.store.delete(f"conv:{entry.openid}")
            else:
                self.store.set(f"conv:{entry.openid}", change.value, ttl=change.ttl)
        self.store.delete_if_equals(f"lock:{entry.openid}", entry.token)
        self.dedupe.remember(entry.key, reply)


# KEYS: dedupe, lock, conversation, seen.
# ARGV: pending marker, dedupe ttl ms, lock token, lock ttl ms, seen ttl ms, note seen (1/0).
# Returns {0, earlier reply or marker} | {1} (claimed, lock busy) | {2, conversation or '', first seen}.
_ENTER = """
local earlier = redis.call('get', KEYS[1])
if earlier then return {0, earlier} end
redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
if not redis.call('set', KEYS[2], ARGV[3], 'nx', 'px', ARGV[4]) then return {1} end
local first = 0
if ARGV[6] == '1' and redis.call('set', KEYS[4], '1', 'nx', 'px', ARGV[5]) then first = 1 end
return {2, redis.call('get', KEYS[3]) or '', first}
"""

# KEYS: conversation, lock, dedupe.
# ARGV: keep | set | del, conversation, conversation ttl ms, lock token, reply, dedupe ttl ms.
_LEAVE = """
if ARGV[1] == 'set' then redis.call('set', KEYS[1], ARGV[2], 'px', ARGV[3])
elseif ARGV[1] == 'del' then redis.call('del', KEYS[1]) end
if redis.call('get', KEYS[2]) == ARGV[4] then redis.call('del', KEYS[2]) end
redis.call('set', KEYS[3], ARGV[5], 'px', ARGV[6])
return 1
"""


class RedisGate(StoreGate):
    def __init__(self, store: RedisStore, dedupe: Dedupe, *, lock_wait: float) -> None:
        super().__init__(store, dedupe, lock_wait=lock_wait)
        self._enter = store.script(_ENTER)
        self._leave = store.script(_LEAVE)

    def enter(self, key: str, openid: str, *, note_seen: bool) -> Entry:
        # Unique enough to tell this holder's lock from the next one's, and no getrandom system
        # call per message as uuid4 makes (random reseeds itself in a forked worker).
        token = f"{random.getrandbits(64):016x}"
        answer = self._enter([f"dedupe:{key}", f"lock:{openid}", f"conv:{openid}", f"seen:{openid}"],
                             [PENDING, _ms(self.dedupe.ttl), token, _ms(LOCK_TTL), _ms(SEEN_SECONDS),
                              "1" if note_seen else "0"])
        if answer[0] == 0:
            # A retry. While the first delivery is still at work, wait for its reply the slow way.
            return Entry(key, openid, replay=answer[1]) if answer[1] != PENDING else super().enter(
                key, openid, note_seen=note_seen)
        if answer[0] == 1:
            return self._lock_and_load(key, openid, note_seen)
        return Entry(key, openid, token=token, conversation=answer[1] or None, first_seen=bool(answer[2]))

    def leave(self, entry: Entry, change: ConversationWrite | None, reply: str) -> None:
        if change is None:
            operation, value, ttl = "keep", "", 0
        elif change.value is None:
            operation, value, ttl = "del", "", 0
        else:
            operation, value, ttl = "set", change.value, _ms(change.ttl)
        self._leave([f"conv:{entry.openid}", f"lock:{entry.openid}", f"dedupe:{entry.key}"],
                    [operation, value, ttl, entry.token, reply, _ms(self.dedupe.ttl)])


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def build_gate(store: Store, dedupe: Dedupe, *, lock_wait: float) -> StoreGate:
    kind = RedisGate if isinstance(store, RedisStore) else StoreGate
    return kind(store, dedupe, lock_wait=lock_wait)
