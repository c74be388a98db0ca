"""The store's part of a message: claim it (dedupe), take the citizen's lock, load their conversation
and note that they were seen; afterwards save the conversation, drop the lock and keep the reply for
WeChat's retries.

`StoreGate` does this through the Store protocol (several calls; free on the in-process store).
`RedisGate` does the same in one server-side script each way, so a message costs two Redis round
trips instead of six or seven — round trips were ~40% of a message's time on Redis (issue 9's
profile). When the short path does not apply (a retry of a message still at work, a busy lock) it
falls back to the step-by-step path, which waits.

A message that only reads (help, an event or a knowledge question: a rule declared `pure`) from a
citizen in no flow needs neither: `enter(..., free_if_idle=True)` then claims and locks nothing
(`Entry.free`) and there is nothing to leave; running it twice, on a retry, gives the same answer.
"No flow" includes a conversation that only keeps context (a list being paged: the conversation's
`is_idle`, bot/chat/conversation.py). What such a message changes in that context is saved only if nobody changed
the conversation or took the lock meanwhile (`keep_context`).
"""

from __future__ import annotations

import dataclasses
import random

from bot.chat.conversation import LUA_IS_IDLE, ConversationWrite, is_idle
from bot.chat.dedupe import PENDING, Dedupe
from bot.infra.store import LockTimeout, RedisStore, Store

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
    free: bool = False           # no flow, no lock: nothing claimed or locked (free_if_idle);
                                 # `conversation` is then context only, or None


class StoreGate:
    def __init__(self, store: Store, dedupe: Dedupe, *, lock_wait: float) -> None:
        self.store = store
        self.dedupe = dedupe
        self.lock_wait = lock_wait

    def enter(self, key: str, openid: str, *, note_seen: bool, free_if_idle: bool = False) -> Entry:
        """Claim, lock and load; raises LockTimeout (claim given back) or StoreError.

        `free_if_idle`: when the citizen has no conversation and nothing holds their lock, claim
        and lock nothing and say so (`Entry.free`)."""
        if free_if_idle and self.store.get(f"dedupe:{key}") is None and self.store.get(f"lock:{openid}") is None:
            conversation = self.store.get(f"conv:{openid}")
            if is_idle(conversation):
                return Entry(key, openid, conversation=conversation, free=True,
                             first_seen=self._note_seen(openid, note_seen))
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
        return Entry(key, openid, token=token, conversation=conversation, first_seen=self._note_seen(openid, note_seen))

    def _note_seen(self, openid: str, note_seen: bool) -> bool:
        return note_seen and self.store.set_nx(f"seen:{openid}", "1", SEEN_SECONDS)

    def keep_context(self, entry: Entry, change: ConversationWrite) -> bool:
        """Save what a free message changed in the context, unless the conversation changed or the
        lock was taken since it was read; False when it was not saved. (In one process, where this
        store lives, the window between the check and the write is a few microseconds.)"""
        if self.store.get(f"lock:{entry.openid}") is not None or self.store.get(f"conv:{entry.openid}") != entry.conversation:
            return False
        self._save_conversation(entry.openid, change)
        return True

    def _save_conversation(self, openid: str, change: ConversationWrite) -> None:
        if change.value is None:
            self.store.delete(f"conv:{openid}")
        else:
            self.store.set(f"conv:{openid}", change.value, ttl=change.ttl)

    def leave(self, entry: Entry, change: ConversationWrite | None, reply: str) -> None:
        """Save the conversation (when it changed), unlock, and keep the reply for retries."""
        if change is not None:
            self._save_conversation(entry.openid, change)
        self.store.delete_if_equals(f"lock:{entry.openid}", entry.token)
        self.dedupe.remember(entry.key, reply)


# KEYS: dedupe, lock, conversation, seen.
# ARGV: pending marker, dedupe ttl ms, lock token, lock ttl ms, seen ttl ms, note seen (1/0), free if idle (1/0).
# Returns {0, earlier reply or marker} | {1} (claimed, lock busy) | {2, conversation or '', first seen}
# | {3, context conversation or '', first seen} (free: nothing claimed or locked).
_ENTER = LUA_IS_IDLE + """
local earlier = redis.call('get', KEYS[1])
if earlier then return {0, earlier} end
if ARGV[7] == '1' and redis.call('exists', KEYS[2]) == 0 then
  local saved = redis.call('get', KEYS[3])
  if is_idle(saved) then
    local first = 0
    if ARGV[6] == '1' and redis.call('set', KEYS[4], '1', 'nx', 'px', ARGV[5]) then first = 1 end
    return {3, saved or '', first}
  end
end
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

# KEYS: conversation, lock. ARGV: conversation as read ('' for none), new value ('' to delete), ttl ms.
# Returns 1 when saved.
_KEEP_CONTEXT = """
if redis.call('exists', KEYS[2]) == 1 or (redis.call('get', KEYS[1]) or '') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('del', KEYS[1]) else redis.call('set', KEYS[1], ARGV[2], 'px', ARGV[3]) end
return 1
"""


class RedisGate(StoreGate):
    def __init__(self, store: RedisStore, dedupe: Dedupe, *, lock_wait: float) -> None:
        super().__init__(store, dedupe, lock_wait=lock_wait)
        self._enter = store.script(_ENTER)
        self._leave = store.script(_LEAVE)
        self._keep_context = store.script(_KEEP_CONTEXT)

    def enter(self, key: str, openid: str, *, note_seen: bool, free_if_idle: bool = False) -> Entry:
        # Unique enough to tell this holder's lock from the next one's, and no getrandom system
        # call per message as uuid4 makes (random reseeds itself in a forked worker).
        token = f"{random.getrandbits(64):016x}"
        answer = self._enter([f"dedupe:{key}", f"lock:{openid}", f"conv:{openid}", f"seen:{openid}"],
                             [PENDING, _ms(self.dedupe.ttl), token, _ms(LOCK_TTL), _ms(SEEN_SECONDS),
                              "1" if note_seen else "0", "1" if free_if_idle else "0"])
        if answer[0] == 3:
            return Entry(key, openid, conversation=answer[1] or None, free=True, first_seen=bool(answer[2]))
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

    def keep_context(self, entry: Entry, change: ConversationWrite) -> bool:
        return bool(self._keep_context([f"conv:{entry.openid}", f"lock:{entry.openid}"],
                                       [entry.conversation or "", change.value or "", _ms(change.ttl)]))


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def build_gate(store: Store, dedupe: Dedupe, *, lock_wait: float) -> StoreGate:
    kind = RedisGate if isinstance(store, RedisStore) else StoreGate
    return kind(store, dedupe, lock_wait=lock_wait)
