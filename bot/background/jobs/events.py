"""The events feature's scheduled job (registered in bot/background/jobs/__init__.py); it takes the Bot."""

from __future__ import annotations

import logging
from typing import Any

from bot.services import events

log = logging.getLogger(__name__)


def queue_reminders(bot: Any) -> None:
    """Refresh reminders from the content (times, cancellations), then queue the due ones."""
    with bot.db.transaction() as session:
        events.refresh_reminders(session, bot.content.events, bot.config.events.reminder_hours_before)
        queued = events.enqueue_due_reminders(session, bot.clock.now(), bot.content.events)
    if queued:
        log.info("queued %d event reminders", queued)
