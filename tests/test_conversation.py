"""Router and conversation rules, through the signed webhook in both modes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import create_app
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import Router, kind, menu_key, regex, text_in
from bot.models import Citizen as CitizenRow
from handlers import ROUTERS, common, emergency
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer


class Survey(StateGroup):
    name = State()
    age = State()


survey = Router("survey")


@survey.on(text_in("调查", "问卷"), menu_key("SURVEY"), help="调查 — 一个两步的测试流程")
def start_survey(msg, ctx):
    ctx.conv.enter(Survey.name)
    return "请问您的名字？"


@survey.on(kind("text"), state=Survey.name)
def take_name(msg, ctx):
    ctx.conv.enter(Survey.age, name=msg.text)
    return f"{msg.text}，您的年龄？"


@survey.on(regex(r"^\d+$"), state=Survey.age)
def take_age(msg, ctx):
    name = ctx.conv.data["name"]
    ctx.conv.clear()
    return f"记下了：{name}，{msg.text}岁"


@survey.on(state=Survey)
def reask(msg, ctx):
    return "请输入数字年龄，或发送 取消 退出。"


@survey.on_cancel("survey")
def confirm_cancel(msg, ctx):
    if ctx.conv.data.get("confirming"):
        return None
    ctx.conv.update(confirming=True)
    return "确定要放弃吗？再发一次 取消 即放弃。"


@pytest.fixture
def flow_app(config, clock, store):
    app = create_app(config, clock=clock, store=store, routers=[common.escapes, survey, common.fallback])
    yield app
    app.extensions["bot"].close()


@pytest.fixture
def person(flow_app, mode, clock) -> Citizen:
    return Citizen(WeChatServer(flow_app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock), "o_flow")


def test_a_flow_runs_step_by_step(person: Citizen) -> None:
    person.dialog([("调查", "名字"), ("小王", "小王，您的年龄"), ("几岁", "请输入数字年龄"), ("30", "记下了：小王，30岁")])


def test_menu_key_enters_the_same_flow(person: Citizen) -> None:
    assert "名字" in person.click("SURVEY").text


def test_entry_keywords_ignore_punctuation_case_and_width(person: Citizen) -> None:
    assert "名字" in person.says("问卷。")
    person.says("取消")
    person.says("取消")
    assert "名字" in person.says(" 调查！")


def test_cancel_escapes_from_any_step_with_the_flows_confirmation(person: Citizen) -> None:
    person.dialog([("调查", "名字"), ("取消", "确定要放弃吗"), ("取消", "已取消"), ("30", "没有理解")])


def test_help_works_inside_a_flow_and_keeps_it(person: Citizen) -> None:
    person.dialog([("调查", "名字"), ("帮助", ["还可以发送：调查", "操作在进行中"]), ("小李", "小李，您的年龄")])


def test_nothing_to_cancel(person: Citizen) -> None:
    assert "当前没有进行中的操作" in person.says("取消")


def test_idle_flow_expires_politely(person: Citizen, clock) -> None:
    person.says("调查")
    clock.advance(minutes=31)
    reply = person.says("小王")
    assert reply.startswith("（上次的操作已超时")
    assert "没有理解" in reply  # the step is gone, so the text was routed afresh


def test_flow_within_idle_limit_continues(person: Citizen, clock) -> None:
    person.says("调查")
    clock.advance(minutes=29)
    assert "小王，您的年龄" in person.says("小王")


def test_fallback_suggests_what_to_do(person: Citizen) -> None:
    reply = person.says("今天天气怎么样")
    assert "没有理解" in reply and "调查" in reply


def test_media_outside_a_flow_points_to_reporting(person: Citizen) -> None:
    assert "举报" in person.image().text


def test_unrecognised_voice_asks_to_type(person: Citizen) -> None:
    assert "请改为输入文字" in person.voice("").text


# --- the real handlers ------------------------------------------------------------------------

def test_follow_gets_welcome_and_is_recorded(citizen: Citizen, bot, clock) -> None:
    assert "安全生产月" in citizen.follow(scene="chengguan").text
    with bot.db.session() as s:
        row = s.scalar(select(CitizenRow).where(CitizenRow.openid == citizen.openid))
        assert row.subscribed_at == clock.now() and row.subscribe_scene == "chengguan"
        # A follow allows 3 customer-service messages for 1 minute, not the 48 hours of a message.
        assert (row.window_event_at, row.window_event_kind) == (clock.now(), "follow")
        assert row.last_interaction_at is None
    clock.advance(hours=1)
    assert citizen.unfollow().is_success
    with bot.db.session() as s:
        row = s.scalar(select(CitizenRow).where(CitizenRow.openid == citizen.openid))
        assert row.unsubscribed_at == clock.now() and not row.is_following


def test_help_is_generated_from_entry_points(citizen: Citizen, bot) -> None:
    """Every entry point is named; the main features lead with their lines, 取消 comes last, and the
    whole fits one phone screen (about 15 lines of 18 characters)."""
    reply = citizen.says("帮助")
    lines = reply.split("\n")
    for line in bot.dispatcher.help_lines():
        assert line.split(" — ", 1)[0] in reply or line.startswith("帮助")
    main = [n for n, line in enumerate(lines) for word in ("答题", "举报", "活动", "安全知识") if line.startswith(f"· {word} —")]
    assert main == sorted(main) and len(main) == 4 and main[0] == 1
    assert "取消" in lines[-1] and all("取消" not in line for line in lines[:-1])
    assert sum(-(-len(line) // 18) for line in lines) <= 15


def test_last_interaction_tracks_messages(citizen: Citizen, bot, clock) -> None:
    first = clock.now()
    citizen.says("你好")
    clock.advance(hours=3)
    bot.store.delete(f"seen:{citizen.openid}")  # the one-minute write throttle, elapsed
    citizen.says("你好")
    with bot.db.session() as s:
        row = s.scalar(select(CitizenRow).where(CitizenRow.openid == citizen.openid))
        assert row.last_interaction_at == clock.now()
        assert row.first_seen_at == first  # created by the first message, kept by the next


def test_job_report_events_do_not_open_the_window(citizen: Citizen, bot) -> None:
    assert citizen.event("TEMPLATESENDJOBFINISH", None, "<MsgID>1</MsgID><Status>success</Status>").is_success
    with bot.db.session() as s:
        assert s.scalar(select(CitizenRow).where(CitizenRow.openid == citizen.openid)) is None


def test_routers_order_emergencies_then_escapes_first_fallback_last() -> None:
    assert ROUTERS[0] is emergency.router and ROUTERS[1] is common.escapes and ROUTERS[-1] is common.fallback
