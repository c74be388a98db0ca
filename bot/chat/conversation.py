"""Per-citizen conversation state: which flow and step they are in, plus a little JSON data.

Kept in the store under `conv:<openid>`, read and written by the gate (bot/chat/gate.py) around the
handler. Idle expiry is judged by the injected clock (so tests and the demo can move time), and the
store TTL only cleans up afterwards.

The stored form lives here alone: JSON {"state", "data", "touched", "idle"}, and `"context": true`
when the conversation only keeps context (a list to page, choices offered). The gate must tell such
a citizen from one in the middle of a flow before any handler runs, on Redis inside its script:
that reading is `is_idle` here and, for the script, `LUA_IS_IDLE` beside it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from bot.clock import Clock

CLEANUP_AFTER = dt.timedelta(days=2)  # keep expired state long enough to say "timed out"


CONTEXT_FIELD = "context"

# The same test as is_idle, as a Lua function for the gate's Redis script (gate.py).
LUA_IS_IDLE = f"""
local function is_idle(saved)
  if not saved then return true end
  local ok, conversation = pcall(cjson.decode, saved)
  return ok and type(conversation) == 'table' and conversation['{CONTEXT_FIELD}'] == true
end
"""


def is_idle(saved: str | None) -> bool:
    """No conversation kept, or one that only keeps context: the citizen is in no flow."""
    if saved is None:
        return True
    try:
        conversation = json.loads(saved)
    except ValueError:
        return False
    return isinstance(conversation, dict) and conversation.get(CONTEXT_FIELD) is True


@dataclasses.dataclass(frozen=True)
class ConversationWrite:
    """How the conversation changed: a new value to keep (for `ttl` seconds), or None to forget it."""

    value: str | None
    ttl: float = 0.0


class State(str):
    """A named step, stored as "flow:step"."""

    @property
    def flow(self) -> str:
        return self.split(":", 1)[0]


# Flows that only remember context (see StateGroup.holds_work).
CONTEXT_FLOWS: set[str] = set()


class StateGroup:
    """Subclass with `step = State()` attributes; each becomes "<group>:<step>"."""

    flow_name: str = ""
    # False for a flow that only remembers context (a list being paged, numbered choices offered):
    # leaving it loses nothing, so help does not tell the citizen an operation is in progress.
    holds_work: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        flow = cls.__dict__.get("flow_name") or cls.__name__.lower()
        cls.flow_name = flow
        if not cls.holds_work:
            CONTEXT_FLOWS.add(flow)
        for name, value in list(cls.__dict__.items()):
            if isinstance(value, State):
                setattr(cls, name, State(f"{flow}:{name}"))

    @classmethod
    def states(cls) -> list[State]:
        return [v for v in vars(cls).values() if isinstance(v, State) and ":" in v]


class Conversation:
    def __init__(self, openid: str, clock: Clock, idle: dt.timedelta, saved: str | None = None) -> None:
        self._clock = clock
        self._idle = idle
        self.openid = openid
        self.state: str | None = None
        self.data: dict[str, Any] = {}
        self.expired_flow: str | None = None  # set when an idle flow was just dropped
        self._dirty = False
        if saved:
            self._load(json.loads(saved))

    def _load(self, saved: dict[str, Any]) -> None:
        touched = dt.datetime.fromisoformat(saved["touched"])
        idle = dt.timedelta(seconds=saved.get("idle", self._idle.total_seconds()))
        if self._clock.now() - touched > idle:
            self.expired_flow = State(saved["state"]).flow if saved.get("state") else None
            self._dirty = True  # forget it on save
            return
        self.state = saved.get("state")
        self.data = saved.get("data") or {}

    @property
    def flow(self) -> str | None:
        return State(self.state).flow if self.state else None

    @property
    def holds_work(self) -> bool:
        """The citizen is in the middle of something that leaving would lose (a report, a round)."""
        return self.flow is not None and self.flow not in CONTEXT_FLOWS

    def enter(self, state: str, idle: dt.timedelta | None = None, **data: Any) -> None:
        """Start (or move within) a flow; `data` replaces the flow's data when the flow changes."""
        if self.flow != State(state).flow:
            self.data = {}
        self.state = state
        self.data.update(data)
        if idle is not None:
            self.data["_idle"] = idle.total_seconds()
        self._dirty = True

    def update(self, **data: Any) -> None:
        self.data.update(data)
        self._dirty = True

    def clear(self) -> None:
        self.state = None
        self.data = {}
        self._dirty = True

    def touch(self) -> None:
        self._dirty = True

    def clear_changes(self) -> None:
        """The handler failed: keep the conversation as it was before this message."""
        self._dirty = False

    def change(self) -> ConversationWrite | None:
        """What to write back to the store, or None when nothing changed."""
        if not self._dirty:
            return None
        if self.state is None:
            return ConversationWrite(None)
        idle = self.data.get("_idle", self._idle.total_seconds())
        payload = {"state": self.state, "data": self.data, "touched": self._clock.now().isoformat(), "idle": idle}
        if not self.holds_work:
            payload[CONTEXT_FIELD] = True  # read by the gate (is_idle): pure messages need no lock
        return ConversationWrite(json.dumps(payload, ensure_ascii=False), ttl=idle + CLEANUP_AFTER.total_seconds())
