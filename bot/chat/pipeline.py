"""A message's path after the gateway: dedupe, per-user lock, conversation, router, handler, reply."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.chat.context import ANSWER_WITHOUT_STORE, Context
from bot.chat.conversation import Conversation
from bot.chat.dedupe import SUCCESS
from bot.chat.gate import Entry
from bot.chat.routing import Rule
from bot.infra.db import writes
from bot.infra.store import LockTimeout, StoreError
from bot.runtime import Bot
from bot.services import citizens, service_window
from bot.services.emergency_net import with_safety_line
from bot.services.reports.identity import IdentityError, vault_of
from bot.wechat.inbound import Inbound
from bot.wechat.replies import Text, as_reply, render

log = logging.getLogger(__name__)


def handle(bot: Bot, msg: Inbound) -> str:
    """The plaintext reply XML (or `success`) for one delivery of a message."""
    try:
        # A citizen's message from outside any flow may need no claim and no lock (gate.py).
        # Only a message takes the gate's once-a-minute "seen" mark (a menu click in that minute must
        # not hide a message: the two open different allowances, service_window.py).
        entry = bot.gate.enter(msg.dedupe_key, msg.openid,
                               note_seen=service_window.opened_by(msg) == service_window.MESSAGE,
                               free_if_idle=msg.is_person_action)
        if entry.free:
            out = run_free(bot, msg, entry)
            if out is not None:
                return out
            # Not pure (its rule is not, or the handler wrote and was rolled back): the ordinary
            # way, claimed and locked.
            entry = dataclasses.replace(bot.gate.enter(msg.dedupe_key, msg.openid, note_seen=False),
                                        first_seen=entry.first_seen)
    except LockTimeout:
        # The citizen's previous message is still being handled (the gate gave the claim back, so
        # WeChat's retry of this one can run); say so rather than drop it silently.
        return render(Text(bot.content.replies["busy"]), msg, _timestamp(bot))
    except StoreError:
        return handle_without_store(bot, msg)
    if entry.replay is not None:
        bot.metrics.dedupe_hits.inc()
        log.info("retry of %s answered from the first delivery", msg.dedupe_key)
        return opened_reply(bot, entry.replay)
    conv = Conversation(msg.openid, bot.clock, bot.idle, saved=entry.conversation)
    out = run(bot, msg, conv, first_seen=entry.first_seen)
    try:
        bot.gate.leave(entry, conv.change(), sealed_reply(bot, out))
    except StoreError:
        # The handler's database work is committed, but its step could not be kept: say something
        # went wrong so the citizen repeats it (the lock and claim expire on their own).
        bot.metrics.store_errors.inc()
        log.warning("store failed after handling %s; conversation not saved", msg.dedupe_key)
        return render(Text(bot.content.replies["apology"]), msg, _timestamp(bot))
    return out


REPLY_FIELD = "dedupe-reply"


def sealed_reply(bot: Bot, reply: str) -> str:
    """The reply as the store keeps it for WeChat's retries: encrypted with the identity vault, for
    a reply can hold a new report's query code, a reporter's or a winner's name and phone, and the
    store (Redis) is not where those may lie in clear. `success` needs no sealing."""
    return reply if reply == SUCCESS else vault_of(bot).encrypt(REPLY_FIELD, reply)


def opened_reply(bot: Bot, kept: str) -> str:
    """A kept reply, decrypted (one kept in clear before this release, or `success`, as it is)."""
    try:
        return vault_of(bot).open_if_sealed(REPLY_FIELD, kept)
    except IdentityError:
        log.warning("a kept reply could not be decrypted (identity key changed?); answered success")
        return SUCCESS


def run_free(bot: Bot, msg: Inbound, entry: Entry) -> str | None:
    """A message from a citizen in no flow (at most a context, such as a list to page), without
    claim or lock, when its rule is pure; nothing to leave but the context (gate.py). None when the
    rule is not pure, or its handler wrote to the database after all (rolled back)."""
    conv = Conversation(msg.openid, bot.clock, bot.idle, saved=entry.conversation)
    session = bot.db.session()
    try:
        rule = bot.dispatcher.pick(msg, Context(msg=msg, conv=conv, session=session, bot=bot, log=log))
    except Exception:
        return None  # the ordinary path routes it again and answers the failure
    finally:
        session.close()
    if rule is None or not rule.pure:
        return None
    out = run(bot, msg, conv, first_seen=entry.first_seen, rule=rule)
    change = conv.change()
    if out is not None and change is not None:
        try:
            if not bot.gate.keep_context(entry, change):
                log.info("context of %s not kept: the conversation changed meanwhile", msg.dedupe_key)
        except StoreError:
            bot.metrics.store_errors.inc()
            log.warning("store failed keeping the context of %s", msg.dedupe_key)
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


def run(bot: Bot, msg: Inbound, conv: Conversation, *, first_seen: bool, stateless: bool = False,
        rule: Rule | None = None) -> str:
    """Route and handle one message under the user's lock; never raises.

    Given a pure `rule` (run_free: no lock), returns None instead of committing when its handler
    wrote to the database after all."""
    session = bot.db.session()
    pure = rule is not None
    try:
        now = bot.clock.now()
        citizens.record_inbound(bot.last_seen, session, msg, now, first_seen=first_seen)
        _commit(session)
        written = writes(session)  # a follow or unfollow is recorded whatever the rule
        ctx = Context(msg=msg, conv=conv, session=session, bot=bot, log=log)
        in_flow = conv.state is not None
        rule = rule or bot.dispatcher.pick(msg, ctx)
        reply = as_reply(rule.handler(msg, ctx)) if rule else None
        if isinstance(reply, Text) and not in_flow and msg.kind in ("text", "voice") and not msg.oversized:
            reply = Text(with_safety_line(bot.content, msg.text, reply.content, guessed=rule.guesses))
        if pure and writes(session) > written:
            log.warning("pure rule %s wrote to the database; running %s under the lock",
                        rule.handler.__name__, msg.dedupe_key)  # type: ignore[union-attr]
            session.rollback()
            return None  # type: ignore[return-value]
        if stateless and conv.state is not None and not ctx.memo.get(ANSWER_WITHOUT_STORE):
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
        log.exception("handler failed for citizen %s msg=%s", msg.sender, msg.dedupe_key)
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
