"""What handlers return, and how it becomes WeChat reply XML.

Rendered here rather than with wechatpy's reply classes: those wrap text in CDATA without escaping
`]]>`, so a citizen's own words could break the XML (reference/wechat-frameworks.md §3.5).
"""

from __future__ import annotations

import dataclasses
import time

from bot.wechat.inbound import Inbound, strip_illegal

TEXT_LIMIT_BYTES = 2048  # WeChat silently drops longer passive text replies
TRUNCATION_NOTE = "\n……（内容较长，已截断）"


@dataclasses.dataclass(frozen=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    image: str = ""


@dataclasses.dataclass(frozen=True)
class Text:
    content: str


@dataclasses.dataclass(frozen=True)
class News:
    # Only one article is shown in a reply to a user message; more are allowed after events.
    articles: tuple[Article, ...]


@dataclasses.dataclass(frozen=True)
class Image:
    media_id: str


Reply = Text | News | Image


def as_reply(value: Reply | str | None) -> Reply | None:
    if value is None or isinstance(value, Text | News | Image):
        return value
    return Text(value)


def cdata(value: str) -> str:
    return "<![CDATA[" + strip_illegal(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def fit_text(content: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """Keep a text reply within WeChat's byte limit, cutting at a line end where possible."""
    if len(content.encode("utf-8")) <= limit:
        return content
    budget = limit - len(TRUNCATION_NOTE.encode("utf-8"))
    cut = content.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    if "\n" in cut[len(cut) // 2:]:
        cut = cut[: cut.rindex("\n")]
    return cut + TRUNCATION_NOTE


def render(reply: Reply, inbound: Inbound, now: int | None = None) -> str:
    """Reply XML with the user names swapped, as WeChat expects."""
    head = (f"<ToUserName>{cdata(inbound.openid)}</ToUserName>"
            f"<FromUserName>{cdata(inbound.account)}</FromUserName>"
            f"<CreateTime>{int(now or time.time())}</CreateTime>")
    if isinstance(reply, Text):
        body = f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(fit_text(reply.content))}</Content>"
    elif isinstance(reply, News):
        items = "".join(
            f"<item><Title>{cdata(a.title)}</Title><Description>{cdata(a.description)}</Description>"
            f"<PicUrl>{cdata(a.image)}</PicUrl><Url>{cdata(a.url)}</Url></item>"
            for a in reply.articles[:8]
        )
        body = (f"<MsgType>{cdata('news')}</MsgType><ArticleCount>{min(len(reply.articles), 8)}</ArticleCount>"
                f"<Articles>{items}</Articles>")
    else:
        body = f"<MsgType>{cdata('image')}</MsgType><Image><MediaId>{cdata(reply.media_id)}</MediaId></Image>"
    return f"<xml>{head}{body}</xml>"
