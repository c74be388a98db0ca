"""`python -m bot content check`: load every content part, then cross-check content against the code."""

from __future__ import annotations

import argparse
import sys

from bot.cli.base import Commands
from bot.config import Config
from bot.content import ContentError, load_content
from bot.runtime import content_dir
from bot.services.campaign_window import check_events_in_campaign
from bot.services.content_dates import check_citation_dates, check_round_every_day
from bot.services.menu import menu_keys_have_handlers
from bot.services.pushplan import check_plan
from bot.services.quiz.bank import check_round_size
from bot.services.quiz.similar import check_near_duplicates

commands = Commands()


def check_content(config: Config) -> list[str]:
    try:
        content = load_content(content_dir(config))
    except ContentError as exc:
        return [str(exc)]
    from bot.chat.routing import Dispatcher
    from handlers import ROUTERS

    dispatcher = Dispatcher(ROUTERS)
    problems: list[str] = []
    for check in CROSS_CHECKS:
        problems.extend(check(content, dispatcher, config))
    return problems


# Each: (content, dispatcher, config) -> list of problems, e.g. a menu key with no handler.
CROSS_CHECKS: list = [
    check_plan,  # the push plan fits the account's mass-send quota
    check_round_size,  # the quiz bank holds at least one round
    menu_keys_have_handlers,
    check_citation_dates,  # no source cites a text before it existed or took effect
    check_round_every_day,  # a full round on every campaign day, within the questions' dates
    check_near_duplicates,  # the same fact is not asked twice unless grouped
    check_events_in_campaign,  # events inside 6月1日–30日 unless the calendar extends it
]


def emergency_knowledge_exists(content, dispatcher, config) -> list[str]:
    """Every knowledge entry an emergency offers is in content/knowledge."""
    return [f"emergencies.toml: {kind.id}: knowledge: no entry {entry_id!r} in content/knowledge"
            for kind in content.emergencies.kinds for entry_id in kind.knowledge
            if content.knowledge.get(entry_id) is None]


CROSS_CHECKS.append(emergency_knowledge_exists)


def _content_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["check"])


@commands.add("content", "content/: `content check` validates every file", _content_args)
def content(args: argparse.Namespace, config: Config) -> int:
    if reported_problems(config):
        return 1
    sys.stdout.write("content OK\n")
    return 0


def reported_problems(config: Config) -> bool:
    """Check content/ and write each problem to stderr; True when there was any (menu sync stops on them too)."""
    problems = check_content(config)
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    return bool(problems)
