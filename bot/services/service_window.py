"""The customer-service window: which interactions open it, and how many messages each allows.

客服消息 "发送客服消息" (Official Account docs, 服务号 › 客服消息 › 发送客服消息,
doc/service/api/customer/message/api_sendcustommessage; also Customer_Service/Customer_Service_Messages):
only these actions let the account send customer-service messages, each its own allowance —

    用户发送消息      5 条 / 48 小时
    点击自定义菜单    3 条 / 1 分钟   (only click, scancode_push, scancode_waitmsg menus)
    关注公众号        3 条 / 1 分钟
    扫描二维码        3 条 / 1 分钟

and "在用户点击菜单消息时……不会产生用户发送消息场景的客服消息下发额度": a menu click never opens
the 48-hour allowance. A new message renews its allowance (community answer 00068406b70700c8b4db651fd5ac00:
"除非用户在你发送5条之前又给你发消息了 这样会按照上面的规则重新计算").

What the bot keeps per citizen: `last_interaction_at` — their last message (the 48-hour allowance),
and `window_event_at` / `window_event_kind` — their last menu click, follow or scan (the 1-minute
one). A send is allowed when some open allowance still has room; every customer-service message
sent after an allowance opened counts against it (the stricter reading where the docs are silent).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from bot.wechat.inbound import Inbound

MESSAGE = "message"
MENU = "menu"
FOLLOW = "follow"
SCAN = "scan"

MESSAGE_KINDS = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link"})
MENU_EVENTS = frozenset({"click", "scancode_push", "scancode_waitmsg"})


@dataclasses.dataclass(frozen=True)
class Allowance:
    lasts: dt.timedelta
    messages: int


ALLOWANCES = {
    MESSAGE: Allowance(dt.timedelta(hours=48), 5),
    MENU: Allowance(dt.timedelta(minutes=1), 3),
    FOLLOW: Allowance(dt.timedelta(minutes=1), 3),
    SCAN: Allowance(dt.timedelta(minutes=1), 3),
}
KIND_LABELS = {MESSAGE: "发送消息", MENU: "点击菜单", FOLLOW: "关注", SCAN: "扫码"}


def opened_by(msg: Inbound) -> str | None:
    """The allowance this push opens (MESSAGE, MENU, FOLLOW, SCAN), or None: VIEW, LOCATION
    reports, pic_* and location_select menus, subscribe-message events and job notices open none."""
    if msg.kind in MESSAGE_KINDS:
        return MESSAGE
    if msg.kind != "event":
        return None
    if msg.event in MENU_EVENTS:
        return MENU
    if msg.event == "subscribe":
        return FOLLOW
    if msg.event == "scan":
        return SCAN
    return None


@dataclasses.dataclass(frozen=True)
class Window:
    """What is known of one citizen's allowances at one moment."""

    last_message_at: dt.datetime | None
    event_at: dt.datetime | None
    event_kind: str | None
    following: bool = True

    def grants(self, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
        """The allowances still open at `now`: (kind, opened at)."""
        found = []
        if self.last_message_at is not None and now - self.last_message_at < ALLOWANCES[MESSAGE].lasts:
            found.append((MESSAGE, self.last_message_at))
        kind = self.event_kind if self.event_kind in ALLOWANCES else None
        if kind and self.event_at is not None and now - self.event_at < ALLOWANCES[kind].lasts:
            found.append((kind, self.event_at))
        return found

    def may_send(self, now: dt.datetime, sent: Iterable[dt.datetime]) -> bool:
        """True when one more customer-service message fits an open allowance, given the times
        customer-service messages were sent to this citizen."""
        if not self.following:
            return False
        times = list(sent)
        return any(sum(1 for t in times if t >= opened) < ALLOWANCES[kind].messages
                   for kind, opened in self.grants(now))

    def why_closed(self, now: dt.datetime) -> str:
        """Why no customer-service message can go out now, in staff's words."""
        if not self.following:
            return "对方已取消关注公众号"
        if self.grants(now):
            return "客服消息条数已用完（用户发消息后 48 小时内最多 5 条；点击菜单、关注、扫码后 1 分钟内最多 3 条）"
        if self.last_message_at is None:
            return "对方从未给公众号发过消息，客服消息无法送达（只有用户发消息后的 48 小时内可以发送）"
        return (f"对方最后一次发消息是 {self.last_message_at:%Y-%m-%d %H:%M}，已超过 48 小时，"
                f"客服消息无法送达")


def active_since(now: dt.datetime) -> dt.datetime:
    """Citizens whose last message is after this still hold the 48-hour allowance."""
    return now - ALLOWANCES[MESSAGE].lasts
