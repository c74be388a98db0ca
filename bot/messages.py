"""A message's path after the gateway: dedupe, per-user lock, conversation, router, handler, reply."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.context import Context
from bot.conversation import Conversation
from bot.dedupe import SUCCESS
from bot.observability import anon
from bot.replies import Text, as_reply, render
from bot.runtime import Bot
from bot.services import citizens
from bot.store import LockTimeout, StoreError
from bot.wechat.inbound import Inbound

log = logging.getLogger(__name__)


def handle(bot: Bot, msg: Inbound) -> str:
    """The plaintext reply XML (or `success`) for one delivery of a message."""
    try:
        entry = bot.gate.enter(msg.dedupe_key, msg.openid, note_seen=msg.is_person_action)
    except LockTimeout:
        # The citizen's previous message is still being handled (the gate gave the claim back, so
        # WeChat's retry of this one can run); say so rather than drop it silently.
        return render(Text(bot.content.replies["busy"]), msg, _timestamp(bot))
    except StoreError:
        return handle_without_store(bot, msg)
    if entry.replay is not None:
        bot.metrics.dedupe_hits.inc()
        log.info("retry of %s answered from the first delivery", msg.dedupe_key)
        return entry.replay
    conv = Conversation(msg.openid, bot.clock, bot.idle, saved=entry.conversation)
    out = run(bot, msg, conv, first_seen=entry.first_seen)
    try:
        bot.gate.leave(entry, conv.change(), out)
    except StoreError:
        # The handler's database work is committed, but its step could not be kept: say something
        # went wrong so the citizen repeats it (the lock and claim expire on their own).
        bot.metrics.store_errors.inc()
        log.warning("store failed after handling %s; conversation not saved", msg.dedupe_key)
        return render(Text(bot.content.replies["apology"]), msg, _timestamp(bot))
    return out


def handle_without_store(bot: Bot, msg: Inbound) -> str:
    """The store (Redis) is down: answer what needs no state, refuse to start or continue flows.

    Without the store there is no dedupe, no lock and no conversation, so anything that would
    enter a flow is rolled back and the citizen is told to try again; help, events and knowledge
    still answer.
    """
    bot.metrics.store_errors.inc()
    bot.metrics.degraded.inc()
    log.warning("store unavailable; handling %s without state", msg.dedupe_key)
    conv = Conversation(msg.openid, bot.clock, bot.idle)
    return run(bot, msg, conv, first_seen=False, stateless=True)


def run(bot: Bot, msg: Inbound, conv: Conversation, *, first_seen: bool, stateless: bool = False) -> str:
    """Route and handle one message under the user's lock; never raises."""
    session = bot.db.session()
    rule = None
    try:
        now = bot.clock.now()
        citizens.record_inbound(bot.db, session, msg, now, first_seen=first_seen)
        _commit(session)
        ctx = Context(msg=msg, conv=conv, session=session, bot=bot, log=log)
        rule = bot.dispatcher.pick(msg, ctx)
        reply = as_reply(rule.handler(msg, ctx)) if rule else None
        if stateless and conv.state is not None:
            session.rollback()
            return render(Text(bot.content.replies["busy_system"]), msg, _timestamp(bot))
        _commit(session)
        if conv.expired_flow and isinstance(reply, Text):
            reply = Text(bot.content.replies["timeout"] + "\n\n" + reply.content)
    except Exception as exc:
        session.rollback()
        conv.clear_changes()
        if isinstance(exc, StoreError):
            bot.metrics.store_errors.inc()
        elif isinstance(exc, SQLAlchemyError):
            bot.metrics.db_errors.inc()
        bot.metrics.handler_errors.labels(rule.router if rule else "-").inc()
        log.exception("handler failed for openid=%s msg=%s", anon(msg.openid), msg.dedupe_key)
        reply = Text(bot.content.replies["apology"])
    finally:
        session.close()
    return SUCCESS if reply is None else render(reply, msg, _timestamp(bot))


def _commit(session: Session) -> None:
    """Commit what was done; most messages touch no table, and an empty commit still cost ~65 µs."""
    if session.in_transaction():
        session.commit()


def _timestamp(bot: Bot) -> int:
    """The reply's CreateTime, from the injected clock (the demo's simulated day, a test's frozen one)."""
    return int(bot.clock.now().timestamp())
