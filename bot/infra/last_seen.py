"""Citizens' last interaction times (citizens.last_interaction_at), written in batches.

The 48-hour customer-service window is reckoned from that column, refreshed by a citizen's first
message of each minute (the gate says which). Written with the message, it was an upsert and a
commit on one request in four of the benchmark's stateless mix after a quiet minute, and the
busiest part of them: stateless throughput fell by a quarter from the first round to the third
(issue 9). Each process now gathers the times and writes them together every
`[conversation] seen_flush_seconds`, in one transaction; 0 writes each with its message.

A crash loses at most that long of times. The window then seems to close a little earlier than
it does, never later, so nothing is sent outside it. No message handler queues a push that needs
the window (reminders go out before their event, staff replies later; a township tag needs no
window), so nothing waits on a time still in memory.

Menu clicks and QR scans (`note_event`) open a shorter allowance of their own (3 messages in 1
minute, bot/services/service_window.py) and go to `window_event_at` / `window_event_kind` in the
same way: the latest one kept, never moved backwards, lost only as the window narrows.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
from collections.abc import Callable

from sqlalchemy import TextClause

from bot.infra.db import Database, insert_or_update
from bot.models import Citizen

log = logging.getLogger(__name__)

MAX_PENDING = 100_000  # citizens kept while the database is down (a few MB)

_COLUMNS = ("openid", "first_seen_at", "last_interaction_at")
_EVENT_COLUMNS = ("openid", "first_seen_at", "window_event_at", "window_event_kind")


class LastSeen:
    def __init__(self, db: Database, every: float, *, on_error: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.every = every
        self.on_error = on_error
        self._pending: dict[str, tuple[dt.datetime, dt.datetime]] = {}  # openid -> (first, last) noted
        self._events: dict[str, tuple[dt.datetime, dt.datetime, str]] = {}  # openid -> (first, last, kind)
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self._exit_hook = False

    def note(self, openid: str, now: dt.datetime) -> None:
        """The citizen wrote at `now`: written at once when batching is off, else within `every` seconds."""
        if self.every <= 0:
            self._write({openid: (now, now)})
            return
        with self._guard:
            self._merge(openid, now, now)
        writer = self._writer
        if writer is None or not writer.is_alive():  # none yet, or closed and noted again
            self._start_writer()

    def note_event(self, openid: str, now: dt.datetime, kind: str) -> None:
        """The citizen clicked a menu or scanned a code (`kind`) at `now`: like `note`, into
        window_event_at / window_event_kind."""
        if self.every <= 0:
            self._write_events({openid: (now, now, kind)})
            return
        with self._guard:
            self._merge_event(openid, now, now, kind)
        writer = self._writer
        if writer is None or not writer.is_alive():
            self._start_writer()

    def flush(self) -> int:
        """Write what is pending now; how many citizens. On failure the times are kept for the next try."""
        with self._guard:
            batch, self._pending = self._pending, {}
            events, self._events = self._events, {}
        if not batch and not events:
            return 0
        try:
            if batch:
                self._write(batch)
            if events:
                self._write_events(events)
        except Exception:
            # Both kept again (messages written already are written again: never backwards, harmless).
            with self._guard:
                for openid, (first, last) in batch.items():
                    self._merge(openid, first, last)
                for openid, (first, last, kind) in events.items():
                    self._merge_event(openid, first, last, kind)
            raise
        return len(batch.keys() | events.keys())

    def _merge(self, openid: str, first: dt.datetime, last: dt.datetime) -> None:
        """Under the guard: keep the earliest and the latest time noted for the citizen."""
        earlier = self._pending.get(openid)
        if earlier is not None:
            self._pending[openid] = (min(earlier[0], first), max(earlier[1], last))
        elif len(self._pending) < MAX_PENDING:
            self._pending[openid] = (first, last)
        # else: dropped while the database is down; a later message of theirs is noted again,
        # and a missing time only makes the window look narrower

    def _merge_event(self, openid: str, first: dt.datetime, last: dt.datetime, kind: str) -> None:
        """Under the guard: the earliest first sight, and the latest event with its kind."""
        earlier = self._events.get(openid)
        if earlier is not None:
            latest = (last, kind) if last >= earlier[1] else (earlier[1], earlier[2])
            self._events[openid] = (min(earlier[0], first), *latest)
        elif len(self._events) < MAX_PENDING:
            self._events[openid] = (first, last, kind)

    def close(self) -> None:
        """Stop the writer and write what is left (a worker's exit, the tests)."""
        self._stop.set()
        writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=5)
        try:
            self.flush()
        except Exception:
            self.on_error()
            log.warning("last interaction times not written at exit", exc_info=True)

    def _start_writer(self) -> None:
        with self._guard:
            if self._writer is not None and self._writer.is_alive():
                return
            self._stop.clear()
            self._writer = threading.Thread(target=self._run, name="last-seen-writer", daemon=True)
            self._writer.start()
            if not self._exit_hook:
                atexit.register(self.close)
                self._exit_hook = True

    def _run(self) -> None:
        failing = 0  # consecutive failed writes: the first is logged whole, the rest in a line
        while not self._stop.wait(self.every):
            try:
                self.flush()
            except Exception as exc:
                self.on_error()
                failing += 1
                log.warning("last interaction times not written (%d in a row: %s); trying again every %.1f s",
                            failing, type(exc).__name__, self.every, exc_info=failing == 1)
                continue
            if failing:
                log.info("last interaction times written again after %d failed tries", failing)
                failing = 0

    def _write(self, times: dict[str, tuple[dt.datetime, dt.datetime]]) -> None:
        # In openid order: two workers writing overlapping batches lock the rows in the same order
        # and never deadlock each other.
        rows = [{"openid": openid, "first_seen_at": first, "last_interaction_at": last}
                for openid, (first, last) in sorted(times.items())]
        self.db.execute_alone(_touch(), rows)

    def _write_events(self, events: dict[str, tuple[dt.datetime, dt.datetime, str]]) -> None:
        rows = [{"openid": openid, "first_seen_at": first, "window_event_at": last, "window_event_kind": kind}
                for openid, (first, last, kind) in sorted(events.items())]
        self.db.execute_alone(_touch_event(), rows)


def _touch() -> TextClause:
    # Built once (insert_or_update is cached). Never backwards: a batch from another worker, or a
    # follow event, may have written a later time.
    return insert_or_update(Citizen, _COLUMNS, "openid", ("last_interaction_at",),
                            where="citizens.last_interaction_at IS NULL "
                                  "OR citizens.last_interaction_at < excluded.last_interaction_at")


def _touch_event() -> TextClause:
    # Never backwards, as above: a follow written with its message may be later than this batch.
    return insert_or_update(Citizen, _EVENT_COLUMNS, "openid", ("window_event_at", "window_event_kind"),
                            where="citizens.window_event_at IS NULL "
                                  "OR citizens.window_event_at < excluded.window_event_at")
