"""Welcome, help, cancel and the fallback: what every citizen can do from anywhere."""

from __future__ import annotations

import functools

from bot.chat.context import Context
from bot.chat.routing import Router, event, kind, menu_key, text_in
from bot.wechat.inbound import Inbound

escapes = Router("escapes")
fallback = Router("fallback", guesses=True)


@escapes.on(text_in("取消", "退出", "算了", "不要了", "cancel"), escape=True, help="取消 — 退出当前操作")
def cancel(msg: Inbound, ctx: Context) -> str:
    """Leave whatever flow the citizen is in; a flow may ask to confirm first."""
    if ctx.conv.state is None:
        return ctx.texts("nothing_to_cancel")
    hook = ctx.dispatcher.cancel_hooks.get(ctx.conv.flow or "")
    if hook is not None:
        answer = hook(msg, ctx)
        if answer is not None:
            return answer
    ctx.conv.clear()
    return ctx.texts("cancelled")


@escapes.on(text_in("帮助", "菜单", "help", "?", "？", "功能", "你能做什么", "怎么用"), menu_key("HELP"), escape=True,
            help="帮助 — 查看全部功能", pure=True)
def show_help(msg: Inbound, ctx: Context) -> str:
    """List what the bot can do, generated from the registered entry points."""
    return help_text(ctx)


# The features most people come for lead the list, each with its line; the rest are named in one
# line; 取消 comes last. The whole fits one phone screen (issue 21, item 5).
MAIN_FEATURES = ("答题", "举报", "活动", "安全知识")
CANCEL_LINE = "发送 取消 可退出当前操作。"


def _command(line: str) -> str:
    return line.split(" — ", 1)[0]


def feature_list(ctx: Context) -> list[str]:
    """The generated help: main features with their lines, then the other commands, 取消 last."""
    return [*_ordered(tuple(ctx.dispatcher.help_lines())), ctx.texts("help_footer")]


@functools.lru_cache(maxsize=8)
def _ordered(lines: tuple[str, ...]) -> tuple[str, ...]:
    main = sorted((line for line in lines if _command(line) in MAIN_FEATURES),
                  key=lambda line: MAIN_FEATURES.index(_command(line)))
    others = [_command(line) for line in lines if _command(line) not in (*MAIN_FEATURES, "帮助", "取消")]
    return (*(f"· {line}" for line in main), "还可以发送：" + "、".join(others))


def help_text(ctx: Context) -> str:
    resume = ""
    if ctx.conv.holds_work:
        resume = "\n\n（您还有一项操作在进行中，可继续回复，或发送 取消 退出。）"
    return "\n".join([ctx.texts("help_header"), *feature_list(ctx), CANCEL_LINE]) + resume


@escapes.on(event("subscribe"), escape=True)
def welcome(msg: Inbound, ctx: Context) -> str:
    """Greet a new follower."""
    return ctx.texts("welcome")


@escapes.on(event("unsubscribe"), escape=True)
def farewell(msg: Inbound, ctx: Context) -> None:
    """Nothing can be sent to someone who left; the dispatcher already recorded it."""
    ctx.conv.clear()
    return None


@fallback.on(kind("text", "voice"), pure=True)
def not_understood(msg: Inbound, ctx: Context) -> str:
    """Nothing matched: suggest what the citizen can do."""
    if msg.kind == "voice" and not msg.text:
        return ctx.texts("voice_unrecognised")
    return "\n".join([ctx.texts("fallback"), *feature_list(ctx), CANCEL_LINE])


@fallback.on(kind("image", "video", "shortvideo", "location", "link"), pure=True)
def unexpected_media(msg: Inbound, ctx: Context) -> str:
    """A photo or place sent outside any flow: point to the report flow rather than ignore it."""
    return ctx.texts("not_understood_media")


@fallback.on(kind("event"), pure=True)
def quiet_event(msg: Inbound, ctx: Context) -> None:
    """Job reports, location reports and menu views need no answer."""
    return None
