"""设置乡镇: a citizen picks their township (by number or name); the account tags them in WeChat."""

from __future__ import annotations

import re

from bot.chat.context import Context
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import Router, kind, regex, text_in
from bot.services.township_choice import set_township
from bot.wechat.inbound import Inbound
from handlers.leaving import Reentry, declare

router = Router("township")

TEXTS = {
    "choose": "请回复您所在乡镇的序号或名称：\n{options}\n（发送 取消 退出）",
    "again": "没有找到“{text}”。请回复上面列表中的序号（1—{count}）或乡镇名称，发送 取消 退出。",
    "done": "已将您的乡镇设为：{name}。今后本乡镇的宣讲、演练等通知会推送给您。",
    "same": "您的乡镇已经是：{name}，无需修改。",
    "not_found": "没有找到“{text}”这个乡镇。\n",
}


class Township(StateGroup):
    choose = State()


CHOOSE_WORDS = ("设置乡镇", "选择乡镇", "修改乡镇", "我的乡镇")


def _list_again(msg: Inbound, ctx: Context) -> str:
    return TEXTS["choose"].format(options=options(ctx))


# Another feature's word at the list: nothing was typed yet, so the list is left at once.
declare(router, Township, Reentry(what="乡镇设置", doing="选择乡镇", prompt=_list_again, leave_at=(Township.choose,),
                                 own_words=CHOOSE_WORDS))


def options(ctx: Context) -> str:
    return "\n".join(f"{n}. {t.name}" for n, t in enumerate(ctx.content.townships.items, start=1))


@router.on(text_in(*CHOOSE_WORDS), help="设置乡镇 — 选择您所在的乡镇，接收本地通知")
def ask_township(msg: Inbound, ctx: Context) -> str:
    ctx.conv.enter(Township.choose)
    return TEXTS["choose"].format(options=options(ctx))


@router.on(regex(r"^(设置|选择|修改)乡镇\s*\S"))
def set_named_township(msg: Inbound, ctx: Context) -> str:
    """`设置乡镇 城关镇` in one message."""
    name = re.sub(r"^(设置|选择|修改)乡镇\s*", "", msg.text)
    township = ctx.content.townships.find(name)
    if township is None:
        ctx.conv.enter(Township.choose)
        return TEXTS["not_found"].format(text=name[:20]) + TEXTS["choose"].format(options=options(ctx))
    return save(msg, ctx, township)


@router.on(kind("text", "voice"), state=Township.choose)
def take_township(msg: Inbound, ctx: Context) -> str:
    items = ctx.content.townships.items
    text = msg.text.strip().rstrip("。.")
    township = None
    if text.isdigit() and 1 <= int(text) <= len(items):
        township = items[int(text) - 1]
    elif text:
        township = ctx.content.townships.find(text)
    if township is None:
        return TEXTS["again"].format(text=text[:20], count=len(items))
    return save(msg, ctx, township)


def save(msg: Inbound, ctx: Context, township) -> str:
    ctx.conv.clear()
    if not set_township(ctx.session, msg.openid, township, ctx.now(), msg.dedupe_key):
        return TEXTS["same"].format(name=township.name)
    return TEXTS["done"].format(name=township.name)
