"""`python -m bot flows`: every flow's state table, read from the dispatcher the app builds.

At each state, the rules asked there in order and the handler each runs: the first that matches
takes the message. Escapes are asked before any state's rules, entry points after them (and alone
when the citizen is in no flow). tests/flows.txt keeps the expected text (tests/test_flows_command.py).
"""

from __future__ import annotations

import argparse
import sys

from bot.chat.conversation import State, StateGroup
from bot.chat.routing import Dispatcher, Rule, describe
from bot.cli.base import Commands
from bot.config import Config

commands = Commands()

REGENERATE = "python -m bot flows > tests/flows.txt"


def flow_tables(dispatcher: Dispatcher) -> str:
    lines = ["# Every rule of the dispatcher, in the order it asks them; the first that matches takes the message.",
             f"# Kept in tests/flows.txt; after a deliberate change: {REGENERATE}", ""]
    lines += _section("escapes: at every state, before its rules", dispatcher.escapes)
    for state in _states(dispatcher):
        lines += _section(state, [rule for rule in dispatcher.steps if state in rule.states])  # type: ignore[operator]
    lines += _section("entry points: after a state's rules, and in no flow", dispatcher.entries)
    return "\n".join(lines)


def _states(dispatcher: Dispatcher) -> list[str]:
    """Every state a rule is for: the flows in the order their rules come, each flow's steps in the
    order its StateGroup declares them (report:category, report:description, ...)."""
    named = [state for rule in dispatcher.steps for state in sorted(rule.states or ())]
    flows = list(dict.fromkeys(State(state).flow for state in named))
    declared = {state: index for group in _groups(StateGroup) for index, state in enumerate(group.states())}
    return sorted(set(named), key=lambda s: (flows.index(State(s).flow), declared.get(s, len(declared)), s))


def _groups(group: type[StateGroup]) -> list[type[StateGroup]]:
    return [sub for child in group.__subclasses__() for sub in (child, *_groups(child))]


def _section(title: str, rules: list[Rule]) -> list[str]:
    numbered = [f"  {n:>2}. {_matchers(rule)}  →  {rule.name}{_marks(rule)}" for n, rule in enumerate(rules, 1)]
    return [title, *numbered, ""]


def _matchers(rule: Rule) -> str:
    return " | ".join(describe(matcher) for matcher in rule.matchers)


def _marks(rule: Rule) -> str:
    marks = [name for name, on in (("pure", rule.pure), ("guesses", rule.guesses)) if on]
    return f"  [{', '.join(marks)}]" if marks else ""


@commands.add("flows", "print every flow's state table: at each state its rules in order, and the handler each runs")
def flows(args: argparse.Namespace, config: Config) -> int:
    from handlers import ROUTERS

    sys.stdout.write(flow_tables(Dispatcher(ROUTERS)))
    return 0
