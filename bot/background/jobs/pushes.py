"""The push plan's scheduled job (registered in bot/background/jobs/__init__.py); it takes the Bot."""

from __future__ import annotations

import logging
from typing import Any

from bot.services import pushplan

log = logging.getLogger(__name__)


def queue_plan(bot: Any) -> None:
    """Queue the content's plan items that are due (each once: the outbox key is the item's)."""
    with bot.db.transaction() as session:
        added = pushplan.enqueue_due(session, bot.content.pushes, bot.clock.now())
    for delivery in added:
        log.info("push plan: queued %s", delivery.key)
