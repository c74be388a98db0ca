"""One contract, two stores: the in-process one and Redis (a real server)."""

from __future__ import annotations

import threading
import time

import pytest

from bot.store import LockTimeout, MemoryStore
from tests.conftest import redis_store


@pytest.fixture(params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest):  # noqa: ANN201
    if request.param == "memory":
        yield MemoryStore()
    else:
        yield from redis_store()


def test_get_set_delete(any_store) -> None:  # noqa: ANN001
    assert any_store.get("k") is None
    any_store.set("k", "值")
    assert any_store.get("k") == "值"
    any_store.delete("k")
    assert any_store.get("k") is None


def test_ttl_expires(any_store) -> None:  # noqa: ANN001
    any_store.set("short", "x", ttl=0.05)
    assert any_store.get("short") == "x"
    time.sleep(0.12)
    assert any_store.get("short") is None


def test_set_nx_only_once(any_store) -> None:  # noqa: ANN001
    assert any_store.set_nx("claim", "a", 5) is True
    assert any_store.set_nx("claim", "b", 5) is False
    assert any_store.get("claim") == "a"


def test_delete_if_equals_is_compare_and_delete(any_store) -> None:  # noqa: ANN001
    any_store.set("token", "t1")
    assert any_store.delete_if_equals("token", "t0") is False
    assert any_store.get("token") == "t1"
    assert any_store.delete_if_equals("token", "t1") is True
    assert any_store.get("token") is None


def test_incr_counts_within_ttl(any_store) -> None:  # noqa: ANN001
    assert [any_store.incr("rate", 5) for _ in range(3)] == [1, 2, 3]


def test_sorted_set_order_and_ranks(any_store) -> None:  # noqa: ANN001
    any_store.zadd("board", {"b": 2.0, "a": 2.0, "c": 1.0, "d": 3.5})
    assert any_store.zcard("board") == 4
    assert any_store.zrange("board", 0, -1) == [("c", 1.0), ("a", 2.0), ("b", 2.0), ("d", 3.5)]
    assert any_store.zrange("board", 1, 2) == [("a", 2.0), ("b", 2.0)]
    assert any_store.zrank("board", "b") == 2
    assert any_store.zrank("board", "nobody") is None
    assert any_store.zscore("board", "d") == 3.5
    any_store.zadd("board", {"d": 0.5})
    assert any_store.zrank("board", "d") == 0


def test_lock_excludes_and_times_out(any_store) -> None:  # noqa: ANN001
    with any_store.lock("lock:u", ttl=5, wait=0.1):
        with pytest.raises(LockTimeout):
            with any_store.lock("lock:u", ttl=5, wait=0.1):
                pass
    with any_store.lock("lock:u", ttl=5, wait=0.1):
        pass


def test_lock_serialises_threads(any_store) -> None:  # noqa: ANN001
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


def test_lock_lease_expires_when_holder_dies(any_store) -> None:  # noqa: ANN001
    any_store.set_nx("lock:dead", "someone-else", 0.1)
    with any_store.lock("lock:dead", ttl=5, wait=1.0):
        assert any_store.get("lock:dead") != "someone-else"
