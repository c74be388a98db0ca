"""What a citizen typed (or said) → an answer, or None when it is not one (the question is asked again).

Pure: no I/O. Accepted, as people type them in a chat: `A`, `a`, `Ａ`, `选A`, `答案是A`, `A。`,
multiple choice in any order and with separators (`ABD`, `A,B,D`, `a b d`, `A、B和D`), and for
true/false 对/错/√/×/是/否/正确/错误 (voice arrives as its Recognition text, often ending in 。).
"""

from __future__ import annotations

import re
import unicodedata

from bot.services.quiz.bank import FALSE, LETTERS, TRUE
from bot.services.script import to_simplified
from bot.services.yesno import candidates

# Longest first, so "答案是" is removed before "答案".
PREFIXES = ("我的答案是", "答案应该是", "答案是", "答案为", "答案选", "答案", "我选择", "应该选", "应该是",
            "我选", "选择", "选项", "选")
SUFFIXES = ("选项", "项")
TRUE_WORDS = {"对", "对的", "√", "✓", "✔", "是", "是的", "正确", "没错", "T", "TRUE", "Y", "YES"}
FALSE_WORDS = {"错", "错的", "错误", "×", "✗", "✘", "X", "否", "不对", "不正确", "不是", "F", "FALSE", "N", "NO"}

_EDGE_PUNCT = re.compile(r"^[\s\"'“”‘’(（\[【《<:：]+|[\s\"'“”‘’)）\]】》>。.．!！~～?？;；,，、:：]+$")
_SEPARATORS = re.compile(r"[\s,，、/;；+＋&.．和与及]+")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().upper()
    previous = None
    while previous != text:
        previous = text
        text = _EDGE_PUNCT.sub("", text)
        for prefix in PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix):
                text = text[len(prefix):]
                break
        for suffix in SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
    return text


def parse_answer(text: str, kind: str, option_count: int = 0) -> str | None:
    """The canonical answer ("B", "ABD", 对, 错) for a question of `kind`, or None to ask again."""
    cleaned = _clean(text or "")
    if not cleaned:
        return None
    if kind == "truefalse":
        return _true_or_false(cleaned)
    letters = _SEPARATORS.sub("", cleaned)
    allowed = LETTERS[:option_count]
    if not letters or any(ch not in allowed for ch in letters):
        return None
    chosen = "".join(sorted(set(letters)))
    if kind == "single":
        return chosen if len(chosen) == 1 else None
    if kind == "multiple":
        return chosen if len(chosen) >= 2 else None
    return None


def _true_or_false(cleaned: str) -> str | None:
    # Folded as a yes/no is ("對！", "对对对", "不是的"), but only words that judge a statement count:
    # "好的" or "嗯" is no answer to "说法正确吗".
    for form in candidates(to_simplified(cleaned)):
        if form.upper() in TRUE_WORDS:
            return TRUE
        if form.upper() in FALSE_WORDS:
            return FALSE
    return None


def how_to_answer(kind: str, option_count: int = 0) -> str:
    """One line shown under every question and in every re-ask."""
    last = LETTERS[max(option_count, 2) - 1]
    if kind == "truefalse":
        return "判断题：请回复 对 或 错（也可回复 √ / ×）"
    if kind == "multiple":
        return f"多选题：请回复全部正确选项的字母（A–{last}，至少两个），如 AC"
    return f"单选题：请回复一个选项字母（A–{last}），如 B"
