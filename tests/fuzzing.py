"""Hypothesis strategies for hostile WeChat pushes, shared by tests/test_fuzz.py and bench/fuzz_webhook.py."""

from __future__ import annotations

import itertools
from urllib.parse import urlencode

from hypothesis import strategies as st

from bot.wechat.gateway import sign
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import WeChatServer, cdata

KINDS = ["text", "image", "voice", "video", "shortvideo", "location", "link", "event", "hologram", ""]
FIELDS = ["Content", "MediaId", "PicUrl", "Location_X", "Location_Y", "Scale", "Label", "Event", "EventKey",
          "Recognition", "Url", "Title", "Description", "MsgId", "CreateTime", "Latitude", "Longitude"]


def _field(name: str, value: str, wrap: bool) -> str:
    return f"<{name}>{cdata(value) if wrap else value}</{name}>"


@st.composite
def wechat_xml(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(KINDS))
    parts = [_field("ToUserName", "gh_test", True), _field("FromUserName", draw(st.text(max_size=40)), True),
             _field("CreateTime", draw(st.one_of(st.integers(-10, 2**40).map(str), st.text(max_size=8))), False),
             _field("MsgType", kind, draw(st.booleans()))]
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=6)):
        value = draw(st.one_of(st.text(max_size=60), st.text(max_size=5000), st.floats().map(str)))
        parts.append(_field(name, value, draw(st.booleans())))
    return "<xml>" + "".join(parts) + "</xml>"


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    xml = draw(wechat_xml())
    mutation = draw(st.sampled_from(["none", "truncate", "insert", "encoding", "prolog", "random", "huge",
                                     "instruction", "nested"]))
    if mutation == "truncate":
        xml = xml[: draw(st.integers(0, len(xml)))]
    elif mutation == "insert":
        at = draw(st.integers(0, len(xml)))
        xml = xml[:at] + draw(st.sampled_from(["<", ">", "&", "]]>", "<!--", "<![CDATA[", "\x00", "&lol;", "</xml>"])) + xml[at:]
    elif mutation == "prolog":
        xml = draw(st.sampled_from(['<?xml version="1.0" encoding="GBK"?>', '<!DOCTYPE x [<!ENTITY a "b">]>',
                                    '<?xml version="1.0"?>', "\ufeff"])) + xml
    elif mutation == "instruction":
        # A processing instruction (one holding "<xml", which hid a DOCTYPE from the old check) and
        # what may follow it: a DTD, entities, an external reference.
        xml = draw(st.sampled_from(PROCESSING_INSTRUCTIONS)) + draw(st.sampled_from(DECLARATIONS)) + xml
        if draw(st.booleans()):
            xml = xml.replace("</xml>", "<Content>&e;&e;&e;</Content></xml>")
    elif mutation == "nested":
        depth = draw(st.integers(2, 6000))
        tag = draw(st.sampled_from(["a", "Content", "item", "xml"]))
        xml = xml.replace("</xml>", f"<{tag}>" * depth + draw(st.text(max_size=10)).replace("<", "")
                          + f"</{tag}>" * draw(st.sampled_from([depth, depth - 1])) + "</xml>")
    elif mutation == "random":
        return draw(st.binary(max_size=2000))
    elif mutation == "huge":
        xml = xml.replace("</xml>", "<Content>" + "长" * draw(st.integers(10_000, 30_000)) + "</Content></xml>")
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "gbk", "latin-1"])) if mutation == "encoding" else "utf-8"
    return xml.encode(encoding, errors="replace")


PROCESSING_INSTRUCTIONS = ['<?xml version="1.0"?>', "<?note <xml?>", "<?xml-stylesheet href='x'?>",
                           '<?xml version="1.0"?><?pi <xml a="1"?>', ""]
DECLARATIONS = ['<!DOCTYPE xml [<!ENTITY e "' + "大" * 500 + '">]>',
                '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
                '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>',
                '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY e "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
                "<!DOCTYPE xml>", "<!-- <!DOCTYPE -->"]
SIGNATURES = ["good", "bad", "replayed", "stale"]
NOW = "1622512800"  # the clock of tests and bench: timestamps must be near it
REPLAYED_NONCE = "42"  # one (timestamp, nonce) that every "replayed" case reuses, with its own body
_nonces = itertools.count(1)


def signed_request(body: bytes, encrypted: bool, signature: str = "good") -> tuple[str, bytes]:
    """The query string and body WeChat would send for this (possibly hostile) message; `signature`
    is good (a fresh nonce), bad, replayed (a (timestamp, nonce) already used with another body)
    or stale (an hour old)."""
    timestamp = str(int(NOW) - 3600) if signature == "stale" else NOW
    nonce = REPLAYED_NONCE if signature == "replayed" else f"f{next(_nonces)}"
    query = {"signature": "0" * 40 if signature == "bad" else sign(TOKEN, timestamp, nonce),
             "timestamp": timestamp, "nonce": nonce}
    if encrypted:
        inner = WeChatServer(None, TOKEN, APP_ID, AES_KEY).encrypt(body.decode("utf-8", errors="replace"))
        query |= {"encrypt_type": "aes", "msg_signature": sign(TOKEN, timestamp, nonce, inner)}
        body = f"<xml><Encrypt>{cdata(inner)}</Encrypt></xml>".encode()
    return urlencode(query), body
