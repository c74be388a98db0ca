"""The quiz feature's scheduled jobs (registered in bot/background/jobs/__init__.py); each takes the Bot."""

from __future__ import annotations

import logging
from typing import Any

from bot.services.quiz import claims, rounds

log = logging.getLogger(__name__)


def close_idle_rounds(bot: Any) -> None:
    """Close rounds left idle past the limit: closed, never scored as if finished."""
    with bot.db.transaction() as session:
        closed = rounds.expire_idle_rounds(session, bot.config.quiz, bot.clock.now())
    if closed:
        log.info("closed %d idle quiz rounds", closed)


def expire_prizes(bot: Any) -> None:
    """Unclaimed prizes expire after claim_days; contact data is erased after delivery."""
    with bot.db.transaction() as session:
        expired = claims.expire_unclaimed(session, bot.clock.now())
        erased = claims.erase_claim_contacts(session, bot.clock.now())
    if expired or erased:
        log.info("prizes: %d expired unclaimed, %d claims' contact data erased", expired, erased)
