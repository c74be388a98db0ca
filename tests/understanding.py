"""Send citizen messages through the signed webhook and see which feature answered each one.

The feature is read from what the dispatcher picked (router name and handler name), not from reply
wording; for knowledge, the matched entry id comes from the log record the knowledge handler
writes. Shared by tests/test_understanding.py and bench/understanding.py.

Two readings of the same observation:
- `Observer.feature()`: the old table's labels (tests/understanding_cases.py: help, quiz, report,
  my_reports, events, smalltalk, knowledge:<entry>, out_of_scope, emergency);
- `Observer.intent()`: one of the 15 intents of bot/services/intents.py, or "unsure" (numbered
  choices were offered), "fallback" (the short help of 没有理解) or "none" (no answer).
  `served_intent(probe, text)` is the one call a bench needs: a message from a new citizen in, the
  intent served and the reply out.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from typing import Any

from bot.chat.routing import Rule
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

# Which router serves a feature: a case counts only when that router is registered.
FEATURE_ROUTER = {"help": "fallback", "quiz": "quiz", "report": "report", "my_reports": "report",
                  "events": "events", "smalltalk": "knowledge", "knowledge": "knowledge",
                  "emergency": "emergency", "out_of_scope": "intent"}
# The intent layer's handlers carry their intent (handlers/intent.py); as the old table names them.
INTENT_FEATURE = {"help": "help", "greeting": "smalltalk", "quiz": "quiz", "leaderboard": "quiz", "my_score": "quiz",
                  "prize": "quiz", "report": "report", "hazard_statement": "report", "my_reports": "my_reports",
                  "ticket_query": "my_reports", "events": "events", "township": "township",
                  "out_of_scope": "out_of_scope"}
# Handlers of the routers' own words, by the intent they serve (the rest of a router: ROUTER_INTENT).
HANDLER_INTENT = {"show_help": "help", "welcome": "greeting", "cancel": "help", "not_understood": "fallback",
                  "unexpected_media": "fallback", "start_quiz": "quiz", "show_rank": "leaderboard",
                  "show_mine": "my_score", "start_claim": "prize", "offer_report": "hazard_statement",
                  "list_mine": "my_reports", "query_report": "ticket_query", "greet": "greeting", "thank": "greeting",
                  "acknowledge": "greeting", "bye": "greeting", "answer_emergency": "emergency"}
ROUTER_INTENT = {"emergency": "emergency", "quiz": "quiz", "report": "report", "events": "events",
                 "township": "township", "knowledge": "knowledge", "escapes": "help", "fallback": "fallback"}
SMALLTALK_HANDLERS = {"greet", "thank", "acknowledge", "bye"}
MY_REPORTS_HANDLER = re.compile(r"mine|my_|progress|status|lookup|query|track", re.I)


def feature_router(feature: str) -> str:
    return FEATURE_ROUTER[feature.split(":", 1)[0]]


@dataclasses.dataclass(frozen=True)
class Outcome:
    text: str
    expected: str
    got: str
    reply: str
    status: int

    @property
    def ok(self) -> bool:
        return self.got == self.expected


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Observer:
    """Records the rules the dispatcher picks and the knowledge handler's log records."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.picks: list[Rule | None] = []
        self._records = _Records()
        dispatcher = bot.dispatcher
        original = dispatcher.pick

        def pick(msg, ctx):
            rule = original(msg, ctx)
            self.picks.append(rule)
            return rule

        dispatcher.pick = pick  # an instance attribute: only this app's dispatcher is observed
        self._loggers = [logging.getLogger(name) for name in ("handlers.knowledge", "handlers.intent")]
        self._old_levels = [logger.level for logger in self._loggers]
        for logger in self._loggers:
            logger.setLevel(logging.INFO)
            logger.addHandler(self._records)

    def close(self) -> None:
        for logger, level in zip(self._loggers, self._old_levels, strict=True):
            logger.removeHandler(self._records)
            logger.setLevel(level)

    def reset(self) -> None:
        self.picks.clear()
        self._records.records.clear()

    def records(self) -> list[logging.LogRecord]:
        """The log records the handlers wrote for the last message (entries, intents, choices)."""
        return list(self._records.records)

    def feature(self) -> str:
        """The feature that answered the last message (the last pick: a dropped choice re-routes)."""
        rule = self.picks[-1] if self.picks else None
        if rule is None:
            return "none"
        name = rule.handler.__name__
        intent = getattr(rule.handler, "intent", None)
        answered = [r for r in self._records.records if getattr(r, "knowledge_band", None) in ("direct", "chosen")]
        if rule.router == "intent" and answered:
            return f"knowledge:{answered[-1].knowledge_entry}"  # a question answered, a feature offered after
        if rule.router == "intent" and intent in INTENT_FEATURE:
            return INTENT_FEATURE[intent]
        said = [r.intent for r in self._records.records if getattr(r, "intent", None)]
        if rule.router == "intent" and intent == "unsure" and said and said[-1] == "unsure":
            found = [r for r in self._records.records if getattr(r, "intent_choices", None)]
            return "choices(" + ",".join(found[-1].intent_choices) + ")" if found else "choices"
        if rule.router == "emergency" or intent == "emergency":
            # Danger now is answered with the number first and, below it, the entry that answers it.
            found = [r for r in self._records.records if getattr(r, "knowledge_entry", None)]
            return f"knowledge:{found[-1].knowledge_entry}" if found else "emergency"
        if rule.router in ("escapes", "fallback"):
            return "help"
        if rule.router == "report":
            return "my_reports" if MY_REPORTS_HANDLER.search(name) else "report"
        if rule.router in ("knowledge", "intent"):
            if name in SMALLTALK_HANDLERS:
                return "smalltalk"
            found = [r for r in self._records.records if hasattr(r, "knowledge_band")]
            if not found:
                return "knowledge:?"
            last = found[-1]
            if last.knowledge_band == "choose":
                return "knowledge:choices(" + ",".join(last.knowledge_choices) + ")"
            return f"knowledge:{last.knowledge_entry}"
        return rule.router


    def intent(self) -> str:
        """The intent served for the last message (see the module's notes for the other labels)."""
        rule = self.picks[-1] if self.picks else None
        if rule is None:
            return "none"
        said = [r.intent for r in self._records.records if getattr(r, "intent", None)]
        if rule.router == "intent" and said:
            return said[-1]  # what the intent layer served (a choice picked, an entry that answered)
        intent = getattr(rule.handler, "intent", None)
        if intent is not None:
            return intent
        return HANDLER_INTENT.get(rule.handler.__name__) or ROUTER_INTENT.get(rule.router, rule.router)


class Probe:
    """An app and an observer on its dispatcher: each message comes from a citizen never seen before."""

    def __init__(self, app: Any, mode: str = "plain") -> None:
        bot = app.extensions["bot"]
        self.observer = Observer(bot)
        self.server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=bot.clock)
        self._count = 0

    def send(self, text: str) -> tuple[str, int]:
        self.observer.reset()
        self._count += 1
        reply = Citizen(self.server, f"o_probe_{self._count}").text(text)
        return (reply.fields.get("Content", "") if reply.fields else reply.body) or "", reply.status

    def close(self) -> None:
        self.observer.close()


def served_intent(probe: Probe, text: str) -> tuple[str, str]:
    """(intent label, reply text) for `text` sent as a new citizen's first message through the signed
    webhook. Labels: one of bot.services.intents.INTENTS, or "unsure" (numbered choices offered),
    "fallback" (没有理解 and the short help), "none" (no reply).

        probe = Probe(create_app(...)); label, reply = served_intent(probe, "给我来一套题")
    """
    reply, _status = probe.send(text)
    return probe.observer.intent(), reply


def run_cases(app: Any, cases: Iterable[tuple[str, str]], mode: str = "plain") -> list[Outcome]:
    """Each message from a fresh citizen, so no case inherits another's conversation state."""
    bot = app.extensions["bot"]
    observer = Observer(bot)
    server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=bot.clock)
    outcomes = []
    try:
        for number, (text, expected) in enumerate(cases):
            observer.reset()
            reply = Citizen(server, f"o_understanding_{number}").text(text)
            content = reply.fields.get("Content", "") if reply.fields else reply.body
            outcomes.append(Outcome(text, expected, observer.feature(), content or "", reply.status))
    finally:
        observer.close()
    return outcomes
