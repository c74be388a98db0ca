"""Send citizen messages through the signed webhook and see which feature answered each one.

The feature is read from what the dispatcher picked (router name and handler name), not from reply
wording; for knowledge, the matched entry id comes from the log record the knowledge handler
writes. Shared by tests/test_understanding.py and bench/understanding.py.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from typing import Any

from bot.routing import Rule
from tests.conftest import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

# Which router serves a feature: a case counts only when that router is registered.
FEATURE_ROUTER = {"help": "fallback", "quiz": "quiz", "report": "report", "my_reports": "report",
                  "events": "events", "smalltalk": "knowledge", "knowledge": "knowledge",
                  "emergency": "emergency"}
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

        def pick(msg, ctx):  # noqa: ANN001, ANN202
            rule = original(msg, ctx)
            self.picks.append(rule)
            return rule

        dispatcher.pick = pick  # an instance attribute: only this app's dispatcher is observed
        self._logger = logging.getLogger("handlers.knowledge")
        self._old_level = self._logger.level
        self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self._records)

    def close(self) -> None:
        self._logger.removeHandler(self._records)
        self._logger.setLevel(self._old_level)

    def reset(self) -> None:
        self.picks.clear()
        self._records.records.clear()

    def feature(self) -> str:
        """The feature that answered the last message (the last pick: a dropped choice re-routes)."""
        rule = self.picks[-1] if self.picks else None
        if rule is None:
            return "none"
        name = rule.handler.__name__
        if rule.router == "emergency":
            # Danger now is answered with the number first and, below it, the entry that answers it.
            found = [r for r in self._records.records if getattr(r, "knowledge_entry", None)]
            return f"knowledge:{found[-1].knowledge_entry}" if found else "emergency"
        if rule.router in ("escapes", "fallback"):
            return "help"
        if rule.router == "report":
            return "my_reports" if MY_REPORTS_HANDLER.search(name) else "report"
        if rule.router == "knowledge":
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
