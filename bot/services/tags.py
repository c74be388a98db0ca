"""WeChat user tags that mirror townships: one tag per township, created on demand, ids kept in the DB."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.infra.db import Database
from bot.infra.store import Store
from bot.models import WeChatTag
from bot.wechat.api import WeChatAPI, WeChatAPIError

TAG_EXISTS = 45157


def tag_name(township_name: str) -> str:
    return township_name[:30]  # WeChat: at most 30 characters


def known_tag_id(db: Database, township: str) -> int | None:
    with db.session() as session:
        return session.scalar(select(WeChatTag.tag_id).where(WeChatTag.township == township))


def ensure_tag(db: Database, api: WeChatAPI, store: Store, township: str, name: str, now: dt.datetime) -> int:
    """The tag id for a township, creating the WeChat tag the first time (from the sender, never a handler)."""
    tag_id = known_tag_id(db, township)
    if tag_id is not None:
        return tag_id
    with store.lock(f"wechat:tag:{township}", ttl=30.0, wait=30.0):
        tag_id = known_tag_id(db, township)  # another sender may have created it meanwhile
        if tag_id is not None:
            return tag_id
        try:
            tag_id = api.create_tag(tag_name(name))
        except WeChatAPIError as exc:
            if exc.errcode != TAG_EXISTS:
                raise
            # Created earlier (by staff, or before a crash): adopt it.
            tag_id = api.list_tags()[tag_name(name)]
        # Its own transaction, committed at once: the tag now exists at WeChat, whatever the caller does next.
        try:
            with db.transaction() as session:
                session.add(WeChatTag(township=township, name=tag_name(name), tag_id=tag_id, created_at=now))
        except IntegrityError:
            pass  # recorded meanwhile (a sender in another process, past the lock's ttl): same tag
        return tag_id
