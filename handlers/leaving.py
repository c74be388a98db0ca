"""Another feature's command word, or a menu click, in the middle of a flow: the rule is declared once per flow.

"答题" at a report's location step was stored as the address, and a menu click started another
feature under a half-filled report. Each flow declares its re-entry here (`declare`, next to its
StateGroup, before its own step rules): which of its steps ask, which are left at once, and which
words and menu keys are its own. The exact entry words of the routers (their `text_in` rules, which
the dispatcher already holds) and the menu's CLICK keys are the commands:
- at a step with something to keep (a report, a quiz round, a prize claim) the step asks, the same
  way in every flow: "离开当前的举报吗？已填写的内容会保留" — 是 leaves and does what was asked,
  否 (or 算了) stays and asks the step again, anything else is the step's answer as usual;
- at a step where nothing was typed yet (a report offered, a township list) the flow is left at once;
- in a flow that only remembers context (an events list, numbered choices: `CONTEXT`) the other
  feature answers as if no flow were open;
- the flow's own entry word or menu key ("举报" or 我要举报 inside a report) asks the current step again.
Words and keys a step itself takes (继续 in a report, 确认 at its summary, 我要举报 at an offer) stay the
step's. Escapes (取消, 帮助) and danger now come before all of this (bot/chat/routing.py).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Iterable

from bot.chat.context import Context
from bot.chat.conversation import StateGroup
from bot.chat.routing import GO_ON, Dispatcher, GoOn, Router, Rule, all_of
from bot.services.yesno import reading, says_no, says_yes
from bot.wechat.inbound import Inbound, keyword_form

PENDING = "_leave"  # in the flow's data: the command waiting for a yes

TEXTS = {
    "ask": "离开当前的{what}吗？{kept}\n回复 是 离开并{goal}；回复 否 继续{doing}。",
    "stay": "好的，继续{doing}。",
    "own": "当前的{what}还在进行中，接着回复就好。",
    "goal_word": "打开「{word}」",
    "goal_menu": "打开菜单「{name}」",
    "goal_menu_unnamed": "打开您点的菜单",
}

Prompt = Callable[[Inbound, Context], str]


@dataclasses.dataclass(frozen=True)
class _Leaving:
    """A Reentry as its rules use it (the texts resolved, the words in keyword form)."""
    what: str            # 举报 / 答题 / 领奖登记
    doing: str           # 填写 / 答题 / 登记
    kept: Callable[[Context], str]  # what happens to the work when the citizen leaves
    prompt: Prompt       # the current step's question, asked again
    own_words: frozenset[str]
    own_keys: frozenset[str]
    ask: bool            # False: nothing typed yet, leave at once


_word_index: weakref.WeakKeyDictionary[Dispatcher, dict[str, list[Rule]]] = weakref.WeakKeyDictionary()


def _words(matcher: object) -> Iterable[str]:
    yield from getattr(matcher, "words", ())
    for part in getattr(matcher, "parts", ()):
        yield from _words(part)


def _entries_by_word(dispatcher: Dispatcher) -> dict[str, list[Rule]]:
    index = _word_index.get(dispatcher)
    if index is None:
        index = {}
        for rule in dispatcher.entries:
            for matcher in rule.matchers:
                for word in _words(matcher):
                    index.setdefault(keyword_form(word), []).append(rule)
        _word_index[dispatcher] = index
    return index


def _is_guard(rule: Rule) -> bool:
    return getattr(rule.handler, "leave_guard", False)


def _keys(matcher: object) -> Iterable[str]:
    yield from getattr(matcher, "menu_keys", ())
    for part in getattr(matcher, "parts", ()):
        yield from _keys(part)


def _names_it(matcher: object, msg: Inbound) -> bool:
    if msg.kind == "event":
        return msg.event_key in set(_keys(matcher))
    return msg.keyword in {keyword_form(w) for w in _words(matcher)}


def _step_takes_it(msg: Inbound, ctx: Context) -> bool:
    """The current step has a rule of its own for this very word or key (继续, 确认, 我要举报 at an offer)."""
    state = ctx.conv.state
    for rule in ctx.dispatcher.steps:
        if _is_guard(rule) or state not in rule.states:  # type: ignore[operator]
            continue
        if any(_names_it(m, msg) for m in rule.matchers) and rule.test(msg, ctx):
            return True
    return False


def command_in(msg: Inbound, ctx: Context) -> bool:
    """Matcher: the message is another feature's command word or a menu click."""
    if "leaving.command" not in ctx.memo:
        ctx.memo["leaving.command"] = _command(msg, ctx)
    return ctx.memo["leaving.command"]


def _command(msg: Inbound, ctx: Context) -> bool:
    dispatcher = ctx.dispatcher
    if msg.kind == "event":
        return msg.event == "click" and msg.event_key in dispatcher.menu_keys() and not _step_takes_it(msg, ctx)
    if msg.kind not in ("text", "voice") or not msg.text:
        return False
    rules = _entries_by_word(dispatcher).get(msg.keyword)
    if not rules or _step_takes_it(msg, ctx):
        return False
    return any(rule.test(msg, ctx) for rule in rules)


def pending(msg: Inbound, ctx: Context) -> bool:
    return PENDING in ctx.conv.data


@dataclasses.dataclass(frozen=True)
class Reentry:
    """A flow's answer to another feature's word or a menu click, declared once (see the module's notes).

    Every step of the flow is in `ask_at` (work to keep: ask first) or `leave_at` (nothing typed yet:
    leave at once); `CONTEXT` declares a flow that only remembers context."""
    what: str = ""           # 举报 / 答题 / 领奖登记, in "离开当前的{what}吗？"
    doing: str = ""          # 填写 / 答题 / 登记, in "回复 否 继续{doing}"
    prompt: Prompt | None = None  # the current step's question, asked again
    ask_at: tuple[str, ...] = ()
    leave_at: tuple[str, ...] = ()
    kept: str | Callable[[Context], str] = ""  # what happens to the work when the citizen leaves
    own_words: tuple[str, ...] = ()  # the flow's own entry words: the step is asked again
    own_keys: tuple[str, ...] = ()   # the same for its menu keys
    passes: bool = False     # only context: another feature answers as if no flow were open


CONTEXT = Reentry(passes=True)

DECLARED: dict[str, Reentry] = {}  # flow name → its re-entry, for the tests and `python -m bot flows`


def declare(router: Router, group: type[StateGroup], reentry: Reentry) -> None:
    """Declare how `group` is left for another feature, and register its rules in `router` (before
    the flow's own step rules). A flow whose steps are not all declared is refused."""
    steps = set(group.states())
    asking, leaving = set(reentry.ask_at), set(reentry.leave_at)
    if reentry.passes:
        if asking or leaving:
            raise ValueError(f"{group.flow_name}: a context flow neither asks nor leaves")
    elif asking | leaving != steps or asking & leaving or reentry.prompt is None:
        raise ValueError(f"{group.flow_name}: every step asks or is left at once, once; missing "
                         f"{sorted(steps - asking - leaving)}, both {sorted(asking & leaving)}")
    DECLARED[group.flow_name] = reentry
    if asking:
        _register_leaving(router, reentry.ask_at, reentry, ask=True)
    if leaving:
        _register_leaving(router, reentry.leave_at, reentry, ask=False)


def _register_leaving(router: Router, states: tuple[str, ...], reentry: Reentry, *, ask: bool) -> None:
    """Register the leaving rules for `states` in `router` (declare calls it for each kind of step).
    Steps left at once never ask, so the rules that answer the question are registered only where
    it is asked (a rule that can never fire would only clutter `python -m bot flows`)."""
    kept = reentry.kept
    said = kept if callable(kept) else (lambda _ctx: kept)
    assert reentry.prompt is not None
    g = _Leaving(reentry.what, reentry.doing, said, reentry.prompt,
                 frozenset(keyword_form(w) for w in reentry.own_words), frozenset(reentry.own_keys), ask)

    def marked(handler: Callable[[Inbound, Context], object]) -> Callable[[Inbound, Context], object]:
        handler.leave_guard = True  # type: ignore[attr-defined]
        handler.__qualname__ = handler.__name__  # `python -m bot flows` shows leaving.stay, not the closure
        return handler

    def leave(msg: Inbound, ctx: Context) -> GoOn:
        command = ctx.conv.data[PENDING]
        ctx.conv.clear()
        return GoOn(instead=_as_message(msg, command), lead="好的。" + g.kept(ctx))

    def stay(msg: Inbound, ctx: Context) -> str:
        ctx.conv.data.pop(PENDING, None)
        ctx.conv.touch()
        return TEXTS["stay"].format(doing=g.doing) + "\n" + g.prompt(msg, ctx)

    if ask:  # the answers to "离开当前的举报吗？" come before the step's own rules
        router.on(all_of(pending, says_yes), state=states)(marked(leave))
        router.on(all_of(pending, says_no), state=states)(marked(stay))

    @router.on(command_in, state=states)
    @marked
    def ask_or_leave(msg: Inbound, ctx: Context) -> str | GoOn:
        if _is_own(msg, g):
            ctx.conv.data.pop(PENDING, None)
            ctx.conv.touch()
            return TEXTS["own"].format(what=g.what) + "\n" + g.prompt(msg, ctx)
        if not g.ask:
            ctx.conv.clear()
            return GO_ON  # nothing to keep: the command is routed as if no flow were open
        ctx.conv.update(**{PENDING: _remembered(msg)})
        return TEXTS["ask"].format(what=g.what, kept=g.kept(ctx), goal=_goal(msg, ctx), doing=g.doing)

    def answer_instead(msg: Inbound, ctx: Context) -> GoOn:
        """Neither yes nor no: the question is dropped and the message is the step's answer."""
        ctx.conv.data.pop(PENDING, None)
        ctx.conv.touch()
        return GoOn(past_escapes=True)  # escapes were asked already (an emergency's warning is not said twice)

    if ask:
        router.on(pending, state=states)(marked(answer_instead))


def cancel_while_asking(msg: Inbound, ctx: Context, guard_prompt: Prompt, doing: str) -> str | None:
    """For a flow's 取消 hook: 算了 to "离开当前的举报吗？" means stay; 取消 drops the question and goes on."""
    if PENDING not in ctx.conv.data:
        return None
    ctx.conv.data.pop(PENDING, None)
    ctx.conv.touch()
    if reading(msg.text) == "no":
        return TEXTS["stay"].format(doing=doing) + "\n" + guard_prompt(msg, ctx)
    return None


def _is_own(msg: Inbound, g: _Leaving) -> bool:
    if msg.kind == "event":
        return msg.event_key in g.own_keys
    return msg.keyword in g.own_words


def _remembered(msg: Inbound) -> dict[str, str]:
    if msg.kind == "event":
        return {"key": msg.event_key}
    return {"text": msg.text, "original": msg.original_text}


def _as_message(msg: Inbound, command: dict[str, str]) -> Inbound:
    """The command the citizen sent before saying 是, as a message of its own."""
    if "key" in command:
        return dataclasses.replace(msg, kind="event", event="click", event_key=command["key"], text="",
                                   original_text="")
    return dataclasses.replace(msg, kind="text", text=command["text"], original_text=command["original"],
                               event="", event_key="")


def _goal(msg: Inbound, ctx: Context) -> str:
    if msg.kind != "event":
        return TEXTS["goal_word"].format(word=msg.original_text.strip()[:12])
    button = next((b for b in ctx.content.menu.clickable() if b.key == msg.event_key), None)
    return TEXTS["goal_menu"].format(name=button.name) if button else TEXTS["goal_menu_unnamed"]
