"""Followers: first seen, (un)subscribed, last interaction (the 48-hour window depends on it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.infra.db import insert_unless_present
from bot.infra.last_seen import LastSeen
from bot.models import Citizen
from bot.services import service_window
from bot.wechat.inbound import Inbound


def get_or_create(session: Session, openid: str, now: dt.datetime) -> Citizen:
    """The citizen's row, created if this is their first trace. Created with ON CONFLICT DO NOTHING:
    the batched last-seen write (bot/infra/last_seen.py) may insert the same row at the same moment."""
    citizen = session.scalar(select(Citizen).where(Citizen.openid == openid))
    if citizen is None:
        session.execute(insert_unless_present(Citizen, ("openid", "first_seen_at"), "id"),
                        {"openid": openid, "first_seen_at": now})
        citizen = session.scalars(select(Citizen).where(Citizen.openid == openid)).one()
    return citizen


def township_of(session: Session, openid: str) -> str | None:
    """The township a citizen told us (handlers/township.py), or None."""
    return session.scalar(select(Citizen.township).where(Citizen.openid == openid))


def record_inbound(last_seen: LastSeen, session: Session, msg: Inbound, now: dt.datetime, *, first_seen: bool) -> None:
    """Note what this message tells us about its sender; follows and unfollows are committed before
    the handler runs.

    Only what the platform counts opens the customer-service window (service_window.opened_by):
    a message moves `last_interaction_at`, noted only for the citizen's first message in a minute
    (`first_seen`, from the gate) and written in batches (bot/infra/last_seen.py): a minute of slack is
    nothing next to a 48-hour window. A menu click or a scan moves `window_event_at` (batched too);
    a follow is written with the follow itself.
    """
    opens = service_window.opened_by(msg)
    follow_change = msg.kind == "event" and msg.event in ("subscribe", "unsubscribe")
    if not follow_change:
        if opens == service_window.MESSAGE and first_seen:
            last_seen.note(msg.openid, now)
        elif opens in (service_window.MENU, service_window.SCAN):
            last_seen.note_event(msg.openid, now, opens)
        return
    citizen = get_or_create(session, msg.openid, now)
    if msg.event == "subscribe" and msg.kind == "event":
        citizen.subscribed_at = now
        citizen.unsubscribed_at = None
        citizen.subscribe_scene = msg.event_key or None
    elif msg.event == "unsubscribe" and msg.kind == "event":
        citizen.unsubscribed_at = now
        return
    citizen.window_event_at = now
    citizen.window_event_kind = service_window.FOLLOW


def window_of(citizen: Citizen) -> service_window.Window:
    return service_window.Window(citizen.last_interaction_at, citizen.window_event_at, citizen.window_event_kind,
                                 following=citizen.is_following)


def within_service_window(citizen: Citizen, now: dt.datetime) -> bool:
    """Some allowance is open (how many messages it has left is the sender's count)."""
    return citizen.is_following and bool(window_of(citizen).grants(now))
