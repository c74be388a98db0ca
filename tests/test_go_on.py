"""A handler's "not mine, go on" (GO_ON): the pipeline routes the message again, with the
conversation as the handler left it; a handler never calls the dispatcher itself. GoOn(instead=…)
routes another message in its place, its lead goes first, and past_escapes skips the escapes."""

from __future__ import annotations

import dataclasses

import pytest

from bot import create_app
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import GO_ON, GoOn, Router, text_in
from handlers import common
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

router = Router("going_on")


class Offer(StateGroup):
    flow_name = "going_on"
    waiting = State()


@router.on(text_in("开始"))
def start(msg, ctx) -> str:
    ctx.conv.enter(Offer.waiting)
    return "请回复 好"


@router.on(text_in("好"), state=Offer.waiting)
def take(msg, ctx) -> str:
    ctx.conv.clear()
    return "收到"


@router.on(state=Offer.waiting)
def not_mine(msg, ctx):
    ctx.conv.clear()
    return GO_ON


@router.on(text_in("打转"))
def loops(msg, ctx):
    return GO_ON  # leaves the conversation as it was: routed again, the same rule, a loop


@router.on(text_in("换成天气"))
def instead(msg, ctx):
    return GoOn(instead=dataclasses.replace(msg, text="天气", original_text="天气"), lead="好的。")


@router.on(text_in("帮助"))
def help_as_an_entry(msg, ctx) -> str:
    return "入口的回答"  # 帮助 itself never gets here: the escape takes it first


@router.on(text_in("当作帮助之后"))
def past_the_escapes(msg, ctx):
    return GoOn(instead=dataclasses.replace(msg, text="帮助", original_text="帮助"), past_escapes=True)


@router.on(text_in("天气"))
def weather(msg, ctx) -> str:
    return "晴" if ctx.conv.state is None else "还在流程中"


@pytest.fixture
def person(config, clock, store):
    app = create_app(config, clock=clock, store=store, routers=[common.escapes, router, common.fallback])
    yield Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_go")
    app.extensions["bot"].close()


def test_a_message_that_is_not_the_steps_goes_on_to_the_rule_for_it(person, store) -> None:
    assert person.says("开始") == "请回复 好"
    assert person.says("天气") == "晴"  # the step let it go and cleared the flow first
    assert store.get("conv:o_go") is None
    assert person.says("好") != "收到"  # the offer is gone with it


def test_a_handler_that_goes_on_without_changing_anything_is_stopped_and_answered(person, bot) -> None:
    assert person.says("打转") == bot.content.replies["apology"]
    assert person.says("天气") == "晴"


def test_another_message_in_its_place_with_a_lead_before_its_reply(person) -> None:
    assert person.says("换成天气") == "好的。\n\n晴"


def test_past_escapes_skips_the_escapes_that_had_the_message(person) -> None:
    assert person.says("帮助").startswith("您可以发送下面的文字")  # the escape comes first
    assert person.says("当作帮助之后") == "入口的回答"  # gone on past the escapes: the entry answers
