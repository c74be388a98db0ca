"""The gate's contract, identical for the in-process store (step by step) and Redis (one script each way)."""

from __future__ import annotations

import pytest

from bot.dedupe import PENDING, SUCCESS, Dedupe
from bot.gate import ConversationWrite, RedisGate, StoreGate, build_gate
from bot.store import LockTimeout, MemoryStore, Store


@pytest.fixture(params=["memory", "redis"])
def gate_store(request) -> Store:  # noqa: ANN001
    return MemoryStore() if request.param == "memory" else request.getfixturevalue("real_redis")


def gate_on(store: Store, lock_wait: float = 0.2) -> StoreGate:
    return build_gate(store, Dedupe(store, ttl=300, wait=0.2), lock_wait=lock_wait)


def test_the_gate_fits_the_store(gate_store: Store) -> None:
    expected = StoreGate if isinstance(gate_store, MemoryStore) else RedisGate
    assert type(gate_on(gate_store)) is expected


def test_a_message_runs_once_and_its_retry_gets_the_first_reply(gate_store: Store) -> None:
    gate = gate_on(gate_store)
    entry = gate.enter("msg:a:1", "o_a", note_seen=True)
    assert (entry.replay, entry.conversation, entry.first_seen) == (None, None, True)
    gate.leave(entry, ConversationWrite('{"state": "x"}', ttl=60), "<xml>reply</xml>")

    assert gate.enter("msg:a:1", "o_a", note_seen=True).replay == "<xml>reply</xml>"
    second = gate.enter("msg:a:2", "o_a", note_seen=True)
    assert (second.replay, second.conversation, second.first_seen) == (None, '{"state": "x"}', False)
    gate.leave(second, ConversationWrite(None), "<xml>two</xml>")
    assert gate.enter("msg:a:3", "o_a", note_seen=False).conversation is None


def test_an_unchanged_conversation_is_left_as_it_was(gate_store: Store) -> None:
    gate = gate_on(gate_store)
    gate.leave(gate.enter("msg:b:1", "o_b", note_seen=False), ConversationWrite("kept", ttl=60), "r1")
    gate.leave(gate.enter("msg:b:2", "o_b", note_seen=False), None, "r2")
    assert gate.enter("msg:b:3", "o_b", note_seen=False).conversation == "kept"


def test_system_events_do_not_count_as_seen(gate_store: Store) -> None:
    gate = gate_on(gate_store)
    gate.leave(gate.enter("evt:c:1", "o_c", note_seen=False), None, SUCCESS)
    assert gate.enter("msg:c:2", "o_c", note_seen=True).first_seen is True


def test_a_busy_citizen_times_out_and_gives_the_claim_back(gate_store: Store) -> None:
    gate = gate_on(gate_store, lock_wait=0.05)
    first = gate.enter("msg:d:1", "o_d", note_seen=True)
    with pytest.raises(LockTimeout):
        gate.enter("msg:d:2", "o_d", note_seen=True)
    assert gate_store.get("dedupe:msg:d:2") is None      # WeChat's retry of it may run
    gate.leave(first, None, "r1")
    assert gate.enter("msg:d:2", "o_d", note_seen=True).replay is None


def test_a_retry_while_the_first_delivery_works_waits_then_says_success(gate_store: Store) -> None:
    gate = gate_on(gate_store)
    gate.enter("msg:e:1", "o_e", note_seen=True)
    assert gate_store.get("dedupe:msg:e:1") == PENDING
    assert gate.enter("msg:e:1", "o_e", note_seen=True).replay == SUCCESS
