"""A message's path after the gateway: router, gate (dedupe, per-user lock, conversation), handler, reply.

A citizen's message is routed once, as for a citizen in no flow, before the gate: its rule decides
the path (pure: neither claim nor lock; any other: claimed and locked by the gate's first round
trip). Only when the gate finds a conversation is it routed again, for that conversation.
"""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.chat.context import ANSWER_WITHOUT_STORE, Context
from bot.chat.conversation import Conversation
from bot.chat.dedupe import SUCCESS
from bot.chat.gate import Entry
from bot.chat.routing import GoOn, Rule
from bot.infra.db import writes
from bot.infra.store import LockTimeout, StoreError
from bot.runtime import Bot
from bot.services import citizens, service_window
from bot.services.emergency_net import with_safety_line
from bot.services.reports.identity import REPLY_FIELD, IdentityError
from bot.wechat.inbound import Inbound
from bot.wechat.replies import Reply, Text, as_reply, render

log = logging.getLogger(__name__)


def handle(bot: Bot, msg: Inbound) -> str:
    """The plaintext reply XML (or `success`) for one delivery of a message."""
    session = bot.db.session()  # one for the message: routing and the handler share it
    try:
        return _handle(bot, msg, session)
    finally:
        session.close()


@dataclasses.dataclass
class Routed:
    """A message routed for the conversation the store held (`saved`, None for none)."""

    saved: str | None
    ctx: Context
    rule: Rule | None = None
    picked: bool = False  # False: not routed yet, or routing failed; run() routes (and answers a failure)

    @property
    def pure(self) -> bool:
        return self.picked and self.rule is not None and self.rule.pure


def routed(bot: Bot, msg: Inbound, session: Session, saved: str | None, *, pick: bool = True) -> Routed:
    """The message's context for `saved`, and its rule when `pick`."""
    conv = Conversation(msg.openid, bot.clock, bot.idle, saved=saved)
    found = Routed(saved, Context(msg=msg, conv=conv, session=session, bot=bot, log=log))
    if pick:
        try:
            found.rule, found.picked = bot.dispatcher.pick(msg, found.ctx), True
        except Exception:
            pass  # run() routes it again, and answers the failure
        finally:
            if session.in_transaction():
                session.rollback()  # a matcher's reads must not hold a connection while the gate waits
    return found


def for_conversation(bot: Bot, msg: Inbound, session: Session, earlier: Routed | None, saved: str | None,
                     *, pick: bool = True) -> Routed:
    """`earlier` when it was routed for this very conversation, else the message routed afresh for it."""
    if earlier is not None and earlier.picked and earlier.saved == saved:
        return earlier
    return routed(bot, msg, session, saved, pick=pick)


def _handle(bot: Bot, msg: Inbound, session: Session) -> str:
    # A citizen's message is routed once, before the gate, as for a citizen in no flow (most are):
    # a pure rule needs no claim and no lock (gate.py), any other is claimed and locked on the
    # first round trip. Should the gate find a conversation, the message is routed again for it.
    # Only a message takes the gate's once-a-minute "seen" mark (a menu click in that minute must
    # not hide a message: the two open different allowances, service_window.py).
    first = routed(bot, msg, session, None) if msg.is_person_action else None
    try:
        entry = bot.gate.enter(msg.dedupe_key, msg.openid,
                               note_seen=service_window.opened_by(msg) == service_window.MESSAGE,
                               free_if_idle=first is not None and first.pure)
        if entry.free:
            first = for_conversation(bot, msg, session, first, entry.conversation)
            if first.pure:
                out = run_free(bot, msg, first, entry)
                if out is not None:
                    return out
                first = None  # its handler wrote and was rolled back: the conversation is stale
            # Not pure (for this context, or it wrote after all): the ordinary way, claimed and locked.
            entry = dataclasses.replace(bot.gate.enter(msg.dedupe_key, msg.openid, note_seen=False),
                                        first_seen=entry.first_seen)
    except LockTimeout:
        # The citizen's previous message is still being handled (the gate gave the claim back, so
        # WeChat's retry of this one can run); say so rather than drop it silently.
        return render(Text(bot.content.replies["busy"]), msg, _timestamp(bot))
    except StoreError:
        return handle_without_store(bot, msg, session)
    if entry.replay is not None:
        bot.metrics.dedupe_hits.inc()
        log.info("retry of %s answered from the first delivery", msg.dedupe_key)
        return opened_reply(bot, entry.replay)
    message = for_conversation(bot, msg, session, first, entry.conversation, pick=False)
    out = run(bot, msg, message, first_seen=entry.first_seen)
    try:
        bot.gate.leave(entry, message.ctx.conv.change(), sealed_reply(bot, out))
    except StoreError:
        # The handler's database work is committed, but its step could not be kept: say something
        # went wrong so the citizen repeats it (the lock and claim expire on their own).
        bot.metrics.store_errors.inc()
        log.warning("store failed after handling %s; conversation not saved", msg.dedupe_key)
        return render(Text(bot.content.replies["apology"]), msg, _timestamp(bot))
    return out


def sealed_reply(bot: Bot, reply: str) -> str:
    """The reply as the store keeps it for WeChat's retries: encrypted with the identity vault, for
    a reply can hold a new report's query code, a reporter's or a winner's name and phone, and the
    store (Redis) is not where those may lie in clear. `success` needs no sealing."""
    return reply if reply == SUCCESS else bot.vault.encrypt(REPLY_FIELD, reply)


def opened_reply(bot: Bot, kept: str) -> str:
    """A kept reply, decrypted (one kept in clear before this release, or `success`, as it is)."""
    try:
        return bot.vault.open_if_sealed(REPLY_FIELD, kept)
    except IdentityError:
        log.warning("a kept reply could not be decrypted (identity key changed?); answered success")
        return SUCCESS


def run_free(bot: Bot, msg: Inbound, message: Routed, entry: Entry) -> str | None:
    """A message from a citizen in no flow (at most a context, such as a list to page) whose rule is
    pure, without claim or lock; nothing to leave but the context (gate.py). None when its handler
    wrote to the database after all (rolled back), or went on to a rule that is not pure."""
    out = run(bot, msg, message, first_seen=entry.first_seen, free=True)
    change = message.ctx.conv.change()
    if out is not None and change is not None:
        try:
            if not bot.gate.keep_context(entry, change):
                log.info("context of %s not kept: the conversation changed meanwhile", msg.dedupe_key)
        except StoreError:
            bot.metrics.store_errors.inc()
            log.warning("store failed keeping the context of %s", msg.dedupe_key)
    return out


def handle_without_store(bot: Bot, msg: Inbound, session: Session) -> str:
    """The store (Redis) is down: answer what needs no state, refuse to start or continue flows.

    Without the store there is no dedupe, no lock and no conversation, so anything that would
    enter a flow is rolled back and the citizen is told to try again; help, events and knowledge
    still answer.
    """
    bot.metrics.store_errors.inc()
    bot.metrics.degraded.inc()
    log.warning("store unavailable; handling %s without state", msg.dedupe_key)
    return run(bot, msg, routed(bot, msg, session, None, pick=False), first_seen=False, stateless=True)


MAX_PASSES = 3  # a handler's GO_ON routes again; more than this many passes is a loop


def run(bot: Bot, msg: Inbound, message: Routed, *, first_seen: bool, stateless: bool = False,
        free: bool = False) -> str:
    """Handle one message (under the user's lock unless `free`) with the rule it was routed to, or
    routed here when it was not; never raises.

    `free` (run_free: no lock): returns None instead of committing when a handler wrote to the
    database after all, or the message went on to a rule that is not pure."""
    ctx, conv, session = message.ctx, message.ctx.conv, message.ctx.session
    rule = message.rule
    try:
        now = bot.clock.now()
        citizens.record_inbound(bot.last_seen, session, msg, now, first_seen=first_seen)
        _commit(session)
        written = writes(session)  # a follow or unfollow is recorded whatever the rule
        in_flow = conv.state is not None
        if not message.picked:
            rule = bot.dispatcher.pick(msg, ctx)
        answer = rule.handler(msg, ctx) if rule else None
        passes, leads, routed, routed_ctx = 1, [], msg, ctx
        while isinstance(answer, GoOn):  # "not mine, go on": routed again, the conversation as the handler left it
            if passes == MAX_PASSES:
                raise RuntimeError(f"{msg.dedupe_key} went on {passes} times")
            passes += 1
            leads += [answer.lead] if answer.lead else []
            if answer.instead is not None:  # what the matchers worked out about this message is not about that one
                routed, routed_ctx = answer.instead, dataclasses.replace(ctx, msg=answer.instead, memo={})
            rule = bot.dispatcher.pick(routed, routed_ctx, past_escapes=answer.past_escapes)
            if free and rule is not None and not rule.pure:
                session.rollback()
                return None  # type: ignore[return-value]
            answer = rule.handler(routed, routed_ctx) if rule else None
        for key, value in routed_ctx.memo.items():  # e.g. an answer that must go out without the store
            ctx.memo.setdefault(key, value)
        reply = led(leads, as_reply(answer))  # type: ignore[arg-type]
        if isinstance(reply, Text) and not in_flow and msg.kind in ("text", "voice") and not msg.oversized:
            reply = Text(with_safety_line(bot.content, msg.text, reply.content, guessed=rule.guesses))  # type: ignore[union-attr]
        if free and writes(session) > written:
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
    return SUCCESS if reply is None else render(reply, msg, _timestamp(bot))


def led(leads: list[str], reply: Reply | None) -> Reply | None:
    """The leads of the handlers that went on (好的。举报已保留…, an emergency's warning), before
    the reply of the one that answered; a news card cannot hold them and goes out as it is."""
    if not leads:
        return reply
    lead = "\n\n".join(leads)
    if reply is None or (isinstance(reply, Text) and not reply.content):
        return Text(lead)
    return Text(f"{lead}\n\n{reply.content}") if isinstance(reply, Text) else reply


def _commit(session: Session) -> None:
    """Commit what was done; most messages touch no table, and an empty commit still cost ~65 µs."""
    if session.in_transaction():
        session.commit()


def _timestamp(bot: Bot) -> int:
    """The reply's CreateTime, from the injected clock (the demo's simulated day, a test's frozen one)."""
    return int(bot.clock.now().timestamp())
