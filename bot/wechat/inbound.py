"""One frozen Inbound for every message and event WeChat pushes.

Parsed from the raw XML fields rather than wechatpy's classes, so that events wechatpy 1.8 does not
know (订阅通知, for one) keep their data.
Fields: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any
from xml.etree import ElementTree

from defusedxml import ElementTree as SafeElementTree

MESSAGE_KINDS = {"text", "image", "voice", "video", "shortvideo", "location", "link", "event"}

# Events a person caused; the others (job reports, popups' receipts) do not open the 48-hour window.
SYSTEM_EVENTS = {"templatesendjobfinish", "masssendjobfinish", "subscribe_msg_sent_event", "unsubscribe",
                 "view_miniprogram"}

# The deepest push WeChat documents is xml > SendPicsInfo > PicList > item > PicMd5Sum (5 levels); a
# push has a few dozen elements at most.
MAX_DEPTH = 8
MAX_ELEMENTS = 200

# Caps on every field of a push, in UTF-8 bytes. Where the platform sets a limit it is the source:
# a menu button's key ≤ 128 bytes and its URL ≤ 1024 bytes ("Custom Menus / Creating Custom-Defined
# Menu", /doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html) bound EventKey (a view
# event's key is the URL; a QR scene is ≤ 64 characters, "Account Management / Generating a
# Parametric QR Code"); MsgId is a 64-bit integer (≤ 20 digits). The rest (ids, URLs, numbers) are
# generous bounds on values WeChat fills in. WeChat sends nothing longer, so longer is not WeChat (→ 400).
FIELD_CAPS = {"ToUserName": 64, "FromUserName": 64, "MsgType": 32, "Event": 64, "CreateTime": 20,
              "MsgId": 32, "MsgID": 32, "EventKey": 1024, "MediaId": 256, "ThumbMediaId": 256, "Format": 32,
              "PicUrl": 2048, "Url": 2048, "Location_X": 32, "Location_Y": 32, "Latitude": 32,
              "Longitude": 32, "Precision": 32, "Scale": 16,
              # 订阅通知 events' List items: template ids are 43 characters; the rest are short words.
              "TemplateId": 128, "SubscribeStatusString": 16, "PopupScene": 8, "ErrorCode": 16, "ErrorStatus": 128}
OTHER_FIELD_CAP = 2048
# What a citizen typed or said has no documented limit; past this many characters the message is
# answered with a request to send it in parts (Inbound.oversized), never stored.
CITIZEN_TEXT_FIELDS = {"Content", "Recognition", "Title", "Description", "Label", "ScanResult"}
CITIZEN_TEXT_CAP = 2000

_PUNCTUATION = re.compile(r"[\s。，,.!！?？~～、：:；;…\"'“”‘’]+")
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class MalformedMessage(ValueError):
    """The body is not a WeChat push we can read (→ 400)."""


class UnknownKind(ValueError):
    """A well-formed push whose MsgType we do not handle (→ 200 success)."""


@dataclasses.dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    label: str = ""
    scale: int | None = None


@dataclasses.dataclass(frozen=True)
class Inbound:
    openid: str
    account: str
    kind: str
    created_at: int
    msg_id: str = ""
    text: str = ""  # NFKC-normalised, for matching
    original_text: str = ""  # as the citizen typed it, for storing what they said
    media_id: str = ""
    pic_url: str = ""
    media_format: str = ""
    thumb_media_id: str = ""
    location: Location | None = None
    link_url: str = ""
    link_title: str = ""
    event: str = ""
    event_key: str = ""
    sender: str = ""  # a keyed hash of the openid (IdentityVault.sender), never the openid itself
    oversized: bool = False  # a citizen's text past CITIZEN_TEXT_CAP: blanked, to be refused politely
    raw: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}), repr=False)

    @functools.cached_property
    def dedupe_key(self) -> str:
        # Scoped to the sender (MsgId alone has collided across users: WxJava #333), but by a keyed
        # hash: the key is logged and stored beside reports, and must not reveal who wrote, even to
        # someone who holds the citizens table and can hash every openid in it.
        if not self.sender:
            raise ValueError("no sender tag: parse the push with the vault's sender function")
        sender = self.sender
        if self.msg_id and self.kind != "event":
            return f"msg:{sender}:{self.msg_id}"
        return f"evt:{sender}:{self.created_at}:{self.event}:{self.event_key}"

    @property
    def is_person_action(self) -> bool:
        return not (self.kind == "event" and self.event in SYSTEM_EVENTS)

    @functools.cached_property
    def keyword(self) -> str:
        """The text as keyword rules compare it (computed once, not once per rule)."""
        return keyword_form(self.text)


def keyword_form(text: str) -> str:
    """Lower case without spaces and punctuation, unless that leaves nothing (a lone "?" is a keyword
    too); voice recognition adds a 。 and people type full stops after keywords."""
    stripped = _PUNCTUATION.sub("", text)
    return (stripped or text.strip()).lower()


def normalize_text(text: str) -> str:
    """NFKC once at the edge: full-width `Ａ１` becomes `A1`, ideographic spaces become spaces."""
    return unicodedata.normalize("NFKC", text).strip()


def strip_illegal(text: str) -> str:
    return _ILLEGAL_XML.sub("", text)


def parse_xml(body: str) -> dict[str, Any]:
    """Parse a WeChat XML body; anything with a DTD, or not rooted at <xml>, is malformed.

    defusedxml forbids a DOCTYPE, entity declarations and external references anywhere in the body
    (a hand-written check for "<!" before the root missed one hidden behind a processing
    instruction); the tree's depth and size are bounded before it is walked."""
    if not body.strip():
        raise MalformedMessage("empty body")
    if body.find("<xml") < 0:
        raise MalformedMessage("no <xml> root")
    try:
        root_element = SafeElementTree.fromstring(strip_illegal(body), forbid_dtd=True)
    except Exception as exc:  # expat's and defusedxml's errors are several types
        raise MalformedMessage(f"not XML: {type(exc).__name__}") from None
    _check_shape(root_element)
    fields = _value(root_element)
    if root_element.tag != "xml" or not isinstance(fields, dict):
        raise MalformedMessage("root element is not <xml> with fields")
    return fields


def _check_shape(root: ElementTree.Element) -> None:
    """Refuse trees deeper or larger than any push (walked without recursion: a 5,000-level body
    would otherwise exhaust Python's stack in _value)."""
    pending, count = [(root, 1)], 0
    while pending:
        element, depth = pending.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_ELEMENTS:
            raise MalformedMessage("XML nested too deep or too many elements")
        pending.extend((child, depth + 1) for child in element)


def _value(element: ElementTree.Element) -> str | dict[str, Any] | None:
    """An element as xmltodict would give it (its text, stripped; or a dict of its children, a
    repeated child as a list, attributes as @name): built by the C parser, ~4x faster than
    xmltodict's Python callbacks, which were a tenth of a message's time."""
    children = list(element)
    if not children and not element.attrib:
        text = (element.text or "").strip()
        return text or None
    fields: dict[str, Any] = {"@" + name: value for name, value in element.attrib.items()}
    for child in children:
        value = _value(child)
        if child.tag not in fields:
            fields[child.tag] = value
        elif isinstance(fields[child.tag], list):
            fields[child.tag].append(value)
        else:
            fields[child.tag] = [fields[child.tag], value]
    own_text = ((element.text or "") + "".join(child.tail or "" for child in children)).strip()
    if own_text:
        fields["#text"] = own_text
    return fields


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedMessage(f"field {name} is not text")
    return value


def _float(fields: Mapping[str, Any], name: str) -> float:
    try:
        return float(_text(fields, name))
    except ValueError:
        raise MalformedMessage(f"field {name} is not a number") from None


def from_fields(fields: Mapping[str, Any], sender_tag: Callable[[str], str] | None = None) -> Inbound:
    kind = _text(fields, "MsgType").strip().lower()
    openid = _text(fields, "FromUserName").strip()
    if not kind or not openid:
        raise MalformedMessage("MsgType or FromUserName missing")
    try:
        created_at = int(_text(fields, "CreateTime") or "0")
    except ValueError:
        raise MalformedMessage("CreateTime is not a number") from None
    if kind not in MESSAGE_KINDS:
        raise UnknownKind(kind)
    oversized = _check_lengths(fields)
    common: dict[str, Any] = {
        "openid": openid,
        "account": _text(fields, "ToUserName"),
        "kind": kind,
        "created_at": created_at,
        "msg_id": _text(fields, "MsgId") or _text(fields, "MsgID"),
        "sender": sender_tag(openid) if sender_tag is not None else "",
        "raw": MappingProxyType(dict(fields)),
    }
    if oversized:
        return Inbound(**common, oversized=True)
    return Inbound(**common, **_kind_fields(kind, fields))


def _check_lengths(fields: Mapping[str, Any]) -> bool:
    """Raise on a field longer than WeChat sends; True when a citizen's text is past its cap."""
    oversized = False
    pending = list(fields.items())
    while pending:
        name, value = pending.pop()
        if isinstance(value, Mapping):
            pending.extend(value.items())
        elif isinstance(value, list):
            pending.extend((name, item) for item in value)
        elif isinstance(value, str):
            if name in CITIZEN_TEXT_FIELDS:
                oversized = oversized or len(value) > CITIZEN_TEXT_CAP
            elif len(value.encode("utf-8")) > FIELD_CAPS.get(name, OTHER_FIELD_CAP):
                raise MalformedMessage(f"field {name} is longer than WeChat sends")
    return oversized


def _kind_fields(kind: str, f: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "text":
        content = _text(f, "Content")
        return {"text": normalize_text(content), "original_text": strip_illegal(content).strip()}
    if kind == "image":
        return {"media_id": _text(f, "MediaId"), "pic_url": _text(f, "PicUrl")}
    if kind == "voice":
        # Recognition is often empty now; the handler then asks the citizen to type.
        recognition = _text(f, "Recognition")
        return {"media_id": _text(f, "MediaId"), "media_format": _text(f, "Format"),
                "text": normalize_text(recognition), "original_text": strip_illegal(recognition).strip()}
    if kind in ("video", "shortvideo"):
        return {"media_id": _text(f, "MediaId"), "thumb_media_id": _text(f, "ThumbMediaId")}
    if kind == "location":
        scale = _text(f, "Scale")
        return {"location": Location(_float(f, "Location_X"), _float(f, "Location_Y"),
                                     normalize_text(_text(f, "Label")), int(scale) if scale.isdigit() else None)}
    if kind == "link":
        return {"link_url": _text(f, "Url"), "link_title": normalize_text(_text(f, "Title")),
                "text": normalize_text(_text(f, "Description"))}
    return _event_fields(f)


def _event_fields(f: Mapping[str, Any]) -> dict[str, Any]:
    event = _text(f, "Event").strip().lower()
    key = _text(f, "EventKey")
    out: dict[str, Any] = {"event": event, "event_key": key}
    if event == "subscribe" and key.startswith("qrscene_"):
        out["event_key"] = key[len("qrscene_"):]
    elif event == "location":
        out["location"] = Location(_float(f, "Latitude"), _float(f, "Longitude"))
    elif event == "location_select":
        info = f.get("SendLocationInfo")
        if isinstance(info, Mapping):
            out["location"] = Location(_float(info, "Location_X"), _float(info, "Location_Y"),
                                       normalize_text(_text(info, "Label")))
    elif event.startswith("scancode_"):
        info = f.get("ScanCodeInfo")
        if isinstance(info, Mapping):
            out["text"] = normalize_text(_text(info, "ScanResult"))
    return out


# 订阅通知的事件推送 (doc/service/guide/product/subscription_messages/push): each event wraps its
# `List` items ("一次订阅可能有多条通知，带有多个 id") in an element named after it.
SUBSCRIBE_EVENT_ITEMS = {"subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
                         "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
                         "subscribe_msg_sent_event": "SubscribeMsgSentEvent"}


def subscribe_items(msg: Inbound) -> list[Mapping[str, Any]]:
    """Every `List` item of a 订阅通知 event. One `<List>` parses as a mapping and several as a list
    (wechatpy wraps the first case the same way: SubscribeMsgPopupEvent.subscribes in wechatpy/events.py;
    field reports of SDKs that read only one shape: binarywang/WxJava#2477,
    fudiwei/DotNetCore.SKIT.FlurlHttpClient.Wechat#147, royalrick/weapp#63). The JSON form of the push
    has `List` at the top (same reports); items that are not mappings are skipped."""
    container = SUBSCRIBE_EVENT_ITEMS.get(msg.event)
    if container is None:
        return []
    wrapper = msg.raw.get(container)
    found = wrapper.get("List") if isinstance(wrapper, Mapping) else msg.raw.get("List")
    items = found if isinstance(found, list) else [found]
    return [item for item in items if isinstance(item, Mapping)]


def parse_inbound(body: str, sender_tag: Callable[[str], str] | None = None) -> Inbound:
    """`sender_tag` (IdentityVault.sender) keys the dedupe key; without it the message has none."""
    return from_fields(parse_xml(body), sender_tag)
