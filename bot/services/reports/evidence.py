"""Evidence: photos, videos and voice the reporter sent, fetched from the WeChat media API in the background.

WeChat keeps a user's media for 3 days (wechat-frameworks.md §2). Each message's MediaId and PicUrl
are written when it arrives; this job fetches the file, stores it under `photo_dir` with its
SHA-256, and on failure counts the attempt and tries again later. Past 3 days the media is gone: the
row is marked expired with the reason and stays visible to staff.

A video comes in two requests (media/get answers `{"video_url": ...}`, the API client downloads that
address); a failure of either is one failed attempt, retried on the same schedule. The file's type
comes from WeChat's Content-Type (voice is AMR, or Speex from the JSSDK media call), then from its
first bytes; an answer that is JSON is never stored as a file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import PROJECT_ROOT, Config
from bot.models.reports import PhotoStatus, ReportPhoto

# A photo's state as staff read it (console and `reports show`).
PHOTO_STATUS = {PhotoStatus.PENDING: "待下载", PhotoStatus.STORED: "已保存", PhotoStatus.EXPIRED: "已过期（微信仅保留3天）",
                PhotoStatus.FAILED: "下载失败"}
ERRORS_JOINED_BY = "; "  # an expired photo keeps its earlier download error before the expiry


def error_text(photo: ReportPhoto) -> str:
    """A photo's last download error as staff read it (console and `reports show`): WeChat's English
    ("40007 invalid media_id ...") in Chinese; an expired photo's reason is the last of its errors."""
    from bot.services.notices import coded_error_text  # notices imports the report services

    return coded_error_text((photo.last_error or "").rsplit(ERRORS_JOINED_BY, 1)[-1])

log = logging.getLogger(__name__)

MEDIA_LIFETIME = dt.timedelta(days=3)
INVALID_MEDIA_ERRCODES = {40007}  # "invalid media_id": asking again will not help
BASE_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(hours=1)


class DownloadedMedia(Protocol):
    content: bytes
    content_type: str


class MediaSource(Protocol):
    def fetch_media(self, media_id: str) -> DownloadedMedia: ...


# WeChat's Content-Type → the stored file's extension.
EXTENSIONS = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png", "image/gif": ".gif",
              "video/mp4": ".mp4", "video/mpeg4": ".mp4", "audio/amr": ".amr", "audio/speex": ".speex",
              "audio/x-speex": ".speex", "audio/mpeg": ".mp3", "audio/mp3": ".mp3"}


class NotAFile(Exception):
    """WeChat answered with something other than the media file (e.g. JSON)."""


@dataclasses.dataclass
class DownloadSummary:
    stored: int = 0
    retrying: int = 0
    expired: int = 0
    failed: int = 0


def photo_dir(config: Config) -> Path:
    path = Path(config.reports.photo_dir)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _extension(data: bytes, kind: str, content_type: str = "") -> str:
    if content_type in EXTENSIONS:
        return EXTENSIONS[content_type]
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data[:4] == b"GIF8":
        return ".gif"
    if data[4:8] == b"ftyp":
        return ".mp4"
    if data.startswith(b"#!AMR"):
        return ".amr"
    if data.startswith(b"OggS") and b"Speex" in data[:128]:
        return ".spx"
    return {"video": ".mp4", "voice": ".amr"}.get(kind, ".bin")


def _check_is_file(media: DownloadedMedia) -> None:
    if media.content_type.startswith(("application/json", "text/")) or media.content.lstrip()[:1] == b"{":
        raise NotAFile(f"WeChat answered {media.content_type or 'JSON'} instead of the media file")


def _describe(exc: Exception) -> tuple[int | None, str]:
    errcode = getattr(exc, "errcode", None)
    errmsg = getattr(exc, "errmsg", None) or str(exc) or type(exc).__name__
    return (int(errcode) if isinstance(errcode, int | str) and str(errcode).lstrip("-").isdigit() else None), errmsg


def due_photos(session: Session, now: dt.datetime, limit: int = 50) -> list[ReportPhoto]:
    return list(session.scalars(select(ReportPhoto).where(
        ReportPhoto.status == PhotoStatus.PENDING, ReportPhoto.next_attempt_at <= now)
        .order_by(ReportPhoto.next_attempt_at, ReportPhoto.id).limit(limit)))


def download_pending_photos(session: Session, api: MediaSource, photo_dir: Path, now: dt.datetime,
                            limit: int = 50) -> DownloadSummary:
    """Scheduler job. Commits after each photo, so a crash midway keeps what was fetched."""
    summary = DownloadSummary()
    for photo in due_photos(session, now, limit):
        _fetch(photo, api, photo_dir, now, summary)
        session.commit()
    return summary


def _fetch(photo: ReportPhoto, api: MediaSource, root: Path, now: dt.datetime, summary: DownloadSummary) -> None:
    if now - photo.received_at >= MEDIA_LIFETIME:
        photo.status = PhotoStatus.EXPIRED
        photo.last_error = (photo.last_error + ERRORS_JOINED_BY if photo.last_error else "") + \
            "WeChat media expired (3 days) before it could be downloaded"
        summary.expired += 1
        return
    photo.attempts += 1
    try:
        media = api.fetch_media(photo.media_id)
        _check_is_file(media)
    except Exception as exc:  # any client error: the errcode (if any) decides whether to retry
        errcode, errmsg = _describe(exc)
        photo.last_error = f"{errcode} {errmsg}" if errcode is not None else errmsg
        paused_until = getattr(exc, "until", None)  # no access token (IP whitelist, secret, quota)
        if isinstance(paused_until, dt.datetime):
            photo.attempts -= 1  # nothing was asked of WeChat: try again when the pause ends
            photo.next_attempt_at = paused_until
            summary.retrying += 1
            return
        if errcode in INVALID_MEDIA_ERRCODES:
            photo.status = PhotoStatus.FAILED
            summary.failed += 1
        else:
            delay = min(BASE_DELAY * 2 ** (photo.attempts - 1), MAX_DELAY)
            photo.next_attempt_at = now + delay
            summary.retrying += 1
        log.warning("photo %s download failed (attempt %s): %s", photo.id, photo.attempts, photo.last_error)
        return
    data = media.content
    digest = hashlib.sha256(data).hexdigest()
    extension = _extension(data, photo.kind, media.content_type)
    relative = Path(f"{photo.received_at:%Y%m%d}") / f"{photo.id}-{digest[:16]}{extension}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(target)  # never a half-written file under the final name
    photo.path, photo.sha256, photo.size = relative.as_posix(), digest, len(data)
    photo.status, photo.stored_at, photo.last_error = PhotoStatus.STORED, now, None
    summary.stored += 1


def verify_file(photo: ReportPhoto, root: Path) -> bool:
    """The stored file is there and still has its checksum."""
    if not photo.path or not photo.sha256:
        return False
    path = root / photo.path
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == photo.sha256
