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
# Passive news replies: 1 article in a reply to a user message, up to 8 after an event (since
# 2018-10-12). [C] mirrors of the passive-reply doc (被动回复用户消息, ArticleCount: "当用户发送文本、图片、
# 视频、图文、地理位置这五种消息时，开发者只能回复1条图文消息；其余场景最多可回复8条图文消息", e.g.
# blog.csdn.net/weixin_33498283/article/details/115661416); the stricter reading covers every user message.
NEWS_AFTER_MESSAGE = 1
NEWS_AFTER_EVENT = 8


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


# A customer-service text part: the docs give no limit; field reports put it where passive replies
# are — Senparc sends longer text as successive 2048-byte customer-service messages ([C] JeffreySu/
# WeiXinMPSDK#2875, TextResponseLimitOptions(2048)), dodgepudding/wechat-php-sdk#363 measured 2047 bytes.
CUSTOM_TEXT_LIMIT_BYTES = 2000  # a margin under 2047 for the part marker's variations


def split_text(content: str, limit: int = CUSTOM_TEXT_LIMIT_BYTES) -> list[str]:
    """Cut a long text into parts of at most `limit` UTF-8 bytes, at line ends where possible, each
    marked （i/n） so the citizen reads them in order. Short text comes back as it is."""
    if len(content.encode("utf-8")) <= limit:
        return [content]
    budget = limit - len("（99/99）".encode())
    parts: list[str] = []
    rest = content
    while rest:
        if len(rest.encode("utf-8")) <= budget:
            parts.append(rest.rstrip("\n"))
            break
        cut = rest.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
        if "\n" in cut[len(cut) // 2:]:
            cut = cut[: cut.rindex("\n") + 1]
        parts.append(cut.rstrip("\n"))
        rest = rest[len(cut):]
    return [f"{part}（{n}/{len(parts)}）" for n, part in enumerate(parts, 1)]


def render(reply: Reply, inbound: Inbound, now: int | None = None) -> str:
    """Reply XML with the user names swapped, as WeChat expects."""
    head = (f"<ToUserName>{cdata(inbound.openid)}</ToUserName>"
            f"<FromUserName>{cdata(inbound.account)}</FromUserName>"
            f"<CreateTime>{int(now or time.time())}</CreateTime>")
    if isinstance(reply, Text):
        body = f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(fit_text(reply.content))}</Content>"
    elif isinstance(reply, News):
        articles = reply.articles[:news_limit(inbound)]
        items = "".join(
            f"<item><Title>{cdata(a.title)}</Title><Description>{cdata(a.description)}</Description>"
            f"<PicUrl>{cdata(a.image)}</PicUrl><Url>{cdata(a.url)}</Url></item>"
            for a in articles
        )
        body = (f"<MsgType>{cdata('news')}</MsgType><ArticleCount>{len(articles)}</ArticleCount>"
                f"<Articles>{items}</Articles>")
    else:
        body = f"<MsgType>{cdata('image')}</MsgType><Image><MediaId>{cdata(reply.media_id)}</MediaId></Image>"
    return f"<xml>{head}{body}</xml>"


def news_limit(inbound: Inbound) -> int:
    """How many articles a passive news reply to this push may carry."""
    return NEWS_AFTER_EVENT if inbound.kind == "event" else NEWS_AFTER_MESSAGE
