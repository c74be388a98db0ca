"""Safety knowledge: answer questions asked in plain Chinese, list the topics, and small talk.

This router sits just before the fallback, so any text no other feature takes is tried here first.
A clear match is answered; a plausible one gets the top three as numbered choices (the citizen
replies 1-3); anything else is left to the fallback's help. Greetings and thanks get a short
polite answer instead of a random safety article.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from bot.chat.context import Context
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import GO_ON, GoOn, Router, menu_key, text_in
from bot.clock import TZ
from bot.services.knowledge import Entry, Understanding
from bot.wechat.inbound import Inbound
from handlers.emergency import calm_line
from handlers.leaving import CONTEXT, declare

log = logging.getLogger(__name__)

router = Router("knowledge")
# The search in every entry, after the intent layer (handlers/__init__.py): same name, other place.
search = Router("knowledge", guesses=True)

CHOICE_IDLE = dt.timedelta(minutes=10)  # numbered choices are only meant for the next message


class Knowledge(StateGroup):
    choose = State()


declare(router, Knowledge, CONTEXT)  # the choices are only context: leave_choice drops them and routes afresh


TEXTS = {
    "topics_header": "安全知识，可以直接用自己的话提问。常见话题：",
    "topics_footer": "例如发送：燃气泄漏了怎么办？",
    "choose_header": "您想问的是不是：",
    "choose_footer": "请回复序号 1～{last} 查看答案；也可以换个说法直接提问。",
    "choose_footer_one": "回复 1 查看答案；也可以换个说法直接提问。",
    "choice_gone": "这条内容已更新，请重新提问。",
    "greeting": "您好！我是县应急管理局“安全生产月”服务助手：可以答题赢奖品、举报安全隐患、查活动安排、问安全知识。"
                "直接发文字即可，例如“答题”“燃气泄漏怎么办”；发送 帮助 查看全部功能。",
    "thanks": "不客气！注意安全，有问题随时发消息。",
    "ack": "好的。有问题随时发消息，发送 帮助 查看全部功能。",
    "bye": "再见，注意安全！",
}

# Whole-message small talk (after dropping punctuation, case and trailing particles).
_PARTICLES = "啊呀呢吗哦哈嘛啦喔噢~"
SMALLTALK = {
    "greeting": ("你好", "您好", "你们好", "hi", "hello", "哈喽", "嗨", "在吗", "在", "在不在", "有人吗", "在么",
                 "早上好", "早", "中午好", "下午好", "晚上好", "早安", "晚安", "小编好"),
    "thanks": ("谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "谢了", "thanks", "thankyou", "thx", "好的谢谢",
               "辛苦了", "麻烦了", "知道了谢谢", "收到谢谢"),
    "ack": ("好的", "好", "嗯", "嗯嗯", "ok", "okay", "知道了", "收到", "明白了", "明白", "行", "可以", "懂了",
            "哈哈", "哈哈哈", "哈哈哈哈", "呵呵", "666", "赞", "👍", "🙏"),
    "bye": ("再见", "拜拜", "bye", "byebye", "88", "回头见"),
}
_EMOTICONS = re.compile(r"^(\[[^\[\]]{1,4}\]|/:\S{1,6})+$")  # WeChat emoticons arrive as [微笑] or /::)
_CHOICE = re.compile(r"^第?([1-3一二三])(个|条|项)?$")
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3}


def _plain(msg: Inbound) -> str:
    return re.sub(r"[\s\W_]+", "", msg.text.lower()) if msg.kind in ("text", "voice") else ""


def smalltalk_kind(msg: Inbound) -> str | None:
    if msg.kind not in ("text", "voice") or not msg.text.strip():
        return None
    if _EMOTICONS.match(msg.text.strip()):
        return "ack"
    plain = _plain(msg).rstrip(_PARTICLES) or _plain(msg)
    return next((kind for kind, words in SMALLTALK.items() if plain in words), None)


def smalltalk(kind: str):
    def match(msg: Inbound, ctx: Context) -> bool:
        if "knowledge.smalltalk" not in ctx.memo:  # four rules ask; work it out once
            ctx.memo["knowledge.smalltalk"] = smalltalk_kind(msg)
        return ctx.memo["knowledge.smalltalk"] == kind

    return match


def choice_number(msg: Inbound, _ctx: Context) -> bool:
    return bool(_CHOICE.match(_plain(msg)))


def today(ctx: Context) -> dt.date:
    """The day whose content is answered: entries carry the dates their facts and sources hold."""
    return ctx.now().astimezone(TZ).date()


def understood(msg: Inbound, ctx: Context) -> bool:
    """Some knowledge entry fits the message well enough to answer or to offer."""
    return (msg.kind in ("text", "voice") and bool(msg.text)
            and ctx.content.knowledge.understand(msg.text, today(ctx)).band != "none")


# --- the numbered choices ---------------------------------------------------------------------

@router.on(choice_number, state=Knowledge.choose)
def take_choice(msg: Inbound, ctx: Context) -> str:
    """The citizen picked one of the offered entries by its number."""
    number = _CHOICE.match(_plain(msg)).group(1)  # type: ignore[union-attr]
    index = int(number) if number.isdigit() else _CHINESE_DIGITS[number]
    offered = ctx.conv.data.get("choices", [])
    ctx.conv.clear()
    entry = ctx.content.knowledge.get(offered[index - 1], today(ctx)) if index <= len(offered) else None
    if entry is None:
        if index > len(offered):
            return show_choices_again(offered, ctx)
        return TEXTS["choice_gone"]
    return answer(entry, ctx, band="chosen", score=None)


def show_choices_again(offered: list[str], ctx: Context) -> str:
    entries = [e for e in (ctx.content.knowledge.get(i, today(ctx)) for i in offered) if e is not None]
    if not entries:
        return TEXTS["choice_gone"]
    ctx.conv.enter(Knowledge.choose, idle=CHOICE_IDLE, choices=[e.id for e in entries])
    return choices_text(entries)


@router.on(state=Knowledge.choose, pure=True)  # it only drops context
def leave_choice(msg: Inbound, ctx: Context) -> GoOn:
    """Anything but a number: the choices are dropped and the message is routed as a fresh one."""
    ctx.conv.clear()
    return GO_ON


# --- entry points -----------------------------------------------------------------------------

@router.on(text_in("安全知识", "知识", "安全常识", "知识库", "科普", "学习安全知识", "我想学点安全知识", "安全小知识"),
           menu_key("KNOWLEDGE"), help="安全知识 — 常见安全问题；也可以直接用自己的话提问", pure=True)
def show_topics(msg: Inbound, ctx: Context) -> str:
    """The topics, each with a question to try."""
    log.info("knowledge topics", extra={"knowledge_band": "topics", "knowledge_entry": "topics"})
    lines = [f"· {t.name}：{t.example}" for t in ctx.content.knowledge.topics]
    return "\n".join([TEXTS["topics_header"], *lines, TEXTS["topics_footer"]])


@router.on(smalltalk("greeting"), pure=True)
def greet(msg: Inbound, ctx: Context) -> str:
    return TEXTS["greeting"]


@router.on(smalltalk("thanks"), pure=True)
def thank(msg: Inbound, ctx: Context) -> str:
    return TEXTS["thanks"]


@router.on(smalltalk("ack"), pure=True)
def acknowledge(msg: Inbound, ctx: Context) -> str:
    return TEXTS["ack"]


@router.on(smalltalk("bye"), pure=True)
def bye(msg: Inbound, ctx: Context) -> str:
    return TEXTS["bye"]


@search.on(understood, pure=True)
def answer_question(msg: Inbound, ctx: Context) -> str:
    """A question in the citizen's own words: answer it, or offer the closest entries."""
    result: Understanding = ctx.content.knowledge.understand(msg.text, today(ctx))
    if result.band == "direct":
        return answer(result.matches[0].entry, ctx, band="direct", score=result.matches[0].score)
    entries = [m.entry for m in result.matches]
    ctx.conv.enter(Knowledge.choose, idle=CHOICE_IDLE, choices=[e.id for e in entries])
    log.info("knowledge choices %s", ",".join(e.id for e in entries),
             extra={"knowledge_band": "choose", "knowledge_entry": None,
                    "knowledge_choices": [e.id for e in entries]})
    return choices_text(entries, ctx)


def answer(entry: Entry, ctx: Context, band: str, score: float | None) -> str:
    # The entry id is logged so staff can see which questions people ask (and tests can see the match).
    log.info("knowledge answer %s (%s, score %s)", entry.id, band, score,
             extra={"knowledge_band": band, "knowledge_entry": entry.id})
    return _number_first(ctx, entry.reply())


def choices_text(entries: list[Entry], ctx: Context | None = None) -> str:
    lines = [f"{n}. {e.question}" for n, e in enumerate(entries, start=1)]
    footer = TEXTS["choose_footer"].format(last=len(entries)) if len(entries) > 1 else TEXTS["choose_footer_one"]
    text = "\n".join([TEXTS["choose_header"], *lines, footer])
    return _number_first(ctx, text) if ctx is not None else text


def _number_first(ctx: Context, text: str) -> str:
    """A calm question about a danger ("家里着火应该怎么逃生") still hears the number first."""
    line = calm_line(ctx.msg, ctx)
    return f"{line}\n{text}" if line else text
