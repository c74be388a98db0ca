"""The reports feature's scheduled jobs (registered in bot/background/jobs/__init__.py); each takes the Bot."""

from __future__ import annotations

import logging
from typing import Any

from bot.services.reports import deadlines, drafts, evidence, identity

log = logging.getLogger(__name__)


def download_photos(bot: Any) -> None:
    """Fetch hazard photos from WeChat before their media ids expire (3 days)."""
    with bot.db.session() as session:
        summary = evidence.download_pending_photos(session, bot.extensions["api"], evidence.photo_dir(bot.config),
                                                   bot.clock.now())
    if summary.failed or summary.expired:
        log.warning("photo downloads: %s", summary)


def list_overdue(bot: Any) -> None:
    """The daily list of overdue reports for staff (also on the console's report list)."""
    with bot.db.session() as session:
        overdue = deadlines.overdue_reports(session, bot.clock.now())
    if overdue:
        log.warning("%d overdue reports: %s", len(overdue), ", ".join(r.ticket for r in overdue))


def erase_contacts(bot: Any) -> None:
    """Erase contact data of closed reports after the retention period; the reports stay."""
    with bot.db.transaction() as session:
        erased = identity.erase_old_contacts(session, bot.clock.now(), bot.config.reports.contact_retention_days,
                                             bot.vault)
    if erased:
        log.info("erased contact data of %d closed reports", erased)


def forget_notice_recipients(bot: Any) -> None:
    """Null the openid of report notices once they are final (48 hours after sending)."""
    from bot.services import notices

    with bot.db.transaction() as session:
        forgotten = notices.forget_recipients(session, bot.clock.now())
    if forgotten:
        log.info("forgot the recipient of %d final report notices", forgotten)


def purge_drafts(bot: Any) -> None:
    """Drop unfinished reports older than draft_keep_hours (with their photos)."""
    with bot.db.transaction() as session:
        purged = drafts.purge_expired(session, bot.clock.now(), bot.config.reports.draft_keep_hours,
                                      evidence.photo_dir(bot.config))
    if purged:
        log.info("purged %d abandoned report drafts", purged)
