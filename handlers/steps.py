"""A flow's steps as one table, read top to bottom (python-telegram-bot's ConversationHandler states).

Each row is one step as the citizen meets it: its name (and so its state, "<flow>:<name>"), the
question it asks, what it accepts and which handler takes that, what it says to anything else, and
where going back leads from it. The flow's handlers read the row (the question after a detour, the next
step, the re-ask) instead of keeping their own copy per step; `register` puts the answers on the
router, in the table's order, where the flow's step rules belong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from bot.chat.context import Context
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import Handler, Matcher, Router

Work = TypeVar("Work")  # what a step's question is asked about: a report's draft, a claim's data
Said = str | Callable[[Context, Work], str]  # a fixed text, or one made for the citizen's work


@dataclasses.dataclass(frozen=True)
class Step(Generic[Work]):
    name: str
    ask: Said                  # the step's question, on arrival and after a detour
    accepts: Sequence[tuple[Matcher | tuple[Matcher, ...], Handler]]  # in order; the first that matches takes it
    reask: Said                # said to a message none of `accepts` takes
    back: str | None = None    # the step going back leads to (返回 in a report, 修改 at a claim's summary)
    kept: Callable[[Work], bool] | None = None  # 不变 keeps the answer given before, when this says there is one


def say(said: Said, ctx: Context, work: object) -> str:
    return said if isinstance(said, str) else said(ctx, work)


class Steps(Generic[Work]):
    """One flow's steps, in the order the citizen goes through them."""

    def __init__(self, group: type[StateGroup], steps: Sequence[Step[Work]]) -> None:
        self.group = group
        self.steps = tuple(steps)
        self._by_name = {step.name: step for step in self.steps}
        for index, step in enumerate(self.steps):
            if not isinstance(getattr(group, step.name, None), State):
                raise ValueError(f"{group.__name__} has no state for the step {step.name!r}")
            if step.back is not None and step.back not in self.names[:index]:
                raise ValueError(f"{step.name!r} goes back to {step.back!r}, which is not an earlier step")

    def __iter__(self) -> Iterator[Step[Work]]:
        return iter(self.steps)

    def __getitem__(self, name: str) -> Step[Work]:
        return self._by_name[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def state(self, name: str) -> State:
        return getattr(self.group, name)

    @property
    def states(self) -> tuple[State, ...]:
        return tuple(self.state(name) for name in self.names)

    def states_where(self, wanted: Callable[[Step[Work]], bool]) -> tuple[State, ...]:
        return tuple(self.state(step.name) for step in self.steps if wanted(step))

    def at(self, state: str | None) -> Step[Work]:
        """The step of a conversation's state ("report:photos" → photos)."""
        return self._by_name[(state or "").split(":", 1)[-1]]

    def after(self, name: str) -> Step[Work]:
        return self.steps[self.names.index(name) + 1]

    def register(self, router: Router) -> None:
        """Each step's answers as rules of `router`, in the table's order."""
        for step in self.steps:
            for matchers, handler in step.accepts:
                router.on(*(matchers if isinstance(matchers, tuple) else (matchers,)), state=self.state(step.name))(handler)
