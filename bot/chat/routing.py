"""Declarative routing: ordered rules, first match wins.

A rule is a handler plus matchers (any one may match; `all_of` combines) and where it applies:
- `escape=True`: from any state, checked first (取消, 帮助);
- `state=...`: only while the conversation is at that step (or any step of a StateGroup);
- neither: an entry point, checked after the active flow's steps.
The order of routers is `handlers.ROUTERS`; within a router, the order of declaration.

`pure=True` declares that a handler only reads (content, the database, the store) and at most
leaves context in the conversation (a list to page, choices offered): for a citizen in no flow it
then runs without the dedupe claim and the lock (bot/chat/gate.py). Should it write to the database
after all, the write is rolled back and the message runs again the ordinary way.

A handler that finds a message is not its own after all (numbered choices answered with a new
question) returns `GO_ON`: the pipeline routes the message again, with the conversation as the
handler left it (e.g. cleared). `GoOn(instead=…)` routes another message in its place (the command
a citizen confirmed with 是), `lead` goes before the reply of the rule that takes it, and
`past_escapes` skips the escapes, which have had the message already. Handlers never call the
dispatcher themselves.

The dispatcher refuses, when it is built, a rule that can never match at one of its states: one
whose every message an earlier rule there always takes (`kind("image")` after `kind("image")`).
Matchers say what they can match at most (`reach`: the message kinds) and what they match whatever
the message says (`always`); a matcher that says nothing is taken to reach every kind, always none.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bot.wechat.inbound import MESSAGE_KINDS, Inbound, keyword_form

if TYPE_CHECKING:
    from bot.chat.context import Context
    from bot.wechat.replies import Reply


@dataclasses.dataclass(frozen=True)
class GoOn:
    """A handler's "not mine, go on" (GO_ON), and what the next pass should know (see the module's notes)."""

    instead: Inbound | None = None
    lead: str = ""
    past_escapes: bool = False

    def __repr__(self) -> str:
        return "GO_ON" if self == GO_ON else f"GoOn(lead={self.lead!r}, past_escapes={self.past_escapes})"


GO_ON = GoOn()

Matcher = Callable[[Inbound, "Context"], bool]
Handler = Callable[[Inbound, "Context"], "Reply | str | GoOn | None"]

EVERY_KIND = frozenset(MESSAGE_KINDS)
TYPED = frozenset({"text", "voice"})
NOTHING: frozenset[str] = frozenset()


def text_in(*words: str) -> Matcher:
    """Exact keyword or synonym, ignoring spaces, case and punctuation (voice adds a 。)."""
    wanted = {keyword_form(w) for w in words}

    def match(msg: Inbound, _ctx: Context) -> bool:
        return msg.kind in ("text", "voice") and bool(msg.text) and msg.keyword in wanted

    match.words = tuple(words)  # type: ignore[attr-defined]
    match.reach = TYPED  # type: ignore[attr-defined]
    match.label = f"text_in({', '.join(words)})"  # type: ignore[attr-defined]
    return match


def regex(pattern: str, flags: int = 0) -> Matcher:
    compiled = re.compile(pattern, flags)

    def match(msg: Inbound, _ctx: Context) -> bool:
        return msg.kind in ("text", "voice") and bool(compiled.search(msg.text))

    match.reach = TYPED  # type: ignore[attr-defined]
    match.label = f"regex({pattern})"  # type: ignore[attr-defined]
    return match


def kind(*kinds: str) -> Matcher:
    def match(msg: Inbound, _ctx: Context) -> bool:
        return msg.kind in kinds

    match.reach = match.always = frozenset(kinds)  # type: ignore[attr-defined]
    match.label = f"kind({', '.join(kinds)})"  # type: ignore[attr-defined]
    return match


def event(*names: str) -> Matcher:
    wanted = {n.lower() for n in names}

    def match(msg: Inbound, _ctx: Context) -> bool:
        return msg.kind == "event" and msg.event in wanted

    match.reach = frozenset({"event"})  # type: ignore[attr-defined]
    match.label = f"event({', '.join(names)})"  # type: ignore[attr-defined]
    return match


def menu_key(*keys: str) -> Matcher:
    """A CLICK on a custom-menu button with one of these keys."""

    def match(msg: Inbound, _ctx: Context) -> bool:
        return msg.kind == "event" and msg.event == "click" and msg.event_key in keys

    match.menu_keys = tuple(keys)  # type: ignore[attr-defined]
    match.reach = frozenset({"event"})  # type: ignore[attr-defined]
    match.label = f"menu_key({', '.join(keys)})"  # type: ignore[attr-defined]
    return match


def any_of(*matchers: Matcher) -> Matcher:
    def match(msg: Inbound, ctx: Context) -> bool:
        for m in matchers:  # a loop, not any(<generator>): routing asks every rule of every message
            if m(msg, ctx):
                return True
        return False

    match.parts = matchers  # type: ignore[attr-defined]
    match.joins = "any_of"  # type: ignore[attr-defined]
    return match


def all_of(*matchers: Matcher) -> Matcher:
    def match(msg: Inbound, ctx: Context) -> bool:
        for m in matchers:
            if not m(msg, ctx):
                return False
        return True

    match.parts = matchers  # type: ignore[attr-defined]
    match.joins = "all_of"  # type: ignore[attr-defined]
    return match


def anything(_msg: Inbound, _ctx: Context) -> bool:
    return True


anything.reach = anything.always = EVERY_KIND  # type: ignore[attr-defined]


# Read when the dispatcher is built (or the flows printed), never per message: any_of and all_of
# (built again by Rule.test) only keep their parts.

def reach(matcher: Matcher) -> frozenset[str]:
    """The message kinds `matcher` can match at most (a matcher that does not say: any)."""
    return _combined(matcher, reach) if hasattr(matcher, "joins") else getattr(matcher, "reach", EVERY_KIND)


def always(matcher: Matcher) -> frozenset[str]:
    """The message kinds `matcher` matches whatever the message says (a matcher that does not say: none)."""
    return _combined(matcher, always) if hasattr(matcher, "joins") else getattr(matcher, "always", NOTHING)


def _combined(matcher: Matcher, kinds_of: Callable[[Matcher], frozenset[str]]) -> frozenset[str]:
    kinds = [kinds_of(part) for part in matcher.parts]  # type: ignore[attr-defined]
    return NOTHING.union(*kinds) if matcher.joins == "any_of" else EVERY_KIND.intersection(*kinds)  # type: ignore[attr-defined]


def describe(matcher: Matcher) -> str:
    """The matcher as it was declared: text_in(返回, 上一步), all_of(pending, says_yes), or a function's name."""
    if hasattr(matcher, "joins"):
        return f"{matcher.joins}({', '.join(map(describe, matcher.parts))})"  # type: ignore[attr-defined]
    return getattr(matcher, "label", None) or getattr(matcher, "__name__", repr(matcher))


@dataclasses.dataclass(frozen=True)
class Rule:
    handler: Handler
    matchers: tuple[Matcher, ...]
    states: frozenset[str] | None
    escape: bool
    help: str | None
    router: str
    pure: bool = False
    guesses: bool = False  # its router answers from a guess (learned intent, search, fallback)

    @property
    def test(self) -> Matcher:
        """The rule's matchers as one call (most rules have just one)."""
        return self.matchers[0] if len(self.matchers) == 1 else any_of(*self.matchers)

    @property
    def reach(self) -> frozenset[str]:
        return NOTHING.union(*map(reach, self.matchers))

    @property
    def always(self) -> frozenset[str]:
        return NOTHING.union(*map(always, self.matchers))

    @property
    def name(self) -> str:
        """The handler, by its module within handlers/ (report.take_photo, leaving.guard.leave)."""
        module = self.handler.__module__.removeprefix("handlers.")
        return f"{module}.{self.handler.__qualname__.replace('.<locals>', '')}"

    def menu_keys(self) -> set[str]:
        keys: set[str] = set()
        stack = list(self.matchers)
        while stack:
            m = stack.pop()
            keys.update(getattr(m, "menu_keys", ()))
            stack.extend(getattr(m, "parts", ()))
        return keys


class Router:
    def __init__(self, name: str, *, guesses: bool = False) -> None:
        """`guesses`: the router answers what it guessed the message means rather than words it
        knows (the intent layer, knowledge search, the fallback); such replies get the emergency
        safety net (bot/services/emergency_net.py)."""
        self.name = name
        self.guesses = guesses
        self.rules: list[Rule] = []
        self.cancel_hooks: dict[str, Handler] = {}

    def on_cancel(self, flow: str) -> Callable[[Handler], Handler]:
        """Let a flow answer 取消 itself (e.g. ask to confirm); returning None lets it be cancelled."""

        def register(handler: Handler) -> Handler:
            self.cancel_hooks[flow] = handler
            return handler

        return register

    def on(self, *matchers: Matcher, state: Any = None, escape: bool = False, help: str | None = None,
           pure: bool = False, guesses: bool | None = None) -> Callable[[Handler], Handler]:
        """Register a handler. `help` is its line in the generated 帮助 menu (entry points only);
        `pure`: it only reads (see the module's notes); `guesses`: this rule guesses, whatever its
        router does (default: the router's)."""
        states = _state_set(state)

        def register(handler: Handler) -> Handler:
            self.rules.append(Rule(handler, matchers or (anything,), states, escape, help, self.name, pure,
                                   self.guesses if guesses is None else guesses))
            return handler

        return register


def _state_set(state: Any) -> frozenset[str] | None:
    if state is None:
        return None
    if isinstance(state, type) and hasattr(state, "states"):
        return frozenset(state.states())
    if isinstance(state, str):
        return frozenset([state])
    return frozenset(s for item in state for s in (_state_set(item) or ()))


class UnreachableRule(ValueError):
    """A rule that can never match at one of its states: earlier rules there take all it could."""


class Dispatcher:
    """Picks the one rule for a message: escapes, then the active step, then entry points."""

    def __init__(self, routers: Sequence[Router]) -> None:
        rules = [r for router in routers for r in router.rules]
        self.escapes = [r for r in rules if r.escape]
        self.steps = [r for r in rules if r.states is not None and not r.escape]
        self.entries = [r for r in rules if r.states is None and not r.escape]
        self.cancel_hooks = {flow: hook for router in routers for flow, hook in router.cancel_hooks.items()}
        # Every message asks up to ~30 rules: each rule's test is looked up once, here.
        self._escapes = [(r, r.test) for r in self.escapes]
        self._steps = [(r, r.test) for r in self.steps]
        self._entries = [(r, r.test) for r in self.entries]
        self._refuse_shadowed()

    def _refuse_shadowed(self) -> None:
        for index, rule in enumerate(self.escapes):
            _refuse_if_shadowed(rule, self.escapes[:index], "every state (an escape)")
        for index, rule in enumerate(self.steps):
            for state in sorted(rule.states or ()):
                earlier = [r for r in self.steps[:index] if state in r.states]  # type: ignore[operator]
                _refuse_if_shadowed(rule, [*self.escapes, *earlier], state)
        for index, rule in enumerate(self.entries):
            _refuse_if_shadowed(rule, [*self.escapes, *self.entries[:index]], "no step (an entry point)")

    def pick(self, msg: Inbound, ctx: Context, *, past_escapes: bool = False) -> Rule | None:
        for rule, test in () if past_escapes else self._escapes:
            if test(msg, ctx):
                return rule
        state = ctx.conv.state
        if state is not None:
            for rule, test in self._steps:
                if state in rule.states and test(msg, ctx):  # type: ignore[operator]
                    return rule
        for rule, test in self._entries:
            if test(msg, ctx):
                return rule
        return None

    def help_lines(self) -> list[str]:
        return [r.help for r in self.escapes + self.entries if r.help]

    def menu_keys(self) -> set[str]:
        return {k for r in self.escapes + self.steps + self.entries for k in r.menu_keys()}

    def all_rules(self) -> Iterable[Rule]:
        return [*self.escapes, *self.steps, *self.entries]


def _refuse_if_shadowed(rule: Rule, earlier: Sequence[Rule], where: str) -> None:
    if not rule.reach:
        raise UnreachableRule(f"{rule.name} can never match at {where}: no message is of every kind it asks for")
    taken = NOTHING.union(*(r.always for r in earlier))
    if rule.reach <= taken:
        firsts = ", ".join(r.name for r in earlier if r.always & rule.reach)
        raise UnreachableRule(f"{rule.name} can never match at {where}: every {'/'.join(sorted(rule.reach))} "
                           f"message is taken first by {firsts}")
