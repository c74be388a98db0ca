"""The small key-value store behind conversations, dedupe, locks, rate limits, tokens and leaderboards.

Two implementations pass the same contract tests: RedisStore (production, several processes) and
MemoryStore (the embedded default, one process). TTLs are real seconds, not the app clock: they
bound memory, they carry no business meaning.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import re
import socket
import struct
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import redis


class StoreError(Exception):
    """The store did not answer."""


class LockTimeout(Exception):
    """A lock was not acquired within the wait."""


class Store(Protocol):
    def ping(self) -> bool: ...
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl: float | None = None) -> None: ...
    def set_nx(self, key: str, value: str, ttl: float) -> bool: ...
    def delete(self, key: str) -> None: ...
    def delete_if_equals(self, key: str, value: str) -> bool: ...
    def replace_if_equals(self, key: str, expected: str, value: str) -> bool: ...
    def scan(self, prefix: str) -> Iterator[str]: ...
    def incr(self, key: str, ttl: float) -> int: ...
    def zadd(self, key: str, scores: dict[str, float]) -> None: ...
    def zscore(self, key: str, member: str) -> float | None: ...
    def zrank(self, key: str, member: str) -> int | None: ...
    def zrange(self, key: str, start: int, stop: int) -> list[tuple[str, float]]: ...
    def zcard(self, key: str) -> int: ...
    def acquire(self, key: str, ttl: float, wait: float) -> str: ...
    def lock(self, key: str, ttl: float, wait: float) -> contextlib.AbstractContextManager[None]: ...


class _LockMixin:
    """A lease lock on top of set_nx / delete_if_equals, identical for both stores."""

    def acquire(self, key: str, ttl: float, wait: float) -> str:
        """Take the lock within `wait` seconds (else LockTimeout); the token releases it."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        delay = 0.005
        while not self.set_nx(key, token, ttl):  # type: ignore[attr-defined]
            if time.monotonic() >= deadline:
                raise LockTimeout(key)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return token

    @contextlib.contextmanager
    def lock(self, key: str, ttl: float, wait: float) -> Iterator[None]:
        token = self.acquire(key, ttl, wait)
        try:
            yield
        finally:
            self.delete_if_equals(key, token)  # type: ignore[attr-defined]


class MemoryStore(_LockMixin):
    """In-process store: a dict with expiry times, guarded by one lock."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[object, float | None]] = {}
        self._guard = threading.RLock()
        self._expiries: list[tuple[float, str]] = []

    def _live(self, key: str) -> object | None:
        item = self._values.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._values[key]
            return None
        return value

    def _put(self, key: str, value: object, ttl: float | None) -> None:
        expires = None if ttl is None else time.monotonic() + ttl
        self._values[key] = (value, expires)
        if expires is not None:
            heapq.heappush(self._expiries, (expires, key))
        self._sweep()

    def _sweep(self) -> None:
        # Drop a few expired keys on each write so memory stays bounded without a thread.
        now = time.monotonic()
        for _ in range(16):
            if not self._expiries or self._expiries[0][0] > now:
                return
            _, key = heapq.heappop(self._expiries)
            self._live(key)

    def ping(self) -> bool:
        return True

    def get(self, key: str) -> str | None:
        with self._guard:
            value = self._live(key)
            return value if isinstance(value, str) else None

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._guard:
            self._put(key, value, ttl)

    def set_nx(self, key: str, value: str, ttl: float) -> bool:
        with self._guard:
            if self._live(key) is not None:
                return False
            self._put(key, value, ttl)
            return True

    def delete(self, key: str) -> None:
        with self._guard:
            self._values.pop(key, None)

    def delete_if_equals(self, key: str, value: str) -> bool:
        with self._guard:
            if self._live(key) == value:
                del self._values[key]
                return True
            return False

    def replace_if_equals(self, key: str, expected: str, value: str) -> bool:
        """Compare-and-set: write `value` only if the key still holds `expected`, keeping its expiry."""
        with self._guard:
            if self._live(key) != expected:
                return False
            self._values[key] = (value, self._values[key][1])
            return True

    def scan(self, prefix: str) -> Iterator[str]:
        """The keys under `prefix`, as they were when the scan began."""
        with self._guard:
            keys = [key for key in self._values if key.startswith(prefix)]
        yield from keys

    def incr(self, key: str, ttl: float) -> int:
        with self._guard:
            current = self._live(key)
            if current is None:
                self._put(key, "1", ttl)
                return 1
            count = int(current) + 1  # type: ignore[arg-type]
            self._values[key] = (str(count), self._values[key][1])
            return count

    def _zset(self, key: str, create: bool = False) -> dict[str, float] | None:
        value = self._live(key)
        if value is None and create:
            value = {}
            self._put(key, value, None)
        return value if isinstance(value, dict) else None

    def _ordered(self, key: str) -> list[tuple[str, float]]:
        # Redis orders by score, then by member bytes; match it exactly.
        members = self._zset(key) or {}
        return sorted(members.items(), key=lambda item: (item[1], item[0].encode()))

    def zadd(self, key: str, scores: dict[str, float]) -> None:
        with self._guard:
            self._zset(key, create=True).update({m: float(s) for m, s in scores.items()})  # type: ignore[union-attr]

    def zscore(self, key: str, member: str) -> float | None:
        with self._guard:
            return (self._zset(key) or {}).get(member)

    def zrank(self, key: str, member: str) -> int | None:
        with self._guard:
            members = self._zset(key) or {}
            if member not in members:
                return None
            score = members[member]
            return sum(1 for m, s in members.items() if (s, m.encode()) < (score, member.encode()))

    def zrange(self, key: str, start: int, stop: int) -> list[tuple[str, float]]:
        with self._guard:
            ordered = self._ordered(key)
            stop = len(ordered) if stop == -1 else stop + 1
            return ordered[start:stop]

    def zcard(self, key: str) -> int:
        with self._guard:
            return len(self._zset(key) or {})


_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""

# Compare-and-set keeping the key's remaining time to live (PTTL, not SET KEEPTTL: Redis before 6 too).
_COMPARE_AND_REPLACE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('pttl', KEYS[1])
if ttl > 0 then redis.call('set', KEYS[1], ARGV[2], 'px', ttl) else redis.call('set', KEYS[1], ARGV[2]) end
return 1
"""


class RedisStore(_LockMixin):
    """Redis-backed store; every connection error becomes StoreError."""

    def __init__(self, url: str, prefix: str = "smb:") -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=1.0,
                                           socket_connect_timeout=1.0, health_check_interval=10)
        self._prefix = prefix
        self._cad = self._redis.register_script(_COMPARE_AND_DELETE)
        self._car = self._redis.register_script(_COMPARE_AND_REPLACE)
        self._lanes = threading.local()
        self._open_lanes: list[redis.Connection] = []  # every thread's, so that close() reaches them all
        self._lanes_guard = threading.Lock()
        _STORES_WITH_LANES.add(self)

    def _k(self, key: str) -> str:
        return self._prefix + key

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as exc:
            raise StoreError(str(exc)) from exc

    def ping(self) -> bool:
        with self._errors():
            return bool(self._redis.ping())

    def get(self, key: str) -> str | None:
        with self._errors():
            return self._redis.get(self._k(key))

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._errors():
            self._redis.set(self._k(key), value, px=None if ttl is None else int(ttl * 1000))

    def set_nx(self, key: str, value: str, ttl: float) -> bool:
        with self._errors():
            return bool(self._redis.set(self._k(key), value, nx=True, px=int(ttl * 1000)))

    def delete(self, key: str) -> None:
        with self._errors():
            self._redis.delete(self._k(key))

    def delete_if_equals(self, key: str, value: str) -> bool:
        with self._errors():
            return bool(self._cad(keys=[self._k(key)], args=[value]))

    def replace_if_equals(self, key: str, expected: str, value: str) -> bool:
        with self._errors():
            return bool(self._car(keys=[self._k(key)], args=[expected, value]))

    def scan(self, prefix: str) -> Iterator[str]:
        """The keys under `prefix` (SCAN: a key written meanwhile may be listed or not)."""
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self._prefix + prefix) + "*"
        with self._errors():
            for key in self._redis.scan_iter(match=pattern, count=1000):
                yield key[len(self._prefix):]

    def incr(self, key: str, ttl: float) -> int:
        with self._errors():
            pipe = self._redis.pipeline()
            pipe.incr(self._k(key))
            pipe.pexpire(self._k(key), int(ttl * 1000), nx=True)
            return int(pipe.execute()[0])

    def zadd(self, key: str, scores: dict[str, float]) -> None:
        with self._errors():
            if scores:
                self._redis.zadd(self._k(key), scores)

    def zscore(self, key: str, member: str) -> float | None:
        with self._errors():
            return self._redis.zscore(self._k(key), member)

    def zrank(self, key: str, member: str) -> int | None:
        with self._errors():
            return self._redis.zrank(self._k(key), member)

    def zrange(self, key: str, start: int, stop: int) -> list[tuple[str, float]]:
        with self._errors():
            return [(m, float(s)) for m, s in self._redis.zrange(self._k(key), start, stop, withscores=True)]

    def zcard(self, key: str) -> int:
        with self._errors():
            return int(self._redis.zcard(self._k(key)))

    def script(self, source: str) -> Callable[[list[str], list[str | int]], Any]:
        """A Lua script run atomically on the server (one round trip); keys get this store's prefix.

        Scripts are the per-message path (bot/chat/gate.py), so they skip the client's pool and retry
        wrappers and go straight down a connection this thread keeps: ~45 µs a call instead of
        ~100 µs (issue 9's profile). The connection still checks its health when it has been idle.
        """
        registered = self._redis.register_script(source)

        def run(keys: list[str], args: list[str | int]) -> Any:
            prefixed = [self._k(key) for key in keys]
            conn = self._lane()
            with self._errors():
                try:
                    conn.send_command("EVALSHA", registered.sha, len(prefixed), *prefixed, *args)
                    return conn.read_response()
                except redis.exceptions.NoScriptError:
                    return registered(keys=prefixed, args=args)  # loads it (a restarted Redis), then runs
                except (redis.ConnectionError, redis.TimeoutError):
                    conn.disconnect()  # a half-read reply must not be read by the next call
                    raise

        return run

    def _lane(self) -> redis.Connection:
        lane = self._lanes
        connection = getattr(lane, "connection", None)
        if connection is None:
            pool = self._redis.connection_pool
            kind = _KernelTimeoutConnection if pool.connection_class is redis.Connection else pool.connection_class
            connection = lane.connection = kind(**pool.connection_kwargs)
            with self._lanes_guard:
                self._open_lanes.append(connection)
        return connection

    def _forget_lanes(self) -> None:
        """In a forked child: the parent's sockets are left alone (the parent still uses them)."""
        self._lanes = threading.local()
        self._open_lanes = []
        self._lanes_guard = threading.Lock()

    def close(self) -> None:
        """Close every connection, the pool's and each thread's lane; a later call opens new ones."""
        with self._lanes_guard:
            lanes, self._open_lanes = self._open_lanes, []
        self._lanes = threading.local()
        for connection in lanes:
            connection.disconnect()
        self._redis.close()

    def flush_prefix(self) -> None:
        """Delete every key under this store's prefix (tests and `leaderboard rebuild`)."""
        with self._errors():
            for key in self._redis.scan_iter(self._prefix + "*", count=1000):
                self._redis.delete(key)


class _KernelTimeoutConnection(redis.Connection):
    """A lane's TCP connection: a blocking socket whose timeouts the kernel keeps (SO_RCVTIMEO,
    SO_SNDTIMEO). Python's own socket timeout polls before every send and every receive: two extra
    system calls a round trip, and system calls are most of a round trip's cost (issue 9). A read
    that times out fails as a ConnectionError, which the lane turns into a StoreError."""

    def _connect(self) -> socket.socket:
        sock = super()._connect()
        timeout = self.socket_timeout or 0.0
        if timeout:
            seconds = int(timeout)
            limit = struct.pack("ll", seconds, int((timeout - seconds) * 1_000_000))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
            sock.settimeout(None)
        return sock


# A forked child must never share its parent's lane sockets (gunicorn forks workers after the app
# is built): every store forgets its lanes in the child. Cheaper than asking os.getpid(), a
# system call, on every round trip.
_STORES_WITH_LANES: weakref.WeakSet[RedisStore] = weakref.WeakSet()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: [store._forget_lanes() for store in list(_STORES_WITH_LANES)])


def build_store(url: str) -> Store:
    return RedisStore(url) if url else MemoryStore()
