"""The event calendar and the push plan as staff edit them in the console: content/ plus the edits.

The files in content/ are the seed (and, with git, their own history); the console's edits are rows
of `content_edits`, one per change, never updated. An item's newest row replaces the file's item of
the same id (or adds it, or, with no entry, cancels it). The content a process serves is rebuilt
from the seed and the edits whenever the newest edit id (the revision) moved: `LiveContent` reads
it at most every REFRESH_SECONDS, so every worker and the scheduler see an edit within seconds,
without a restart, at the cost of one indexed read of a small table per process and interval.

Every rebuild runs the same loaders as `python -m bot content check`, so an edit that would not
load cannot be saved (the console checks it first with `check_edit`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content import Content, ContentError, read_toml
from bot.models import ContentEdit
from bot.services.events import events_from_entries
from bot.services.pushplan import plan_from_entries
from bot.services.townships import load_townships

log = logging.getLogger(__name__)

EVENTS, PUSHES = "events", "pushes"
FILES = {EVENTS: "events.toml", PUSHES: "pushes.toml"}
TABLES = {EVENTS: "event", PUSHES: "push"}
# Fields that are dates or date-times in TOML, kept as ISO text in the edits' JSON.
MOMENTS = {EVENTS: ("start", "end"), PUSHES: ("when",)}
REFRESH_SECONDS = 2.0
RETRY_SECONDS = 10.0  # after a failed read (the database away): keep serving what we have


class StaleEdit(Exception):
    """Someone else changed the item since the form was opened."""


# --- entries: the file's tables and the edits' JSON ----------------------------------------------

def to_json(part: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A [[event]]/[[push]] table as JSON: dates and date-times as ISO text (Beijing time, no offset)."""
    out = dict(entry)
    for field in MOMENTS[part]:
        value = out.get(field)
        if isinstance(value, dt.datetime):
            out[field] = value.replace(tzinfo=None).isoformat(timespec="minutes" if not value.second else "seconds")
        elif isinstance(value, dt.date):
            out[field] = value.isoformat()
    return out


def from_json(part: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The table as TOML would have given it to the loader: ISO text back to dates and date-times."""
    out = dict(entry)
    for field in MOMENTS[part]:
        value = out.get(field)
        if isinstance(value, str):
            out[field] = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    return out


def seed_entries(directory: Path, part: str) -> list[dict[str, Any]]:
    entries = read_toml(directory / FILES[part]).get(TABLES[part], [])
    return [dict(e) for e in entries] if isinstance(entries, list) else []


def latest_edits(session: Session) -> dict[tuple[str, str], ContentEdit]:
    """(part, item id) -> its newest edit."""
    newest = select(func.max(ContentEdit.id)).group_by(ContentEdit.part, ContentEdit.item_id)
    rows = session.scalars(select(ContentEdit).where(ContentEdit.id.in_(newest)))
    return {(r.part, r.item_id): r for r in rows}


def revision(session: Session) -> int:
    return session.scalar(select(func.max(ContentEdit.id))) or 0


def merged_entries(seed: list[dict[str, Any]], part: str,
                   edits: dict[tuple[str, str], ContentEdit]) -> list[dict[str, Any]]:
    """The file's items with the edits applied: replaced, cancelled (left out) or added (at the end)."""
    out, seen = [], set()
    for entry in seed:
        item_id = entry.get("id")
        seen.add(item_id)
        edit = edits.get((part, item_id)) if isinstance(item_id, str) else None
        if edit is None:
            out.append(entry)
        elif edit.entry is not None:
            out.append(from_json(part, edit.entry))
    for (edit_part, item_id), edit in sorted(edits.items(), key=lambda kv: kv[1].id):
        if edit_part == part and item_id not in seen and edit.entry is not None:
            out.append(from_json(part, edit.entry))
    return out


def build_parts(directory: Path, entries: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The loaded events and push plan from their entries (raises ContentError as `content check` would)."""
    return {EVENTS: events_from_entries(directory / FILES[EVENTS], entries[EVENTS], load_townships(directory)),
            PUSHES: plan_from_entries(directory / FILES[PUSHES], directory, entries[PUSHES])}


def with_edits(seed: Content, edits: dict[tuple[str, str], ContentEdit]) -> Content:
    if not edits:
        return seed
    entries = {part: merged_entries(seed_entries(seed.directory, part), part, edits) for part in FILES}
    return seed.replaced(**build_parts(seed.directory, entries))


def entry_of(session: Session, seed: Content, part: str, item_id: str) -> tuple[dict[str, Any] | None, int]:
    """An item's current table (None if unknown or cancelled) and the id of its newest edit (0: the file's)."""
    edit = session.scalar(select(ContentEdit).where(ContentEdit.part == part, ContentEdit.item_id == item_id)
                          .order_by(ContentEdit.id.desc()).limit(1))
    if edit is not None:
        return (from_json(part, edit.entry) if edit.entry is not None else None), edit.id
    found = next((e for e in seed_entries(seed.directory, part) if e.get("id") == item_id), None)
    return found, 0


def save(session: Session, *, part: str, item_id: str, entry: dict[str, Any] | None, actor: str,
         now: dt.datetime, base: int) -> ContentEdit:
    """Record an edit (entry None: cancel). `base` is the item's newest edit id the form was built on;
    if it moved meanwhile the edit would silently undo another's, so StaleEdit is raised instead."""
    current = session.scalar(select(func.max(ContentEdit.id)).where(ContentEdit.part == part,
                                                                     ContentEdit.item_id == item_id)) or 0
    if current != base:
        raise StaleEdit(item_id)
    row = ContentEdit(part=part, item_id=item_id, entry=to_json(part, entry) if entry is not None else None,
                      actor=actor[:64], at=now)
    session.add(row)
    session.flush()
    return row


@dataclasses.dataclass(frozen=True)
class Cancelled:
    item_id: str
    title: str  # as it was before the cancellation
    actor: str
    at: dt.datetime


def cancelled(session: Session, seed: Content, part: str) -> list[Cancelled]:
    """The items whose newest edit cancelled them, newest first, with the title they had."""
    out = []
    for (edit_part, item_id), edit in latest_edits(session).items():
        if edit_part != part or edit.entry is not None:
            continue
        earlier = session.scalar(select(ContentEdit.entry).where(
            ContentEdit.part == part, ContentEdit.item_id == item_id, ContentEdit.id < edit.id,
            ContentEdit.entry.is_not(None)).order_by(ContentEdit.id.desc()).limit(1))
        entry = earlier or next((e for e in seed_entries(seed.directory, part) if e.get("id") == item_id), {})
        out.append(Cancelled(item_id, str(entry.get("title", "")), edit.actor, edit.at))
    return sorted(out, key=lambda c: c.at, reverse=True)


def history(session: Session, part: str, item_id: str) -> list[ContentEdit]:
    return list(session.scalars(select(ContentEdit).where(ContentEdit.part == part, ContentEdit.item_id == item_id)
                                .order_by(ContentEdit.id.desc())))


# --- the content a process serves ----------------------------------------------------------------

@dataclasses.dataclass
class LiveContent:
    """The seed with the edits, rebuilt when the revision moves (checked at most every `interval`)."""

    seed: Content
    database: Any  # bot.db.Database
    interval: float = REFRESH_SECONDS
    current: Content = dataclasses.field(init=False)
    revision: int = dataclasses.field(default=-1, init=False)
    _next_check: float = dataclasses.field(default=0.0, init=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.current = self.seed

    def get(self) -> Content:
        if time.monotonic() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self.refresh()
            finally:
                self._lock.release()
        return self.current

    def refresh(self) -> None:
        """Read the revision; rebuild if it moved. A failure keeps the content already served."""
        try:
            with self.database.reads() as session:
                seen = revision(session)
                if seen != self.revision:
                    self.current = with_edits(self.seed, latest_edits(session) if seen else {})
                    self.revision = seen
            self._next_check = time.monotonic() + self.interval
        except ContentError:
            # Edits are checked before they are saved; should a seed change (a new release) clash
            # with one, the last content that loaded stays, and the log says why.
            log.exception("content edits up to revision %s do not load; serving revision %s", seen, self.revision)
            self.revision = seen
            self._next_check = time.monotonic() + self.interval
        except Exception:
            log.warning("content edits could not be read; serving revision %s", self.revision, exc_info=True)
            self._next_check = time.monotonic() + RETRY_SECONDS
