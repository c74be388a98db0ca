"""A test client that behaves like the WeChat server: signs, encrypts in AES mode, posts, decrypts.

Conversation tests drive the bot only through this, never by calling handlers (aesthetics.md §9.6).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import xmltodict

from bot.wechat.gateway import Gateway
from bot.wechat.signing import MODES, PushSigner, cdata

_msg_ids = itertools.count(10_000_000_000)
_nonces = itertools.count(1)


@dataclasses.dataclass
class Reply:
    status: int
    body: str
    xml: str  # decrypted
    fields: dict[str, Any]

    @property
    def text(self) -> str:
        assert self.fields.get("MsgType") == "text", f"not a text reply: {self.body!r}"
        return self.fields["Content"] or ""

    @property
    def is_success(self) -> bool:
        return self.body == "success"

    @property
    def articles(self) -> list[dict[str, Any]]:
        items = self.fields["Articles"]["item"]
        return items if isinstance(items, list) else [items]


class WeChatServer:
    """Everything WeChat's side knows: token, AppID, AES key and the mode it pushes in.

    Pushes are signed and encrypted by bot/wechat/signing.py, as the dev simulator's are."""

    def __init__(self, client: Any, token: str, app_id: str, aes_key: str, mode: str = "plain",
                 clock: Any = None, path: str = "/wechat", nonces: Iterator[int] | None = None) -> None:
        assert mode in MODES
        self.client, self.token, self.app_id, self.aes_key, self.mode = client, token, app_id, aes_key, mode
        self.clock = clock
        self.path = path
        self.signer = PushSigner(Gateway(token, app_id, aes_key))
        # A Redis store remembers every (timestamp, nonce) for minutes: a run against a long-lived one
        # passes nonces of its own, so that a rerun is not refused as a replay.
        self.nonces = nonces if nonces is not None else _nonces

    def now(self) -> int:
        return int(self.clock.now().timestamp()) if self.clock else int(time.time())

    def nonce(self) -> str:
        return str(next(self.nonces))

    def query(self, body_encrypt: str | None = None, **extra: str) -> dict[str, str]:
        return self.signer.query(str(self.now()), self.nonce(), body_encrypt, openid=extra.pop("openid", ""), **extra)

    def encrypt(self, xml: str) -> str:
        return self.signer.encrypt(xml)

    def push(self, xml: str, openid: str = "") -> Reply:
        """POST a message the way WeChat would in this server's mode and parse the reply."""
        if self.mode == "plain":
            body, query = xml, self.query(openid=openid)
        else:
            encrypted = self.encrypt(xml)
            body = self.signer.envelope(xml, encrypted, "gh_test", self.mode)
            query = self.query(body_encrypt=encrypted, openid=openid)
        response = self.client.post(f"{self.path}?{urlencode(query)}", data=body.encode("utf-8"),
                                    content_type="text/xml")
        return self.parse_reply(response, query)

    def parse_reply(self, response: Any, query: dict[str, str]) -> Reply:
        body = response.get_data(as_text=True)
        if response.status_code != 200 or body in ("success", ""):
            return Reply(response.status_code, body, "", {})
        xml = body
        if self.mode != "plain":
            assert xmltodict.parse(body)["xml"]["Nonce"] == query["nonce"], "a reply carries the push's nonce"
            xml = self.signer.open_reply(body)  # BadSignature if its MsgSignature is wrong
        fields = xmltodict.parse(xml)["xml"]
        return Reply(response.status_code, body, xml, fields)


class Citizen:
    """One WeChat user talking to the account."""

    def __init__(self, server: WeChatServer, openid: str = "o_citizen_1", account: str = "gh_test") -> None:
        self.server = server
        self.openid = openid
        self.account = account
        self.last_xml: str | None = None

    def _envelope(self, msg_type: str, fields: str, msg_id: int | None = None, created: int | None = None) -> str:
        created = created if created is not None else self.server.now()
        head = (f"<xml><ToUserName>{cdata(self.account)}</ToUserName><FromUserName>{cdata(self.openid)}</FromUserName>"
                f"<CreateTime>{created}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>")
        tail = f"<MsgId>{msg_id if msg_id is not None else next(_msg_ids)}</MsgId></xml>" if msg_type != "event" else "</xml>"
        return head + fields + tail

    def send(self, xml: str) -> Reply:
        self.last_xml = xml
        reply = self.server.push(xml, openid=self.openid)
        if reply.fields:
            assert reply.fields["ToUserName"] == self.openid, "reply must be addressed to the sender"
            assert reply.fields["FromUserName"] == self.account, "reply must come from the account"
        return reply

    def last_dedupe_key(self) -> str:
        """The store key under which the bot remembers the last message (to make it forget, as after a flush)."""
        from bot.wechat.inbound import parse_inbound

        assert self.last_xml is not None
        bot = self.server.client.application.extensions["bot"]
        return "dedupe:" + parse_inbound(self.last_xml, bot.vault.sender).dedupe_key

    def resend_last(self) -> Reply:
        assert self.last_xml is not None
        return self.send(self.last_xml)

    def text(self, content: str, msg_id: int | None = None) -> Reply:
        return self.send(self._envelope("text", f"<Content>{cdata(content)}</Content>", msg_id))

    def says(self, content: str) -> str:
        """Send text; return the reply's text."""
        return self.text(content).text

    def image(self, media_id: str = "MEDIA_1", pic_url: str = "http://mmbiz.example/pic1.jpg") -> Reply:
        return self.send(self._envelope("image", f"<PicUrl>{cdata(pic_url)}</PicUrl><MediaId>{cdata(media_id)}</MediaId>"))

    def voice(self, recognition: str = "", media_id: str = "VOICE_1") -> Reply:
        fields = f"<MediaId>{cdata(media_id)}</MediaId><Format>{cdata('amr')}</Format>"
        if recognition is not None:
            fields += f"<Recognition>{cdata(recognition)}</Recognition>"
        return self.send(self._envelope("voice", fields))

    def video(self, media_id: str = "VIDEO_1", kind: str = "video") -> Reply:
        return self.send(self._envelope(kind, f"<MediaId>{cdata(media_id)}</MediaId><ThumbMediaId>{cdata('THUMB')}</ThumbMediaId>"))

    def location(self, lat: float, lng: float, label: str = "", scale: int = 15) -> Reply:
        return self.send(self._envelope("location", f"<Location_X>{lat}</Location_X><Location_Y>{lng}</Location_Y>"
                                                    f"<Scale>{scale}</Scale><Label>{cdata(label)}</Label>"))

    def link(self, url: str, title: str = "标题", description: str = "") -> Reply:
        return self.send(self._envelope("link", f"<Title>{cdata(title)}</Title><Description>{cdata(description)}</Description>"
                                                f"<Url>{cdata(url)}</Url>"))

    def event(self, name: str, key: str | None = None, extra: str = "", created: int | None = None) -> Reply:
        fields = f"<Event>{cdata(name)}</Event>" + (f"<EventKey>{cdata(key)}</EventKey>" if key is not None else "") + extra
        return self.send(self._envelope("event", fields, created=created))

    def follow(self, scene: str | None = None) -> Reply:
        return self.event("subscribe", f"qrscene_{scene}" if scene else "")

    def unfollow(self) -> Reply:
        return self.event("unsubscribe", "")

    def click(self, key: str) -> Reply:
        return self.event("CLICK", key)

    def dialog(self, steps: list[tuple[Any, str | list[str]]]) -> list[Reply]:
        """Each step: (what to send, expected substring or substrings of the reply text).

        What to send is text, or a callable taking this citizen (e.g. `lambda c: c.image()`).
        """
        replies = []
        for sent, expected in steps:
            reply = sent(self) if callable(sent) else self.text(sent)
            wanted = [expected] if isinstance(expected, str) else expected
            content = reply.text
            for part in wanted:
                assert part in content, f"after {sent!r}: expected {part!r} in reply:\n{content}"
            replies.append(reply)
        return replies


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()
