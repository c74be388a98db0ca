"""Pre-signed WeChat pushes for load tests: thousands of openids, plaintext or AES, a realistic mix."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

from bot.wechat.gateway import Gateway
from bot.wechat.signing import PushSigner

TOKEN = "bench-token"
APP_ID = "wxbench000000001"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
_SIGNER = PushSigner(Gateway(TOKEN, APP_ID, AES_KEY))

# The stateless mix: help, event and knowledge questions as citizens type them.
STATELESS = ["帮助", "菜单", "活动", "今天有什么活动", "明天有演练吗", "6月1日", "本周 宣讲", "城关镇 宣讲",
             "燃气泄漏怎么办", "电动车能在楼道充电吗", "灭火器怎么用", "家里着火了怎么逃生", "中暑了怎么办",
             "一氧化碳中毒怎么急救", "触电了怎么办", "暴雨天开车要注意什么", "有限空间作业要注意什么"]

_ids = itertools.count(7_000_000_000_000)
# Nonces of signed_pushes: each (timestamp, nonce) is taken with one body only (bot/wechat/replay.py),
# so every request file of a run, and of every run against the same store, gets nonces of its own.
_nonces = itertools.count(1)
_RUN = f"{random.SystemRandom().getrandbits(32):08x}"


def cdata(value: str) -> str:
    return "<![CDATA[" + value + "]]>"


def text_xml(openid: str, content: str, created: int = 1622512800) -> str:
    return (f"<xml><ToUserName>{cdata('gh_bench')}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType>{cdata('text')}</MsgType>"
            f"<Content>{cdata(content)}</Content><MsgId>{next(_ids)}</MsgId></xml>")


def signed(xml: str, aes: bool, nonce: int | str) -> tuple[str, str]:
    """(path with query, body) as WeChat would POST them."""
    push = _SIGNER.push(xml, timestamp="1622512800", nonce=str(nonce), mode="aes" if aes else "plain",
                        account="gh_bench")
    return push.url(), push.body


def stateless_messages(count: int, openids: int, seed: int = 1) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    for _ in range(count):
        yield f"o_bench_{rng.randrange(openids):06d}", rng.choice(STATELESS)


def quiz_answers(rounds: dict[str, list[tuple[str, int]]], per_user: int, seed: int = 2) -> Iterator[tuple[str, str]]:
    """Well-formed answers (right or wrong) to each user's own questions, in order, users interleaved:
    every message is an answer the bot stores. `rounds`: openid -> [(question kind, option count)]
    for the questions still to answer in their round."""
    rng = random.Random(seed)
    for position in range(per_user):
        for openid, questions in rounds.items():
            if position < len(questions):
                yield openid, well_formed_answer(rng, *questions[position])


def well_formed_answer(rng: random.Random, kind: str, options: int) -> str:
    letters = "ABCDEFGH"[:options]
    if kind == "truefalse":
        return rng.choice(["对", "错"])
    if kind == "multiple":
        return "".join(sorted(rng.sample(letters, rng.randint(2, options))))
    return rng.choice(letters)


def signed_pushes(messages: Iterator[tuple[str, str]], aes_share: float = 0.5, seed: int = 3
                  ) -> Iterator[tuple[str, str]]:
    """(path with query, body) for each (openid, text): a fresh text message, AES for `aes_share` of them."""
    rng = random.Random(seed)
    for openid, content in messages:
        yield signed(text_xml(openid, content), rng.random() < aes_share, f"{_RUN}{next(_nonces)}")


def write_requests(path: Path, messages: Iterator[tuple[str, str]], aes_share: float = 0.5, seed: int = 3) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for target, body in signed_pushes(messages, aes_share, seed):
            out.write(f"{target}\t{body}\n")
            count += 1
    return count
