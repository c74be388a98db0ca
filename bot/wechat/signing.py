"""WeChat's side of a push: the signed query and, in safe or compatible mode, the encrypted envelope.

The dev simulator posts its messages this way and so does the tests' WeChat client, so both speak
the one protocol the webhook checks (bot/wechat/gateway.py is the receiving side). Protocol:
https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html and
.../Message_Management/Message_encryption_and_decryption_instructions.html.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from bot.wechat.gateway import Gateway, sign
from bot.wechat.inbound import parse_xml

# plain: the XML as is; aes (safe mode): only an Encrypt field; compatible: both, plaintext first.
MODES = ("plain", "aes", "compatible")


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclasses.dataclass(frozen=True)
class Push:
    """One push as WeChat posts it: query parameters and body."""

    query: dict[str, str]
    body: str

    def url(self, path: str = "/wechat") -> str:
        return f"{path}?{urlencode(self.query)}"


@dataclasses.dataclass(frozen=True)
class PushSigner:
    """Signs and encrypts pushes for the account `gateway` receives for (its token, AppID and AES key)."""

    gateway: Gateway

    def query(self, timestamp: str, nonce: str, encrypted: str | None = None, **extra: str) -> dict[str, str]:
        """The query WeChat adds to a push: signature, and for an encrypted body msg_signature over it."""
        query = {"signature": sign(self.gateway.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        if encrypted is not None:
            query |= {"encrypt_type": "aes",
                      "msg_signature": sign(self.gateway.token, timestamp, nonce, encrypted)}
        return query | extra

    def encrypt(self, xml: str) -> str:
        """The Encrypt field's payload for `xml`."""
        return self.gateway.encrypt_payload(xml)

    def envelope(self, xml: str, encrypted: str, account: str, mode: str = "aes") -> str:
        """The body of an encrypted push: in compatible mode the plaintext fields travel beside Encrypt."""
        if mode not in ("aes", "compatible"):
            raise ValueError(f"no envelope in mode {mode!r}")
        inner = xml[len("<xml>"):-len("</xml>")] if mode == "compatible" else ""
        return f"<xml><ToUserName>{cdata(account)}</ToUserName>{inner}<Encrypt>{cdata(encrypted)}</Encrypt></xml>"

    def push(self, xml: str, *, timestamp: str, nonce: str, mode: str = "plain", account: str = "",
             **extra: str) -> Push:
        """`xml` as WeChat posts it in `mode`; `extra` goes into the query (WeChat adds the sender's openid)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if mode == "plain":
            return Push(self.query(timestamp, nonce, **extra), xml)
        encrypted = self.encrypt(xml)
        return Push(self.query(timestamp, nonce, encrypted, **extra), self.envelope(xml, encrypted, account, mode))

    def open_reply(self, body: str) -> str:
        """The plaintext XML of an encrypted reply, once its MsgSignature is checked (BadSignature if not)."""
        envelope = parse_xml(body)
        return self.gateway.decrypt_fields(envelope, str(envelope.get("MsgSignature", "")),
                                           str(envelope.get("TimeStamp", "")), str(envelope.get("Nonce", "")))
