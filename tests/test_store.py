"""One contract, two stores: the in-process one and Redis (a real server)."""

from __future__ import annotations

import dataclasses
import os
import socket
import struct
import threading
import time
import uuid

import pytest

from bot.infra.store import LockTimeout, MemoryStore, RedisStore, StoreError
from tests.services import DEFAULT_REDIS, REDIS_URL, redis_store


@pytest.fixture(params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest):
    if request.param == "memory":
        yield MemoryStore()
    else:
        yield from redis_store()


def test_get_set_delete(any_store) -> None:
    assert any_store.get("k") is None
    any_store.set("k", "值")
    assert any_store.get("k") == "值"
    any_store.delete("k")
    assert any_store.get("k") is None


def test_ttl_expires(any_store) -> None:
    any_store.set("short", "x", ttl=0.05)
    assert any_store.get("short") == "x"
    time.sleep(0.12)
    assert any_store.get("short") is None


def test_set_nx_only_once(any_store) -> None:
    assert any_store.set_nx("claim", "a", 5) is True
    assert any_store.set_nx("claim", "b", 5) is False
    assert any_store.get("claim") == "a"


def test_delete_if_equals_is_compare_and_delete(any_store) -> None:
    any_store.set("token", "t1")
    assert any_store.delete_if_equals("token", "t0") is False
    assert any_store.get("token") == "t1"
    assert any_store.delete_if_equals("token", "t1") is True
    assert any_store.get("token") is None


def test_incr_counts_within_ttl(any_store) -> None:
    assert [any_store.incr("rate", 5) for _ in range(3)] == [1, 2, 3]


def test_sorted_set_order_and_ranks(any_store) -> None:
    any_store.zadd("board", {"b": 2.0, "a": 2.0, "c": 1.0, "d": 3.5})
    assert any_store.zcard("board") == 4
    assert any_store.zrange("board", 0, -1) == [("c", 1.0), ("a", 2.0), ("b", 2.0), ("d", 3.5)]
    assert any_store.zrange("board", 1, 2) == [("a", 2.0), ("b", 2.0)]
    assert any_store.zrank("board", "b") == 2
    assert any_store.zrank("board", "nobody") is None
    assert any_store.zscore("board", "d") == 3.5
    any_store.zadd("board", {"d": 0.5})
    assert any_store.zrank("board", "d") == 0


def test_lock_excludes_and_times_out(any_store) -> None:
    with any_store.lock("lock:u", ttl=5, wait=0.1):
        with pytest.raises(LockTimeout):
            with any_store.lock("lock:u", ttl=5, wait=0.1):
                pass
    with any_store.lock("lock:u", ttl=5, wait=0.1):
        pass


def test_lock_serialises_threads(any_store) -> None:
    inside = []
    overlaps = []

    def work() -> None:
        with any_store.lock("lock:shared", ttl=5, wait=5):
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(1)
            time.sleep(0.01)
            inside.pop()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


def test_lock_lease_expires_when_holder_dies(any_store) -> None:
    any_store.set_nx("lock:dead", "someone-else", 0.1)
    with any_store.lock("lock:dead", ttl=5, wait=1.0):
        assert any_store.get("lock:dead") != "someone-else"


# --- Redis scripts: the per-message path runs them on a connection each thread keeps -------------

_ECHO_AND_COUNT = "redis.call('incr', KEYS[1]) return {ARGV[1], redis.call('get', KEYS[1])}"


def test_script_runs_with_prefixed_keys(real_redis) -> None:
    echo = real_redis.script(_ECHO_AND_COUNT)
    assert echo(["n"], ["hi"]) == ["hi", "1"]
    assert echo(["n"], ["again"]) == ["again", "2"]
    assert real_redis.get("n") == "2"  # the key was prefixed like every other key of this store


def test_script_reloads_after_redis_forgets_it(real_redis) -> None:
    echo = real_redis.script(_ECHO_AND_COUNT)
    echo(["n"], ["x"])
    real_redis._redis.script_flush()  # as after a Redis restart
    assert echo(["n"], ["y"]) == ["y", "2"]


def test_script_reconnects_after_its_connection_is_killed(real_redis) -> None:
    echo = real_redis.script(_ECHO_AND_COUNT)
    echo(["n"], ["x"])
    host, port = real_redis._lane()._sock.getsockname()[:2]
    assert real_redis._redis.client_kill_filter(addr=f"{host}:{port}") == 1
    try:
        first = echo(["n"], ["after kill"])
    except StoreError:
        first = None  # the dead socket's call failed as a StoreError (callers degrade on that)...
    assert echo(["n"], ["z"]) == ["z", "2" if first is None else "3"]  # ...and the store reconnects
    assert real_redis._lane()._sock.getsockname()[:2] != (host, port)


def test_script_error_is_a_store_error(real_redis) -> None:
    broken = real_redis.script("return redis.call('no-such-command')")
    with pytest.raises(StoreError):
        broken([], [])
    assert real_redis.script(_ECHO_AND_COUNT)(["n"], ["still fine"]) == ["still fine", "1"]


def test_each_thread_keeps_its_own_script_connection(real_redis) -> None:
    echo = real_redis.script(_ECHO_AND_COUNT)
    lanes = []

    def work() -> None:
        for _ in range(50):
            echo(["n"], ["t"])
        lanes.append(real_redis._lane())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(lane) for lane in lanes}) == 4
    assert real_redis.get("n") == "200"


def test_script_on_a_server_that_never_answers_fails_within_the_timeout() -> None:
    """Lane sockets are blocking with the kernel's timeouts (no poll per call): a hung server still
    ends as a StoreError after socket_timeout, never a stuck worker thread."""
    from bot.infra.store import RedisStore

    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    store = RedisStore(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
    started = time.monotonic()
    with pytest.raises(StoreError):
        store.script("return 1")([], [])
    assert time.monotonic() - started < 5
    listener.close()


def test_lane_sockets_block_and_leave_timeouts_to_the_kernel(real_redis) -> None:
    real_redis.script(_ECHO_AND_COUNT)(["n"], ["x"])
    sock = real_redis._lane()._sock
    assert sock.gettimeout() is None
    seconds, micros = struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.calcsize("ll")))
    assert seconds + micros / 1e6 == pytest.approx(1.0)


def test_a_forked_child_opens_its_own_lane(real_redis) -> None:
    echo = real_redis.script(_ECHO_AND_COUNT)
    echo(["n"], ["parent"])
    parent_port = real_redis._lane()._sock.getsockname()[1]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first call must not use the parent's socket
        try:
            answer = echo(["n"], ["child"])
            child_port = real_redis._lane()._sock.getsockname()[1]
            os.write(write_end, f"{answer[1]} {child_port}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    count, child_port = os.read(read_end, 100).decode().split()
    os.waitpid(pid, 0)
    assert count == "2" and int(child_port) != parent_port
    assert echo(["n"], ["parent again"]) == ["parent again", "3"]


def test_close_reaches_every_threads_lane_and_a_later_call_reconnects(real_redis) -> None:
    echo = real_redis.script(_ECHO_AND_COUNT)
    echo(["n"], ["main"])
    worker = threading.Thread(target=lambda: echo(["n"], ["worker"]))
    worker.start()
    worker.join()

    def open_ports() -> set[int]:
        return {int(c["addr"].rsplit(":", 1)[1]) for c in real_redis._redis.client_list()}

    lanes = list(real_redis._open_lanes)
    ports = {lane._sock.getsockname()[1] for lane in lanes}
    assert len(lanes) == 2 and ports <= open_ports()
    real_redis.close()
    assert all(lane._sock is None for lane in lanes)
    assert not ports & open_ports()  # the server saw them go
    assert echo(["n"], ["after"]) == ["after", "3"]


def test_a_bot_closes_the_store_it_made_but_not_one_handed_to_it(real_redis, config, clock) -> None:
    from bot.runtime import Bot

    url = REDIS_URL or DEFAULT_REDIS
    handed = RedisStore(url, prefix=f"test:{uuid.uuid4().hex[:8]}:")
    handed.script("return 1")([], [])
    Bot(config, clock=clock, store=handed).close()
    assert handed._lane()._sock is not None
    own = Bot(dataclasses.replace(config, redis=dataclasses.replace(config.redis, url=url)), clock=clock)
    own.store.script("return 1")([], [])
    lane = own.store._lane()
    own.close()
    assert lane._sock is None
    handed.close()
