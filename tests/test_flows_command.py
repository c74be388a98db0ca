"""`python -m bot flows` prints every flow's state table from the live dispatcher; tests/flows.txt keeps it.

A change to a flow's rules (a new step, a rule moved, a handler renamed) changes the text: check the
difference, then regenerate the file with `python -m bot flows > tests/flows.txt`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.chat.routing import Dispatcher
from bot.cli.flows import REGENERATE, flow_tables
from handlers import ROUTERS

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "flows.txt"


def test_the_flow_tables_are_the_checked_in_ones() -> None:
    printed = flow_tables(Dispatcher(ROUTERS))
    assert printed == GOLDEN.read_text(encoding="utf-8"), (
        f"the dispatcher's rules are not tests/flows.txt's: if the change is meant, run `{REGENERATE}` "
        "and check its diff")


def test_the_command_prints_them() -> None:
    out = subprocess.run([sys.executable, "-m", "bot", "flows"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout == GOLDEN.read_text(encoding="utf-8")


def test_each_state_lists_its_rules_in_order_with_the_handler_each_runs() -> None:
    photos = GOLDEN.read_text(encoding="utf-8").split("\nreport:photos\n")[1].split("\n\n")[0].splitlines()
    handlers = [line.rsplit("→", 1)[1].strip() for line in photos]
    assert handlers.index("report.go_back") < handlers.index("report.take_photo") < handlers.index("report.reask")
    assert "report.keep_media_elsewhere" not in handlers  # a photo here is the step's own (take_photo)
    assert "   1. all_of(pending, says_yes)  →  leaving.leave" in photos


def test_a_step_left_at_once_has_no_rules_for_a_question_it_never_asks() -> None:
    """Steps with nothing typed yet leave at once, so "离开当前的…吗？" is never pending there."""
    tables = GOLDEN.read_text(encoding="utf-8")
    for state in ("report:offer", "report:pending", "township:choose"):
        rules = tables.split(f"\n{state}\n")[1].split("\n\n")[0]
        assert "leaving.ask_or_leave" in rules, state
        assert "(pending, " not in rules and ". pending  →" not in rules and "leaving.stay" not in rules, state
