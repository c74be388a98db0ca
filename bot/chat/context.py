"""What a handler gets besides the message: conversation, DB session and the process's collaborators."""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot.chat.conversation import Conversation
from bot.services.reports.identity import IdentityVault
from bot.wechat.inbound import Inbound

if TYPE_CHECKING:
    import datetime as dt

    from bot.chat.routing import Dispatcher
    from bot.config import Config
    from bot.content import Content
    from bot.infra.db import Database
    from bot.infra.store import Store
    from bot.runtime import Bot


# A memo key a handler sets when its reply must reach the citizen even without the store (an
# emergency), though it left context such as numbered choices that cannot be kept then.
ANSWER_WITHOUT_STORE = "answer_without_store"


@dataclasses.dataclass
class Context:
    """Handlers reach the process's collaborators through the properties below, never through
    `bot`: what a handler may use is listed here, once."""

    msg: Inbound
    conv: Conversation
    session: Session
    bot: Bot
    log: logging.Logger
    # What one matcher worked out about this message, kept for the other rules that ask the same
    # (e.g. which smalltalk it is) so that nothing is read twice.
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def content(self) -> Content:
        return self.bot.content

    @property
    def config(self) -> Config:
        return self.bot.config

    @property
    def store(self) -> Store:
        return self.bot.store

    @property
    def db(self) -> Database:
        """For the one write that runs outside the message's session (a quiz answer on PostgreSQL)."""
        return self.bot.db

    @property
    def dispatcher(self) -> Dispatcher:
        """The routing table, for handlers that look at other rules (help lines, leaving a flow)."""
        return self.bot.dispatcher

    @property
    def vault(self) -> IdentityVault:
        return self.bot.vault

    def quiz_rng(self) -> random.Random:
        """A new generator for one round's draw of questions."""
        return self.bot.quiz_rng()

    def now(self) -> dt.datetime:
        return self.bot.clock.now()

    def texts(self, key: str, **values: Any) -> str:
        text = self.bot.content.replies[key]
        return text.format(**values) if values else text
