"""Yes or no, as citizens answer a question in the chat: one reading for every flow's yes/no question.

"是", "好的！", "嗯嗯", "對", "没问题" are yes; "否", "不。", "不是的", "算了吧", "不用了" are no. The
text is folded the way every matcher folds it (NFKC at the edge, punctuation and case dropped),
traditional characters become simplified, a leading filler (嗯…/哦) and trailing particles (啊/吧/呀)
fall away and a repeated word ("对对对", "不不不") counts once. Anything longer or unclear is
neither: the step then treats it as the data it asks for, or asks again.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal, Protocol

from bot.services.script import to_simplified
from bot.wechat.inbound import Inbound, keyword_form

Answer = Literal["yes", "no"]


class Memo(Protocol):
    """What the matchers need of a message's context (bot/chat/context.py): a memo kept for one message."""

    memo: dict[str, Any]

YES = frozenset({
    "是", "是的", "对", "对的", "好", "好的", "好滴", "好嘞", "嗯", "恩", "要", "要的", "行", "可以", "确定", "确认",
    "没错", "没问题", "当然", "同意", "需要", "确实", "是滴", "对头", "中", "ok", "okay", "yes", "y", "yeah", "好好",
    "嗯好", "嗯是", "是是", "确定的", "对呀", "好呀", "👌", "👍",
})
NO = frozenset({
    "否", "不", "不是", "不是的", "不要", "不用", "不用了", "不了", "不对", "不行", "不好", "不需要", "不必", "不想",
    "没有", "没", "别", "算了", "先不", "先不用", "暂时不", "暂时不用", "不确定", "不同意", "no", "n", "nope",
})
# Dropped at the start ("嗯…不用了") and at the end ("好吧", "是啊", "不要了"), when something is left.
FILLERS = "嗯恩哦噢喔额呃唔那"
PARTICLES = "啊呀吧呢哦嘛啦哈噢喔了的滴呗咯哟"
_REPEATS = re.compile(r"^(.+?)\1+$")


def fold(text: str) -> str:
    """The text as the yes/no words are compared: simplified, without punctuation, case or emoji variation."""
    return keyword_form(to_simplified(unicodedata.normalize("NFKC", text or ""))).replace("\ufe0f", "")


def candidates(word: str) -> list[str]:
    """The folded word, without a leading filler, trailing particles, a repetition."""
    forms = [word]
    trimmed = word.lstrip(FILLERS)
    if trimmed and trimmed != word:
        forms.append(trimmed)
    for form in list(forms):
        while len(form) > 1 and form[-1] in PARTICLES:  # one at a time: "算了吧" → "算了", not "算"
            form = form[:-1]
            forms.append(form)
    for form in list(forms):
        once = _REPEATS.match(form)
        if once:
            forms.append(once.group(1))
    return forms


def reading(text: str) -> Answer | None:
    """"yes", "no", or None when the text is not a plain yes or no."""
    word = fold(text)
    if not word or len(word) > 8:  # a sentence is an answer to the step, not a yes or a no
        return None
    for form in candidates(word):
        if form in YES:
            return "yes"
        if form in NO:
            return "no"
    return None


def _read(msg: Inbound, ctx: Memo) -> Answer | None:
    if msg.kind not in ("text", "voice") or not msg.text:
        return None
    if "yesno" not in ctx.memo:  # several rules ask; read it once
        ctx.memo["yesno"] = reading(msg.text)
    return ctx.memo["yesno"]


def says_yes(msg: Inbound, ctx: Memo) -> bool:
    """Matcher: the message is a plain yes."""
    return _read(msg, ctx) == "yes"


def says_no(msg: Inbound, ctx: Memo) -> bool:
    """Matcher: the message is a plain no."""
    return _read(msg, ctx) == "no"
