"""A flow's table of steps (handlers/steps.py): what it refuses to declare, and how it reads."""

from __future__ import annotations

import pytest

from bot.chat.conversation import State, StateGroup
from bot.chat.routing import Router, kind
from handlers.prize_claim import CLAIM, PrizeClaim
from handlers.report import FORM, ReportFlow
from handlers.steps import Step, Steps


class Errand(StateGroup):
    first = State()
    second = State()


def _take(msg, ctx):
    return "好的"


def _step(name: str, back: str | None = None) -> Step:
    return Step(name, ask="问", reask="再问", back=back, accepts=[(kind("text"), _take)])


def test_a_step_without_a_state_is_refused() -> None:
    with pytest.raises(ValueError, match="'third'"):
        Steps(Errand, [_step("first"), _step("third")])


def test_going_back_only_leads_to_an_earlier_step() -> None:
    with pytest.raises(ValueError, match="'first' goes back to 'second'"):
        Steps(Errand, [_step("first", back="second"), _step("second")])


def test_the_table_registers_each_steps_answers_at_its_state_in_order() -> None:
    router = Router("errand")
    Steps(Errand, [_step("first"), _step("second", back="first")]).register(router)
    assert [(rule.handler, sorted(rule.states)) for rule in router.rules] == [
        (_take, ["errand:first"]), (_take, ["errand:second"])]


def test_the_report_form_is_every_step_of_a_report_but_the_offer_and_the_pending_question() -> None:
    asked_before_the_form = {ReportFlow.offer, ReportFlow.pending}
    assert set(FORM.states) == set(ReportFlow.states()) - asked_before_the_form
    assert [step.back for step in FORM] == [None, *FORM.names[:-1]]  # 返回 is always the step before
    assert FORM.at("report:photos").name == "photos" and FORM.after("photos").name == "contact"


def test_the_prize_claim_goes_back_from_its_summary_to_the_name() -> None:
    assert CLAIM.states == tuple(PrizeClaim.states()) and CLAIM["confirm"].back == "name"
