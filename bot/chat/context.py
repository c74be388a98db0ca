"""What a handler gets besides the message: conversation, DB session and the process's collaborators."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot.chat.conversation import Conversation
from bot.wechat.inbound import Inbound

if TYPE_CHECKING:
    from bot.runtime import Bot


# A memo key a handler sets when its reply must reach the citizen even without the store (an
# emergency), though it left context such as numbered choices that cannot be kept then.
ANSWER_WITHOUT_STORE = "answer_without_store"


@dataclasses.dataclass
class Context:
    msg: Inbound
    conv: Conversation
    session: Session
    bot: Bot
    log: logging.Logger
    # What one matcher worked out about this message, kept for the other rules that ask the same
    # (e.g. which smalltalk it is) so that nothing is read twice.
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def content(self) -> Any:
        return self.bot.content

    @property
    def config(self) -> Any:
        return self.bot.config

    @property
    def store(self) -> Any:
        return self.bot.store

    def now(self) -> dt.datetime:
        return self.bot.clock.now()

    def texts(self, key: str, **values: Any) -> str:
        text = self.bot.content.replies[key]
        return text.format(**values) if values else text
