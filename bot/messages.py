"""A message's path after the gateway: dedupe, per-user lock, conversation, router, handler, reply."""

from __future__ import annotations

import logging

from bot.context import Context
from bot.conversation import Conversation
from bot.dedupe import SUCCESS
from bot.replies import Text, as_reply, render
from bot.runtime import Bot
from bot.services import citizens
from bot.store import LockTimeout
from bot.wechat.inbound import Inbound

log = logging.getLogger(__name__)

LOCK_TTL = 30.0  # longer than any handler may run; released as soon as the handler returns


def handle(bot: Bot, msg: Inbound) -> str:
    """The plaintext reply XML (or `success`) for one delivery of a message."""
    cached = bot.dedupe.claim(msg.dedupe_key)
    if cached is not None:
        log.info("retry of %s answered from the first delivery", msg.dedupe_key)
        return cached
    try:
        with bot.store.lock(f"lock:{msg.openid}", ttl=LOCK_TTL, wait=bot.config.conversation.lock_wait_seconds):
            out = run(bot, msg)
    except LockTimeout:
        # The citizen's previous message is still being handled. Give the claim back so that
        # WeChat's retry of this one can run, and say so rather than drop it silently.
        bot.dedupe.release(msg.dedupe_key)
        return render(Text(bot.content.replies["busy"]), msg)
    bot.dedupe.remember(msg.dedupe_key, out)
    return out


def run(bot: Bot, msg: Inbound) -> str:
    """Route and handle one message under the user's lock; never raises."""
    session = bot.db.session()
    try:
        now = bot.clock.now()
        citizens.record_inbound(session, bot.store, msg, now)
        session.commit()
        conv = Conversation(bot.store, msg.openid, bot.clock, bot.idle)
        ctx = Context(msg=msg, conv=conv, session=session, bot=bot, log=log)
        rule = bot.dispatcher.pick(msg, ctx)
        reply = as_reply(rule.handler(msg, ctx)) if rule else None
        session.commit()
        if conv.expired_flow and isinstance(reply, Text):
            reply = Text(bot.content.replies["timeout"] + "\n\n" + reply.content)
        conv.save()
    except Exception:
        session.rollback()
        log.exception("handler failed for openid=%s msg=%s", msg.openid, msg.dedupe_key)
        reply = Text(bot.content.replies["apology"])
    finally:
        session.close()
    return SUCCESS if reply is None else render(reply, msg)
