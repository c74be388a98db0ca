"""The gate's contract, identical for the in-process store (step by step) and Redis (one script each way)."""

from __future__ import annotations

import pytest

from bot.chat.conversation import ConversationWrite
from bot.chat.dedupe import PENDING, SUCCESS, Dedupe
from bot.chat.gate import RedisGate, StoreGate, build_gate
from bot.infra.store import LockTimeout, MemoryStore, Store


@pytest.fixture(params=["memory", "redis"])
def gate_store(request) -> Store:
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


CONTEXT = '{"state": "events:listing", "data": {}, "context": true}'
WORK = '{"state": "report:where", "data": {}}'


def test_an_idle_citizen_s_pure_message_claims_and_locks_nothing(gate_store: Store) -> None:
    gate = gate_on(gate_store)
    entry = gate.enter("msg:f:1", "o_f", note_seen=True, free_if_idle=True)
    assert (entry.free, entry.conversation, entry.first_seen) == (True, None, True)
    assert gate_store.get("dedupe:msg:f:1") is None and gate_store.get("lock:o_f") is None
    again = gate.enter("msg:f:1", "o_f", note_seen=True, free_if_idle=True)  # WeChat's retry: run again
    assert (again.free, again.first_seen) == (True, False)


def test_context_only_conversations_stay_free_flows_and_locks_do_not(gate_store: Store) -> None:
    gate = gate_on(gate_store)
    gate_store.set("conv:o_g", CONTEXT, ttl=60)
    entry = gate.enter("msg:g:1", "o_g", note_seen=False, free_if_idle=True)
    assert (entry.free, entry.conversation) == (True, CONTEXT)

    gate_store.set("conv:o_g", WORK, ttl=60)  # in the middle of a report: the ordinary path
    entry = gate.enter("msg:g:2", "o_g", note_seen=False, free_if_idle=True)
    assert (entry.free, entry.conversation, gate_store.get("dedupe:msg:g:2")) == (False, WORK, PENDING)
    gate.leave(entry, None, "r")

    gate_store.delete("conv:o_g")
    holder = gate.enter("msg:g:3", "o_g", note_seen=False)  # another message holds the lock
    with pytest.raises(LockTimeout):
        gate.enter("msg:g:4", "o_g", note_seen=False, free_if_idle=True)
    gate.leave(holder, None, "r")


def test_context_is_kept_only_if_nothing_changed_meanwhile(gate_store: Store) -> None:
    gate = gate_on(gate_store)
    entry = gate.enter("msg:h:1", "o_h", note_seen=False, free_if_idle=True)
    assert gate.keep_context(entry, ConversationWrite(CONTEXT, ttl=60)) is True
    assert gate_store.get("conv:o_h") == CONTEXT

    stale = gate.enter("msg:h:2", "o_h", note_seen=False, free_if_idle=True)
    gate_store.set("conv:o_h", WORK, ttl=60)  # a flow started in between: its state wins
    assert gate.keep_context(stale, ConversationWrite(CONTEXT.replace("{}", '{"page": 1}'), ttl=60)) is False
    assert gate_store.get("conv:o_h") == WORK

    gate_store.set("conv:o_h", CONTEXT, ttl=60)
    fresh = gate.enter("msg:h:3", "o_h", note_seen=False, free_if_idle=True)
    holder = gate.enter("msg:h:4", "o_h", note_seen=False)  # the lock taken in between
    assert gate.keep_context(fresh, ConversationWrite(None)) is False
    gate.leave(holder, None, "r")
    assert gate.keep_context(fresh, ConversationWrite(None)) is True  # an expired context is dropped
    assert gate_store.get("conv:o_h") is None
