"""Followers: first seen, (un)subscribed, last interaction (the 48-hour window depends on it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Database, insert_or_update
from bot.models import Citizen
from bot.wechat.inbound import Inbound


def get_or_create(session: Session, openid: str, now: dt.datetime) -> Citizen:
    citizen = session.scalar(select(Citizen).where(Citizen.openid == openid))
    if citizen is None:
        citizen = Citizen(openid=openid, first_seen_at=now)
        session.add(citizen)
        session.flush()
    return citizen


def record_inbound(db: Database, session: Session, msg: Inbound, now: dt.datetime, *, first_seen: bool) -> None:
    """Note what this message tells us about its sender; committed before the handler runs.

    Writing last_interaction_at on every message would put a DB write on every request, so it is
    written only for the citizen's first message in a minute (`first_seen`, from the gate): a
    minute of slack is nothing next to a 48-hour window.
    """
    follow_change = msg.kind == "event" and msg.event in ("subscribe", "unsubscribe")
    if not follow_change:
        if msg.is_person_action and first_seen:
            # The common case, one statement in a transaction of its own: it was a third of a busy
            # worker's CPU through the ORM, and BEGIN and COMMIT were two of its three round trips.
            touch = {"openid": msg.openid, "first_seen_at": now, "last_interaction_at": now}
            db.execute_alone(insert_or_update(Citizen, tuple(touch), "openid", ("last_interaction_at",)), touch)
        return
    citizen = get_or_create(session, msg.openid, now)
    if msg.event == "subscribe" and msg.kind == "event":
        citizen.subscribed_at = now
        citizen.unsubscribed_at = None
        citizen.subscribe_scene = msg.event_key or None
    elif msg.event == "unsubscribe" and msg.kind == "event":
        citizen.unsubscribed_at = now
        return
    citizen.last_interaction_at = now


def within_service_window(citizen: Citizen, now: dt.datetime) -> bool:
    return (citizen.last_interaction_at is not None and citizen.is_following
            and now - citizen.last_interaction_at < dt.timedelta(hours=48))
