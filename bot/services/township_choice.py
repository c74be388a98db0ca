"""A citizen's township: stored on Citizen.township, mirrored to a WeChat tag by the sender."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.services import citizens
from bot.services.outbox import enqueue
from bot.services.townships import Township


def set_township(session: Session, openid: str, township: Township, now: dt.datetime, message_key: str) -> bool:
    """Store the choice and queue the tag change. False when it was already the citizen's township.

    The WeChat call happens in the sender, never inside WeChat's 5-second window. The row is keyed
    on the message, so WeChat's retries of that message queue nothing twice.
    """
    citizen = citizens.get_or_create(session, openid, now)
    if citizen.township == township.id:
        return False
    previous = citizen.township
    citizen.township = township.id
    enqueue(session, key=f"township:{message_key}", purpose="township_tag", openid=openid, now=now,
            payload={"type": "tag", "township": township.id, "previous": previous})
    return True
