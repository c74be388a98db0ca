"""The report being written. Every answer is written to the DB at once: a store flush, a Redis
loss or an idle timeout loses nothing, and 继续 picks the draft up where it stopped."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.models.reports import PhotoStatus, ReportDraft, ReportPhoto

log = logging.getLogger(__name__)

MAX_PHOTOS = 9


def current(session: Session, owner: str, now: dt.datetime, keep_hours: int) -> ReportDraft | None:
    """The citizen's unfinished report, unless it was left longer than `keep_hours`."""
    draft = session.scalar(select(ReportDraft).where(ReportDraft.owner == owner))
    if draft is not None and now - draft.updated_at > dt.timedelta(hours=keep_hours):
        return None  # left too long; purge_expired (or the next start) removes it
    return draft


def start(session: Session, owner: str, step: str, now: dt.datetime, description: str | None = None) -> ReportDraft:
    """A fresh draft (any older one of this citizen is discarded)."""
    old = session.scalar(select(ReportDraft).where(ReportDraft.owner == owner))
    if old is not None:
        discard(session, old)
    draft = ReportDraft(key=uuid.uuid4().hex, owner=owner, step=step, created_at=now, updated_at=now,
                        description=description, description_prefilled=description is not None)
    session.add(draft)
    session.flush()
    return draft


def touch(draft: ReportDraft, step: str, now: dt.datetime) -> None:
    draft.step = step
    draft.updated_at = now


# The form's answers. Each setter writes one answer whole, so a step cannot leave half of one (an
# address with the old pin's coordinates, a contact still marked anonymous).

def choose_category(draft: ReportDraft, category: str) -> None:
    draft.category = category


def keep_prefilled_description(draft: ReportDraft) -> None:
    """The words the report started with are its description now (the citizen went past them)."""
    draft.description_prefilled = False


def describe(draft: ReportDraft, text: str) -> None:
    draft.description, draft.description_prefilled = text, False


def place_in(draft: ReportDraft, township: str, source: str) -> None:
    """The township the hazard is in, and what said so ("text": words naming it, "location": a pin)."""
    draft.township, draft.township_source = township, source


def pin(draft: ReportDraft, latitude: float, longitude: float, label: str | None) -> None:
    draft.latitude, draft.longitude, draft.address, draft.location_given = latitude, longitude, label or None, True


def address(draft: ReportDraft, text: str) -> None:
    draft.address, draft.latitude, draft.longitude, draft.location_given = text, None, None, True


def no_place(draft: ReportDraft) -> None:
    """The citizen skipped the location step: answered, with no place."""
    draft.address, draft.latitude, draft.longitude, draft.location_given = None, None, None, True


def photos_done(draft: ReportDraft) -> None:
    draft.photos_done = True


def anonymous(draft: ReportDraft) -> None:
    draft.anonymous, draft.name_enc, draft.phone_enc = True, None, None


def contact(draft: ReportDraft, name_enc: str, phone_enc: str) -> None:
    """Name and phone as the identity vault encrypted them (the draft never holds them in clear)."""
    draft.anonymous, draft.name_enc, draft.phone_enc = False, name_enc, phone_enc


def photo_count(session: Session, draft: ReportDraft) -> int:
    """Images and videos (a voice description is kept too, but is not one of the photos)."""
    return session.scalar(select(func.count()).select_from(ReportPhoto).where(
        ReportPhoto.draft_id == draft.id, ReportPhoto.kind != "voice")) or 0


def add_voice(session: Session, draft: ReportDraft, *, msg_key: str, media_id: str, now: dt.datetime) -> bool:
    """Keep the recording of a spoken description as evidence (the recognised text may be wrong)."""
    if not media_id or session.scalar(select(ReportPhoto.id).where(ReportPhoto.msg_key == msg_key)) is not None:
        return False
    session.add(ReportPhoto(msg_key=msg_key, draft_id=draft.id, kind="voice", media_id=media_id, pic_url=None,
                            received_at=now, status=PhotoStatus.PENDING, attempts=0, next_attempt_at=now))
    session.flush()
    return True


def add_photo(session: Session, draft: ReportDraft, *, msg_key: str, kind: str, media_id: str, pic_url: str,
              now: dt.datetime) -> tuple[int, bool]:
    """Keep an image or video of the draft; returns (photos now, added). A resent message adds nothing."""
    if session.scalar(select(ReportPhoto.id).where(ReportPhoto.msg_key == msg_key)) is not None:
        return photo_count(session, draft), False
    count = photo_count(session, draft)
    if count >= MAX_PHOTOS:
        return count, False
    session.add(ReportPhoto(msg_key=msg_key, draft_id=draft.id, kind=kind, media_id=media_id, pic_url=pic_url or None,
                            received_at=now, status=PhotoStatus.PENDING, attempts=0, next_attempt_at=now))
    draft.updated_at = now
    session.flush()
    return count + 1, True


def discard(session: Session, draft: ReportDraft, photo_dir: Path | None = None) -> None:
    """Forget a draft and its evidence (files too, if already downloaded)."""
    photos = list(session.scalars(select(ReportPhoto).where(ReportPhoto.draft_id == draft.id)))
    for photo in photos:
        if photo.path and photo_dir is not None:
            (photo_dir / photo.path).unlink(missing_ok=True)
    session.execute(delete(ReportPhoto).where(ReportPhoto.draft_id == draft.id))
    session.delete(draft)
    session.flush()


def purge_expired(session: Session, now: dt.datetime, keep_hours: int, photo_dir: Path | None = None) -> int:
    """Scheduler job: drop drafts left longer than `keep_hours`. Returns how many."""
    cutoff = now - dt.timedelta(hours=keep_hours)
    drafts = list(session.scalars(select(ReportDraft).where(ReportDraft.updated_at < cutoff)))
    for draft in drafts:
        discard(session, draft, photo_dir)
    return len(drafts)
