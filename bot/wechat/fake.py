"""A fake WeChat API: an in-process Flask app with WeChat's JSON shapes, error codes and rules.

Used by tests, the benchmark, the demo and the simulator instead of api.weixin.qq.com. Rules it
enforces (wechat-frameworks.md §2): tokens expire (7200 s); GET `token` makes a new token that
leaves the old one valid for 5 minutes, then 40001, while POST `stable_token` in normal mode hands
back the current token (the two kinds never touch each other); both refuse callers off the IP
whitelist (40164) and past their daily quota (45009); customer-service messages only while an
allowance is open (45015) and within its count (45047): 5 in 48 hours after a message, 3 in 1
minute after a menu click, follow or scan (`record_push` says which pushes open which); mass
sends 1 a day for a subscription account, 4 a month per user for a service
account (45028); clientmsgid dedupes mass sends for 24 hours (45065); temporary media expire
after 3 days (40007). Template messages dedupe on client_msg_id for 10 minutes; 订阅通知 (bizsend) go
only with the user's consent, one send per one-time acceptance (43101 otherwise), and the fake
pushes the subscribe-message events (`subscribe_popup`, `subscribe_settings_reject`,
`subscribe_sent_event`) through `event_sink`. Latency and an error rate (-1 system busy) can be injected.

Articles (群发图文) as the platform takes them: a cover uploaded as permanent material
(`material/add_material`), the article put in the draft box (`draft/add`), then `sendall` with
`mpnews` and the draft's media_id; the draft leaves the draft box once sent. Mass text is refused
with 40066 when it carries an external <a href> and with 45002 beyond 300 characters. Each mass job
ends with MASSSENDJOBFINISH, which the fake pushes through `event_sink` when `finish_mass_jobs()`
runs; `mass_outcome` / `fail_next_mass()` make a job end as WeChat's failures do ("send fail",
"err(10001)"..., or an administrator's refusal under API 群发保护).

It knows when users last interacted only through `record_interaction` (the tests and simulator
call it when a citizen talks); the bot's webhook never depends on the fake.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import io
import itertools
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, Response, request

from bot.clock import TZ, Clock, SystemClock

TOKEN_LIFETIME = dt.timedelta(seconds=7200)
OLD_TOKEN_GRACE = dt.timedelta(minutes=5)
MEDIA_LIFETIME = dt.timedelta(days=3)
WINDOW = dt.timedelta(hours=48)
SHORT_WINDOW = dt.timedelta(minutes=1)
# 发送客服消息 (doc/service/api/customer/message/api_sendcustommessage, 客服消息下发规则): the actions
# that open an allowance, and each one's count and lifetime. A menu opens one only for the click,
# scancode_push and scancode_waitmsg types ("仅有点击推事件、扫码推事件、扫码推事件且弹出“消息接收中”
# 提示框这3种菜单类型是会触发客服接口的"); VIEW, LOCATION, pic_*, location_select and the job and
# subscribe-message notices open none. The kinds are this fake's own table, not the bot's.
ALLOWANCE = {"message": (WINDOW, 5), "menu": (SHORT_WINDOW, 3), "follow": (SHORT_WINDOW, 3),
             "scan": (SHORT_WINDOW, 3)}
OPENING_MESSAGES = {"text", "image", "voice", "video", "shortvideo", "location", "link"}
OPENING_EVENTS = {"click": "menu", "scancode_push": "menu", "scancode_waitmsg": "menu", "subscribe": "follow",
                  "scan": "scan"}
CLIENT_MSG_ID_MEMORY = dt.timedelta(hours=24)
TEMPLATE_CLIENT_MSG_ID_MEMORY = dt.timedelta(minutes=10)
# 发送订阅通知 (Official Account docs, Subscription_Messages/api.html, 参数值内容限制说明): each keyword's
# type and what its value may hold; anything else is refused with 47003. This fake's own table.
SUBSCRIBE_VALUE_RULES = {
    "thing": r".{1,20}", "number": r"[0-9.]{1,32}", "letter": r"[A-Za-z]{1,32}", "symbol": r"[^\w\s]{1,5}",
    "character_string": r"[\x21-\x7e]{1,32}", "time": r".{1,40}", "date": r".{1,40}",
    "amount": r"\D?[0-9.]{1,10}元?", "phone_number": r"[0-9+\-()]{1,17}", "car_number": r".{1,8}",
    "name": r"[\u4e00-\u9fff]{1,10}|[A-Za-z .]{1,20}", "phrase": r"[\u4e00-\u9fff]{1,5}",
}
# [D] 获取稳定版接口调用凭据 getStableAccessToken (doc/service/api/base/api_getstableaccesstoken), 注意事项:
# "普通模式下平台会提前 5 分钟更新 access_token"; "强制刷新模式每天限用 20 次且需间隔 30 秒".
STABLE_RENEW_BEFORE = dt.timedelta(minutes=5)
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING = dt.timedelta(seconds=30)
# Daily quotas of the token endpoints: GET token 2000 a day (historic limits table, [C] community
# thread developers.weixin.qq.com/community/develop/doc/000c0a9546c7a84aeb12798a165400 "2000次/天");
# stable_token "每天限制调用 50 万次" ([D] getStableAccessToken).
TOKEN_DAILY_QUOTA = {"token": 2000, "stable_token": 500_000}
# Batch Sends (doc/service/guide/product/message/Batch_Sends.html, 9. clientmsgid): 45066 "相同
# clientmsgid 重试速度过快，请间隔1分钟重试".
CLIENT_MSG_ID_RETRY_GAP = dt.timedelta(minutes=1)
# Documented as 64 bytes (same section), but field reports show 34-36 characters refused with 45067
# and 25 accepted (community threads 0000c403d88548712a5042bc26bc00, 00022428e988b881172d99bc756000):
# the fake takes the stricter side.
CLIENT_MSG_ID_MAX = 32
# Mass text: external links withdrawn (40066, community thread 00046aa4f88b787ee02a545cc51c00 and
# the withdrawal notice it links); 300 characters at most (reference/wechat-platform-rules.md rows 1
# and 13; the docs give no code for it, so the fake answers the global 45002 "消息内容超过限制").
MASS_TEXT_MAX = 300
# Upload permanent material (doc/service/api/material/permanent/api_addmaterial): image 10M,
# bmp/png/jpeg/jpg/gif.
PERMANENT_IMAGE_MAX = 10 * 1024 * 1024
# Add draft (doc/service/api/draftbox/draftmanage/api_draft_add): title ≤ 32 characters, digest ≤
# 128, content < 20,000 characters and < 1 MB, content_source_url ≤ 1 KB.
DRAFT_TITLE_MAX, DRAFT_DIGEST_MAX = 32, 128
DRAFT_CONTENT_MAX_CHARS, DRAFT_CONTENT_MAX_BYTES, DRAFT_URL_MAX_BYTES = 20000, 1024 * 1024, 1024
# Preview (Batch Sends, "预览接口"): "每日调用次数有限制（100次）"; beyond it the API quota answer 45009
# (Interface frequency limit, doc/subscription/guide/dev/api/limit.html; field report imooc qadetail/191342).
PREVIEWS_PER_DAY = 100
MASS_MSGTYPES = ("mpnews", "text", "voice", "image", "images", "mpvideo", "wxcard")


@dataclasses.dataclass(frozen=True)
class Delivered:
    """One message that reached a user."""

    openid: str
    channel: str        # custom | template | subscribe | mass | preview
    message: dict[str, Any]
    at: dt.datetime
    msg_id: str = ""


@dataclasses.dataclass
class _User:
    openid: str
    following: bool = True
    # Open allowances: kind ("message" or the last of menu/follow/scan) -> [opened at, messages sent].
    # A message renews the message one; the last event replaces the event one.
    grants: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    tags: set[int] = dataclasses.field(default_factory=set)
    mass_received: list[dt.datetime] = dataclasses.field(default_factory=list)
    subscribe_grants: collections.Counter = dataclasses.field(default_factory=collections.Counter)


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg = errcode, errmsg


class FakeWeChat:
    """State of the fake platform; `app` is its Flask app (routes under /cgi-bin/)."""

    def __init__(self, app_id: str, app_secret: str, *, clock: Clock | None = None,
                 account_type: str = "subscription", latency: float = 0.0, error_rate: float = 0.0,
                 seed: int = 0, enforce_window: bool = True) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.clock = clock or SystemClock()
        self.account_type = account_type
        self.latency = latency
        self.error_rate = error_rate
        self.enforce_window = enforce_window
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._tokens: dict[str, dt.datetime] = {}          # GET token: token -> valid until
        self._stable_tokens: dict[str, dt.datetime] = {}   # stable_token: token -> valid until
        self._stable_current = ""                           # what normal-mode stable_token hands back
        self._refused_tokens: set[str] = set()
        self._token_calls: collections.Counter = collections.Counter()  # (endpoint, date) -> calls
        self.force_refreshes: list[dt.datetime] = []
        self.ip_whitelist: set[str] | None = None           # None: the whitelist is off
        self.token_quota = dict(TOKEN_DAILY_QUOTA)
        self._users: dict[str, _User] = {}
        self._delivered: list[Delivered] = []
        self._by_openid: dict[str, list[Delivered]] = collections.defaultdict(list)
        self._mass_jobs: dict[str, dict[str, Any]] = {}
        self._client_msg_ids: dict[str, tuple[str, dt.datetime]] = {}
        self._template_ids: dict[tuple[str, str], tuple[str, dt.datetime]] = {}
        self._mass_days: list[dt.datetime] = []
        self._media: dict[str, tuple[bytes, str, dt.datetime]] = {}
        self._video_links: dict[str, str] = {}   # download token -> media id
        self.video_downloads = 0
        self._tags: dict[int, str] = {}
        self._materials: dict[str, tuple[bytes, str]] = {}      # permanent material: never expires
        self._drafts: dict[str, list[dict[str, Any]]] = {}      # the draft box
        self._published: dict[str, list[dict[str, Any]]] = {}   # drafts that went out in a mass send
        self._client_msg_tries: dict[str, dt.datetime] = {}     # clientmsgid -> its last sendall
        self._previews: list[dt.datetime] = []
        self._unfinished: list[str] = []                         # mass jobs whose MASSSENDJOBFINISH is due
        self._mass_outcomes: collections.deque[str] = collections.deque()
        # How mass jobs end: "send success", "send fail" or "err(<code>)" (MASSSENDJOBFINISH Status).
        self.mass_outcome = "send success"
        # Where MASSSENDJOBFINISH goes (a callable taking the XML, e.g. a signed POST to the webhook).
        self.event_sink: Callable[[str], Any] | None = None
        # 长期订阅 templates (政务民生 and similar categories): one consent, many sends, until switched off.
        self.long_term_templates: set[str] = set()
        self.media_url_prefix = "https://mmbiz.qpic.cn/fake/"   # mount() / FakeServer serve the images
        self._next_id = itertools.count(1000)
        self.menu: dict[str, Any] | None = None
        self._failures: dict[str, collections.deque[int]] = collections.defaultdict(collections.deque)
        self._lost_answers: collections.Counter = collections.Counter()
        self.token_fetches = 0
        self.calls: collections.Counter = collections.Counter()
        self.app = self._build_app()

    # --- what tests and the simulator tell it ---------------------------------------------------

    def record_interaction(self, openid: str, kind: str = "message", at: dt.datetime | None = None) -> None:
        """The user sent a message (kind "message": 5 replies in 48 h) or clicked a menu, followed or
        scanned ("menu" — "event" means the same —, "follow", "scan": 3 in 1 min)."""
        kind = "menu" if kind == "event" else kind
        if kind not in ALLOWANCE:
            raise ValueError(f"no allowance for {kind!r}")
        with self._lock:
            user = self._user(openid)
            user.following = True
            slot = "message" if kind == "message" else "event"
            user.grants[slot] = [kind, at or self.clock.now(), 0]

    def record_push(self, openid: str, msg_type: str, event: str = "", at: dt.datetime | None = None) -> str | None:
        """What WeChat itself sees when it pushes this to the webhook: the allowance it opens, if any."""
        msg_type = msg_type.lower()
        kind = "message" if msg_type in OPENING_MESSAGES else \
            OPENING_EVENTS.get(event.lower()) if msg_type == "event" else None
        if kind is not None:
            self.record_interaction(openid, kind, at)
        return kind

    def add_user(self, openid: str, *, following: bool = True) -> None:
        with self._lock:
            self._user(openid).following = following

    def unfollow(self, openid: str) -> None:
        with self._lock:
            self._user(openid).following = False

    def grant_subscribe(self, openid: str, template_id: str, times: int = 1) -> None:
        """The user accepted a one-time subscribe message (订阅通知) `times` times."""
        with self._lock:
            self._user(openid).subscribe_grants[template_id] += times

    def subscribe_popup(self, openid: str, choices: dict[str, str], scene: int = 2, account: str = "gh_test") -> str:
        """The user answered a 订阅通知 popup (template id → "accept" / "reject"): each accept allows one
        send of a one-time template ("订阅通知介绍": "用户订阅一次，服务号可不限时间地下发一条对应的订阅通知").
        Pushes subscribe_msg_popup_event, one `List` per template as "订阅通知的事件推送" shows it
        (doc/service/guide/product/subscription_messages/push; PopupScene 1 = H5 page, 2 = article),
        through `event_sink`, and returns its XML."""
        with self._lock:
            user = self._user(openid)
            for template_id, status in choices.items():
                if status == "accept":
                    user.subscribe_grants[template_id] += 1
            now = int(self.clock.now().timestamp())
        items = "".join(f"<List><TemplateId><![CDATA[{template_id}]]></TemplateId><SubscribeStatusString><![CDATA["
                        f"{status}]]></SubscribeStatusString><PopupScene>{scene}</PopupScene></List>"
                        for template_id, status in choices.items())
        return self._push_event(openid, account, now, "subscribe_msg_popup_event",
                                f"<SubscribeMsgPopupEvent>{items}</SubscribeMsgPopupEvent>")

    def subscribe_settings_reject(self, openid: str, template_ids: list[str], account: str = "gh_test") -> str:
        """The user switched these 订阅通知 off in the service-notice settings: nothing more may be sent.
        Pushes subscribe_msg_change_event, which carries rejects only ("用户管理订阅通知 … 仅推送用户拒收通知",
        same page), and returns its XML."""
        with self._lock:
            user = self._user(openid)
            for template_id in template_ids:
                user.subscribe_grants[template_id] = 0
            now = int(self.clock.now().timestamp())
        items = "".join(f"<List><TemplateId><![CDATA[{template_id}]]></TemplateId><SubscribeStatusString><![CDATA["
                        f"reject]]></SubscribeStatusString></List>" for template_id in template_ids)
        return self._push_event(openid, account, now, "subscribe_msg_change_event",
                                f"<SubscribeMsgChangeEvent>{items}</SubscribeMsgChangeEvent>")

    def subscribe_sent_event(self, openid: str, template_id: str, msg_id: str, error_code: int = 0,
                             error_status: str = "success", account: str = "gh_test") -> str:
        """subscribe_msg_sent_event for one send (TemplateId, MsgID, ErrorCode, ErrorStatus; same page),
        pushed through `event_sink`; its XML."""
        now = int(self.clock.now().timestamp())
        item = (f"<List><TemplateId><![CDATA[{template_id}]]></TemplateId><MsgID>{msg_id}</MsgID>"
                f"<ErrorCode>{error_code}</ErrorCode><ErrorStatus><![CDATA[{error_status}]]></ErrorStatus></List>")
        return self._push_event(openid, account, now, "subscribe_msg_sent_event",
                                f"<SubscribeMsgSentEvent>{item}</SubscribeMsgSentEvent>")

    def _push_event(self, openid: str, account: str, created: int, event: str, body: str) -> str:
        xml = (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
               f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               f"<Event><![CDATA[{event}]]></Event>{body}</xml>")
        if self.event_sink is not None:
            self.event_sink(xml)
        return xml

    def add_media(self, content: bytes, content_type: str = "image/jpeg", created_at: dt.datetime | None = None) -> str:
        """A temporary media file, e.g. a citizen's hazard photo; it expires 3 days after `created_at`."""
        media_id = "media_" + uuid.uuid4().hex
        with self._lock:
            self._media[media_id] = (content, content_type, created_at or self.clock.now())
        return media_id

    def fail_next(self, endpoint: str, errcode: int = -1, times: int = 1) -> None:
        """The next `times` calls of `endpoint` (e.g. "media/get") answer `errcode`, as WeChat does when busy
        ("wxvideo": the video download address answers 404)."""
        with self._lock:
            self._failures[endpoint].extend([errcode] * times)

    def lose_next_answer(self, endpoint: str, times: int = 1) -> None:
        """The next `times` calls of `endpoint` are carried out, then answered with HTTP 502, as when a
        proxy or the network drops WeChat's answer (the HTTP servers below honour it)."""
        with self._lock:
            self._lost_answers[endpoint] += times

    def _answer_lost(self, endpoint: str) -> bool:
        with self._lock:
            if self._lost_answers[endpoint] <= 0:
                return False
            self._lost_answers[endpoint] -= 1
            return True

    def invalidate_tokens(self) -> None:
        """As if another client fetched a token long ago: every issued token answers 40001."""
        with self._lock:
            self._tokens.clear()
            self._stable_tokens.clear()
            self._stable_current = ""

    def refuse_token(self, token: str) -> None:
        """A scenario: calls with `token` answer 40001 though normal-mode stable_token still hands it out."""
        with self._lock:
            self._refused_tokens.add(token)

    def set_ip_whitelist(self, ips: set[str] | None) -> None:
        """The account's API IP whitelist (None: off). Token requests from other addresses get 40164."""
        with self._lock:
            self.ip_whitelist = None if ips is None else set(ips)

    # --- what tests read ----------------------------------------------------------------------

    def sent_to(self, openid: str) -> list[Delivered]:
        with self._lock:
            return list(self._by_openid.get(openid, ()))

    def delivered(self) -> list[Delivered]:
        with self._lock:
            return list(self._delivered)

    def delivery_counts(self) -> collections.Counter:
        """How many messages each openid received (a value > 1 for a one-message test is a duplicate)."""
        with self._lock:
            return collections.Counter({o: len(items) for o, items in self._by_openid.items()})

    def mass_jobs(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._mass_jobs.items()}

    def tags(self) -> dict[int, str]:
        with self._lock:
            return dict(self._tags)

    def tagged(self, tag_id: int) -> set[str]:
        with self._lock:
            return {u.openid for u in self._users.values() if tag_id in u.tags}

    def mass_finish_xml(self, msg_id: str, account: str = "gh_test", created: int | None = None) -> str:
        """The MASSSENDJOBFINISH push WeChat sends to the webhook when a mass job ends."""
        job = self.mass_jobs()[str(msg_id)]
        created = created if created is not None else int(self.clock.now().timestamp())
        return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[mphelper]]></FromUserName>"
                f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>"
                f"<Status><![CDATA[{job['status']}]]></Status><TotalCount>{job['total']}</TotalCount>"
                f"<FilterCount>{job['filter']}</FilterCount><SentCount>{job['sent']}</SentCount>"
                f"<ErrorCount>{job['error']}</ErrorCount></xml>")

    def fail_next_mass(self, status: str = "send fail", times: int = 1) -> None:
        """The next `times` mass jobs end with this MASSSENDJOBFINISH Status: "send fail", or
        "err(10001)" (涉嫌广告) and the other review codes, or an administrator's refusal under API
        群发保护 (sendall docs: "如管理员拒绝或30分钟内没有确认，该次群发失败")."""
        with self._lock:
            self._mass_outcomes.extend([status] * times)

    def finish_mass_jobs(self) -> list[str]:
        """End the mass jobs sent so far: push each one's MASSSENDJOBFINISH to `event_sink`, as WeChat
        does when a job is over (minutes later: never inside the sendall call). Returns the XML pushed."""
        with self._lock:
            due, self._unfinished = self._unfinished, []
        events = [self.mass_finish_xml(msg_id) for msg_id in due]
        for xml in events:
            if self.event_sink is not None:
                self.event_sink(xml)
        return events

    def delete_material(self, media_id: str) -> None:
        """As if staff deleted the image from the material library in the WeChat admin."""
        with self._lock:
            self._materials.pop(media_id, None)

    def material(self, media_id: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._materials.get(media_id)

    def article(self, media_id: str) -> list[dict[str, Any]] | None:
        """The articles of a draft, or of one that went out (what a follower's card shows)."""
        with self._lock:
            found = self._drafts.get(media_id) or self._published.get(media_id)
            return [dict(a) for a in found] if found else None

    def drafts(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {k: [dict(a) for a in v] for k, v in self._drafts.items()}

    # --- rules ----------------------------------------------------------------------------------

    def _user(self, openid: str) -> _User:
        user = self._users.get(openid)
        if user is None:
            user = self._users[openid] = _User(openid)
        return user

    def _check_token(self, token: str | None) -> None:
        now = self.clock.now()
        valid_until = self._tokens.get(token or "") or self._stable_tokens.get(token or "")
        if valid_until is None or token in self._refused_tokens:
            raise WeChatError(40001, "invalid credential, access_token is invalid or not latest")
        if valid_until <= now:
            raise WeChatError(42001, "access_token expired")

    def _check_caller(self, endpoint: str, appid: str, secret: str, client_ip: str) -> None:
        """What both token endpoints check before issuing anything."""
        # [D] getAccessToken error table: 40164 "调用接口的IP地址不在白名单中"; errmsg names the caller,
        # as in [C] developers.weixin.qq.com/community/develop/doc/00002a5f394dc88f52505fbe166400.
        if self.ip_whitelist is not None and client_ip not in self.ip_whitelist:
            raise WeChatError(40164, f"invalid ip {client_ip} ipv6 ::ffff:{client_ip}, not in whitelist "
                                     f"rid: {uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:8]}")
        # [D] getAccessToken error table: 40013 invalid appid; 40125 invalid appsecret.
        if appid != self.app_id:
            raise WeChatError(40013, "invalid appid")
        if secret != self.app_secret:
            raise WeChatError(40125, "invalid appsecret")
        # [D] 通用错误码 45009 "reach max api daily quota limit" (the token calls have their own quota).
        day = (endpoint, self.clock.now().astimezone(TZ).date())
        if self._token_calls[day] >= self.token_quota[endpoint]:
            raise WeChatError(45009, "reach max api daily quota limit")
        self._token_calls[day] += 1

    def _issue_token(self, appid: str, secret: str, client_ip: str = "127.0.0.1") -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            self._check_caller("token", appid, secret, client_ip)
            # [D] getAccessToken (doc/service/api/base/api_getaccesstoken, old path
            # doc/offiaccount/Basic_Information/Get_access_token.html): "重复获取将导致上次获取的
            # access_token 失效"; "公众平台后台会保证在5分钟内，新老 access_token 都可用".
            for old, until in list(self._tokens.items()):
                self._tokens[old] = min(until, now + OLD_TOKEN_GRACE)
            token = "ACCESS_TOKEN_" + uuid.uuid4().hex + uuid.uuid4().hex
            self._tokens[token] = now + TOKEN_LIFETIME
            self.token_fetches += 1
        return {"access_token": token, "expires_in": int(TOKEN_LIFETIME.total_seconds())}

    def _issue_stable_token(self, raw: bytes, client_ip: str = "127.0.0.1") -> dict[str, Any]:
        # [D] getStableAccessToken: "该接口仅支持 POST JSON 形式的调用".
        try:
            body = json.loads(raw or b"")
        except ValueError:
            raise WeChatError(47001, "data format error") from None
        if not isinstance(body, dict) or body.get("grant_type") != "client_credential":
            raise WeChatError(40002, "invalid grant_type")
        force = body.get("force_refresh") is True
        now = self.clock.now()
        with self._lock:
            self._check_caller("stable_token", str(body.get("appid", "")), str(body.get("secret", "")), client_ip)
            current_until = self._stable_tokens.get(self._stable_current)
            if force:
                today = [t for t in self.force_refreshes if t.astimezone(TZ).date() == now.astimezone(TZ).date()]
                # [D] getStableAccessToken: force_refresh 20 a day, 30 s apart; the code past the daily limit
                # is 45009 ([C] community thread oCJUswyK7-0uEDixJMq1EgOsP3q4 "超过 20 次会引发...45009"); the
                # docs give no code for the spacing, so the same 45009 stands in for it.
                if len(today) >= FORCE_REFRESH_PER_DAY or (today and now - max(today) < FORCE_REFRESH_SPACING):
                    raise WeChatError(45009, "reach max api daily quota limit")
                self.force_refreshes.append(now)
                # Force mode "会导致上次获取的 access_token 失效".
                self._stable_tokens.pop(self._stable_current, None)
            elif current_until is not None and current_until - now > STABLE_RENEW_BEFORE:
                # Normal mode: the same token while it is valid (renewed 5 minutes before it expires).
                self.token_fetches += 1
                return {"access_token": self._stable_current, "expires_in": int((current_until - now).total_seconds())}
            token = "STABLE_TOKEN_" + uuid.uuid4().hex + uuid.uuid4().hex
            self._stable_tokens[token] = now + TOKEN_LIFETIME
            self._stable_current = token
            self.token_fetches += 1
        return {"access_token": token, "expires_in": int(TOKEN_LIFETIME.total_seconds())}

    def _record(self, openid: str, channel: str, message: dict[str, Any], msg_id: str = "") -> None:
        item = Delivered(openid, channel, message, self.clock.now(), msg_id)
        self._delivered.append(item)
        self._by_openid[openid].append(item)

    def _following(self, openid: str) -> _User:
        user = self._users.get(openid)
        if user is None or not user.following:
            raise WeChatError(43004, "require subscribe")
        return user

    def custom_send(self, body: dict[str, Any]) -> dict[str, Any]:
        # [D] 发送客服消息 (api_sendcustommessage): the msgtypes it lists, else 40008; 40003 an unknown openid
        # (全局返回码); one who unfollowed gets 45015 ("response out of time limit or subscription is canceled").
        openid = body.get("touser", "")
        if body.get("msgtype") not in ("text", "news", "image", "voice", "video", "music", "mpnews", "msgmenu"):
            raise WeChatError(40008, "invalid message type")
        with self._lock:
            user = self._users.get(openid)
            if user is None:
                raise WeChatError(40003, "invalid openid")
            if not user.following:
                raise WeChatError(45015, "response out of time limit or subscription is canceled")
            now = self.clock.now()
            if self.enforce_window:
                self._spend_allowance(user, now)
            self._record(openid, "custom", _cut_long_text(body))
        return {}

    @staticmethod
    def _spend_allowance(user: _User, now: dt.datetime) -> None:
        """发送客服消息 (api_sendcustommessage, 客服消息下发规则; codes in its 错误码 table): no open
        allowance → 45015; open ones all used up → 45047. A message counts against every open
        allowance (the docs are silent; the stricter reading)."""
        open_grants = [g for g in user.grants.values() if now - g[1] < ALLOWANCE[g[0]][0]]
        if not open_grants:
            raise WeChatError(45015, "response out of time limit or subscription is canceled")
        if all(g[2] >= ALLOWANCE[g[0]][1] for g in open_grants):
            raise WeChatError(45047, "out of response count limit")
        for grant in open_grants:
            grant[2] += 1

    def template_send(self, body: dict[str, Any]) -> dict[str, Any]:
        # [D] 模板消息接口 (doc/offiaccount/Message_Management/Template_Message_Interface.html): "仅认证服务号可用";
        # another account answers 48001 "api unauthorized", an empty or unknown id 40037 (全局返回码, Global_Return_Code).
        if self.account_type != "service":
            raise WeChatError(48001, "api unauthorized")
        if not body.get("template_id"):
            raise WeChatError(40037, "invalid template_id")
        with self._lock:
            self._following(body.get("touser", ""))
            now = self.clock.now()
            # 发送模板消息 (doc/service/api/notify/template/api_sendtemplatemessage; silenceper/wechat#651):
            # client_msg_id "对于同一个openid + client_msg_id, 只发送一条消息,10分钟有效".
            dedupe = (body["touser"], str(body.get("client_msg_id") or ""))
            earlier = self._template_ids.get(dedupe) if dedupe[1] else None
            if earlier is not None and now - earlier[1] < TEMPLATE_CLIENT_MSG_ID_MEMORY:
                return {"msgid": int(earlier[0])}
            msg_id = str(next(self._next_id))
            self._record(body["touser"], "template", body, msg_id)
            if dedupe[1]:
                self._template_ids[dedupe] = (msg_id, now)
        return {"msgid": int(msg_id)}

    @staticmethod
    def template_as_shown(body: dict[str, Any]) -> dict[str, str]:
        """A template message as the citizen sees it since 2023-05-04 ("关于规范公众号模板消息的再次公告",
        developers.weixin.qq.com/community/develop/doc/000a2ae286cdc0f41a8face4c51801): no first line, no
        remark, no colours, each keyword at most 20 characters, no line breaks (cut, never refused)."""
        data = body.get("data") or {}
        return {key: " ".join(str(item.get("value", "")).split())[:20] for key, item in data.items()
                if key not in ("first", "remark")}

    def subscribe_send(self, body: dict[str, Any]) -> dict[str, Any]:
        # [D] 发送订阅通知 sendNewSubscribeMsg (doc/service/api/notify/notify/api_sendnewsubscribemsg),
        # POST cgi-bin/message/subscribe/bizsend; 订阅通知 is for (verified) service accounts ("订阅通知介绍").
        if self.account_type != "service":
            raise WeChatError(48001, "api unauthorized")
        with self._lock:
            user = self._following(body.get("touser", ""))
            template_id = body.get("template_id", "")
            _check_subscribe_data(body.get("data"))
            # [D] "订阅通知介绍" (subscription_messages/intro): a one-time consent allows one send, a long-term one
            # many; without one: 43101 "用户拒绝接受消息，如果用户之前曾经订阅过，则表示用户取消了订阅关系"
            # (the subscribe-message send doc's error table, subscribe-message/sendMessage; bizsend answers the
            # same in field reports: community thread 000c2e23a588d01832b15c70f61c00).
            if user.subscribe_grants[template_id] <= 0:
                raise WeChatError(43101, "user refuse to accept the msg")
            if template_id not in self.long_term_templates:
                user.subscribe_grants[template_id] -= 1
            # The answer carries the msgid that subscribe_msg_sent_event names ([C] WxJava
            # WxMpSubscribeMsgServiceImpl.send reads "msgid" from bizsend's answer).
            msg_id = str(next(self._next_id))
            self._record(user.openid, "subscribe", body, msg_id)
        return {"msgid": int(msg_id)}

    def mass_sendall(self, body: dict[str, Any]) -> dict[str, Any]:
        filter_ = body.get("filter") or {}
        if "group_id" in filter_:
            # [D] 全局返回码 40050 "不合法的分组 id": groups became tags in 2016 (用户标签管理), and sendall's
            # filter takes tag_id (Batch Sends); wechatpy 1.8 still sends group_id (wechatpy/wechatpy#535).
            raise WeChatError(40050, "invalid group id")
        now = self.clock.now()
        with self._lock:
            client_msg_id = str(body.get("clientmsgid", ""))
            if len(client_msg_id) > CLIENT_MSG_ID_MAX:
                raise WeChatError(45067, "clientmsgid size out of limit")
            known = self._client_msg_ids.get(client_msg_id)
            if client_msg_id and known and now - known[1] < CLIENT_MSG_ID_MEMORY:
                last_try = self._client_msg_tries.get(client_msg_id, known[1])
                self._client_msg_tries[client_msg_id] = now
                if now - last_try < CLIENT_MSG_ID_RETRY_GAP:
                    raise WeChatError(45066, "same clientmsgid retry too fast")
                return {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": int(known[0])}
            message = {k: v for k, v in body.items() if k not in ("filter", "clientmsgid", "send_ignore_reprint")}
            self._check_mass_message(message)
            if filter_.get("is_to_all"):
                audience = [u for u in self._users.values() if u.following]
            else:
                tag_id = filter_.get("tag_id")
                if tag_id is None or int(tag_id) not in self._tags:
                    raise WeChatError(40050, "invalid tag id")
                audience = [u for u in self._users.values() if u.following and int(tag_id) in u.tags]
            # [D] Batch Sends (doc/service/guide/product/message/Batch_Sends.html): a subscription account mass-sends
            # once a day, a service account's followers get at most 4 a month; past it 45028 "has no masssend quota"
            # (全局返回码).
            if self.account_type == "subscription":
                if any(d.date() == now.astimezone(TZ).date() for d in self._mass_days):
                    raise WeChatError(45028, "has no masssend quota")
                receivers, filtered = audience, 0
            else:
                month = (now.year, now.month)
                receivers = [u for u in audience
                             if sum(1 for t in u.mass_received if (t.year, t.month) == month) < 4]
                filtered = len(audience) - len(receivers)
                if audience and not receivers:
                    raise WeChatError(45028, "has no masssend quota")
            self._mass_days.append(now)
            msg_id = str(next(self._next_id))
            status = self._mass_outcomes.popleft() if self._mass_outcomes else self.mass_outcome
            failed = status != "send success"
            if message.get("msgtype") == "mpnews":
                # Add draft: "上传到草稿箱中的素材被群发或发布后，该素材将从草稿箱中移除".
                media_id = message["mpnews"]["media_id"]
                self._published[media_id] = self._drafts.pop(media_id)
            for user in [] if failed else receivers:
                user.mass_received.append(now)
                self._record(user.openid, "mass", message, msg_id)
            self._mass_jobs[msg_id] = {"msg_id": msg_id, "total": len(audience), "filter": len(receivers),
                                       "sent": 0 if failed else len(receivers),
                                       "error": len(receivers) if failed else 0, "filtered_by_quota": filtered,
                                       "filter_spec": filter_, "message": message, "status": status}
            self._unfinished.append(msg_id)
            if client_msg_id:
                self._client_msg_ids[client_msg_id] = (msg_id, now)
                self._client_msg_tries[client_msg_id] = now
        return {"msg_id": int(msg_id), "msg_data_id": int(msg_id) * 10}

    def _check_mass_message(self, message: dict[str, Any]) -> None:
        """The message of a sendall or preview, as the platform checks it."""
        kind = message.get("msgtype")
        if kind not in MASS_MSGTYPES:
            raise WeChatError(40008, "invalid message type")  # Global return codes: 40008
        if kind == "text":
            content = str((message.get("text") or {}).get("content", ""))
            for href in re.findall(r"<a\b[^>]*?href\s*=\s*[\"']?([^\"'\s>]*)", content, re.IGNORECASE):
                if not re.match(r"^https?://mp\.weixin\.qq\.com/", href):
                    raise WeChatError(40066, "invalid url")  # see MASS_TEXT_MAX's comment
            if len(content) > MASS_TEXT_MAX:
                raise WeChatError(45002, "content size out of limit")
        if kind == "mpnews":
            # Batch Sends: mpnews takes the draft box's media_id (a sent draft has left the box).
            media_id = str((message.get("mpnews") or {}).get("media_id", ""))
            if media_id not in self._drafts:
                raise WeChatError(40007, "invalid media_id")

    def mass_preview(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            user = self._following(body.get("touser", ""))
            message = {k: v for k, v in body.items() if k != "touser"}
            self._check_mass_message(message)
            today = now.astimezone(TZ).date()
            if sum(1 for t in self._previews if t.astimezone(TZ).date() == today) >= PREVIEWS_PER_DAY:
                raise WeChatError(45009, "reach max api daily quota limit")
            self._previews.append(now)
            self._record(user.openid, "preview", message)
        return {"msg_id": next(self._next_id)}

    def mass_get(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            job = self._mass_jobs.get(str(body.get("msg_id")))
        if job is None:
            # Query mass message status (doc/service/api/notify/message/api_massmsgget): 40059 invalid msg id.
            raise WeChatError(40059, "invalid msg id")
        return {"msg_id": int(job["msg_id"]),
                "msg_status": "SEND_SUCCESS" if job["status"] == "send success" else "SEND_FAIL"}

    def add_material(self, kind: str, content: bytes, content_type: str) -> dict[str, Any]:
        """Permanent material (api_addmaterial). Images only here: what an article's cover needs."""
        if kind not in ("image", "voice", "video", "thumb"):
            raise WeChatError(40004, "invalid media type")  # Global return codes: 40004
        if not content:
            raise WeChatError(44001, "empty media data")  # Global return codes: 44001
        if kind != "image":
            raise WeChatError(40004, "invalid media type")  # (the fake keeps image material only)
        mimetype = image_type(content)
        if mimetype is None:
            raise WeChatError(40005, "invalid file type")  # api_addmaterial: bmp/png/jpeg/jpg/gif
        if len(content) > PERMANENT_IMAGE_MAX:
            raise WeChatError(40009, "invalid image size")  # api_addmaterial: image 10M
        media_id = "material_" + uuid.uuid4().hex
        with self._lock:
            self._materials[media_id] = (content, mimetype)
        return {"media_id": media_id, "url": self.media_url_prefix + media_id}

    def draft_add(self, body: dict[str, Any]) -> dict[str, Any]:
        articles = body.get("articles")
        if not isinstance(articles, list) or not articles:
            raise WeChatError(44003, "empty news data")  # Global return codes: 44003 图文消息内容为空
        for article in articles:
            self._check_draft_article(article if isinstance(article, dict) else {})
        media_id = "draft_" + uuid.uuid4().hex
        with self._lock:
            self._drafts[media_id] = [dict(a) for a in articles]
        return {"media_id": media_id}

    def _check_draft_article(self, article: dict[str, Any]) -> None:
        """One article of draft/add, by the limits of Add draft (see DRAFT_TITLE_MAX)."""
        title, digest = str(article.get("title") or ""), str(article.get("digest") or "")
        content, url = str(article.get("content") or ""), str(article.get("content_source_url") or "")
        if not title or len(title) > DRAFT_TITLE_MAX:
            raise WeChatError(45003, "title size out of limit")  # Global return codes: 45003
        if len(digest) > DRAFT_DIGEST_MAX:
            raise WeChatError(45004, "description size out of limit")  # Global return codes: 45004
        if not content:
            raise WeChatError(44003, "empty news data")
        if len(content) >= DRAFT_CONTENT_MAX_CHARS or len(content.encode("utf-8")) >= DRAFT_CONTENT_MAX_BYTES:
            # Field report: draft content too long answers 45002 (community question oCJUswzReoCaAPGisFLyw3eBwjlM).
            raise WeChatError(45002, "content size out of limit")
        if len(url.encode("utf-8")) > DRAFT_URL_MAX_BYTES:
            raise WeChatError(45005, "url size out of limit")  # Global return codes: 45005 链接字段超过限制
        with self._lock:
            thumb = self._materials.get(str(article.get("thumb_media_id") or ""))
        if thumb is None:
            # "thumb_media_id ... 必须是永久MediaID"; a temporary or unknown id answers 40007 (community
            # thread 000e6ec6354b402100cec738c5c000).
            raise WeChatError(40007, "invalid media_id")

    def media_get(self, media_id: str) -> tuple[bytes, str]:
        with self._lock:
            item = self._media.get(media_id)
        # [D] 获取临时素材 getMedia (doc/service/api/material/temporary/api_getmedia): 40007 invalid media_id;
        # temporary media live 3 days ([D] 新增临时素材 uploadTempMedia: "媒体文件在微信后台保存时间为3天").
        if item is None or self.clock.now() - item[2] >= MEDIA_LIFETIME:
            raise WeChatError(40007, "invalid media_id")
        return item[0], item[1]

    def media_get_answer(self, media_id: str, url_root: str) -> tuple[str, bytes]:
        """What `media/get` answers: the file itself, or for a video the JSON with its download address
        ([D] getMedia: 返回参数 video_url "视频消息素材下载地址", example {"video_url": "DOWN_URL"})."""
        content, mimetype = self.media_get(media_id)
        if not mimetype.startswith("video/"):
            return mimetype, content
        link = uuid.uuid4().hex
        with self._lock:
            self._video_links[link] = media_id
        return _json({"video_url": f"{url_root.rstrip('/')}/wxvideo/{link}"})

    def video_file(self, link: str) -> tuple[bytes, str] | None:
        """The download address of a video: the file while the media lives, else None (404)."""
        with self._lock:
            media_id = self._video_links.get(link)
            self.calls["wxvideo"] += 1
            scripted = self._failures["wxvideo"].popleft() if self._failures["wxvideo"] else None
        if media_id is None or scripted is not None:
            return None
        try:
            content, mimetype = self.media_get(media_id)
        except WeChatError:
            return None
        with self._lock:
            self.video_downloads += 1
        return content, mimetype

    def media_upload(self, kind: str, content: bytes, content_type: str) -> dict[str, Any]:
        if kind not in ("image", "voice", "video", "thumb"):
            raise WeChatError(40004, "invalid media type")
        if not content:
            raise WeChatError(44001, "empty media data")
        media_id = self.add_media(content, content_type)
        return {"type": kind, "media_id": media_id, "created_at": int(self.clock.now().timestamp())}

    def tags_create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = ((body.get("tag") or {}).get("name") or "").strip()
        if not name or len(name) > 30:
            raise WeChatError(45158, "tag name too long")
        with self._lock:
            if name in self._tags.values():
                raise WeChatError(45157, "invalid tag name")
            tag_id = 100 + len(self._tags)
            self._tags[tag_id] = name
        return {"tag": {"id": tag_id, "name": name}}

    def tags_get(self) -> dict[str, Any]:
        with self._lock:
            tags = [{"id": i, "name": n, "count": sum(1 for u in self._users.values() if i in u.tags)}
                    for i, n in self._tags.items()]
        return {"tags": tags}

    def tags_members(self, body: dict[str, Any], add: bool) -> dict[str, Any]:
        openids = body.get("openid_list") or []
        tag_id = int(body.get("tagid", -1))
        if len(openids) > 50:
            raise WeChatError(40032, "invalid openid list size")
        with self._lock:
            if tag_id not in self._tags:
                raise WeChatError(45159, "invalid tag id")
            for openid in openids:
                if openid not in self._users:
                    raise WeChatError(40003, "invalid openid")
            for openid in openids:
                (self._users[openid].tags.add if add else self._users[openid].tags.discard)(tag_id)
        return {}

    # --- HTTP -------------------------------------------------------------------------------

    def handle(self, endpoint: str, query: dict[str, str], body: bytes, content_type: str = "",
               client_ip: str = "127.0.0.1", url_root: str = "http://127.0.0.1/") -> tuple[str, bytes]:
        """One API call, transport-free: (content type, body). Both servers below call this."""
        self.calls[endpoint] += 1
        try:
            if endpoint == "token":
                return _json(self._issue_token(query.get("appid", ""), query.get("secret", ""), client_ip))
            if endpoint == "stable_token":
                return _json(self._issue_stable_token(body, client_ip))
            with self._lock:
                self._check_token(query.get("access_token"))
                busy = self.error_rate and self._random.random() < self.error_rate
                scripted = self._failures[endpoint].popleft() if self._failures[endpoint] else None
            if scripted is not None:
                raise WeChatError(scripted, "system error" if scripted == -1 else "scripted failure")
            if busy:
                raise WeChatError(-1, "system error")
            if endpoint == "media/get":
                return self.media_get_answer(query.get("media_id", ""), url_root)
            return self._dispatch(endpoint, query, body, content_type)
        except WeChatError as exc:
            return _json({"errcode": exc.errcode, "errmsg": exc.errmsg})

    def _build_app(self) -> Flask:
        app = Flask("fakewechat")
        fake = self

        @app.route("/cgi-bin/<path:endpoint>", methods=["GET", "POST"])
        def api(endpoint: str) -> Response:
            if fake.latency:
                time.sleep(fake.latency)
            mimetype, data = fake.handle(endpoint, request.args.to_dict(), request.get_data(),
                                         request.content_type or "", request.remote_addr or "", request.url_root)
            if fake._answer_lost(endpoint):
                return Response("bad gateway", status=502)
            return Response(data, mimetype=mimetype)

        @app.get("/wxvideo/<link>")
        def video(link: str) -> Response:
            if fake.latency:
                time.sleep(fake.latency)
            found = fake.video_file(link)
            if found is None:
                return Response("not found", status=404, mimetype="text/plain")
            return Response(found[0], mimetype=found[1])

        @app.route("/mmbiz/<media_id>")
        def material_image(media_id: str) -> Response:
            """A permanent image's `url` (WeChat serves them from mmbiz.qpic.cn)."""
            found = fake.material(media_id)
            if found is None:
                return Response("not found", status=404)
            return Response(found[0], mimetype=found[1])

        return app

    def _dispatch(self, endpoint: str, query: dict[str, str], raw: bytes, content_type: str) -> tuple[str, bytes]:
        if endpoint == "media/upload":
            upload = _multipart_file(raw, content_type, "media")
            if upload is None:
                raise WeChatError(41005, "media data missing")
            return _json(self.media_upload(query.get("type", ""), *upload))
        if endpoint == "material/add_material":
            upload = _multipart_file(raw, content_type, "media")
            if upload is None:
                raise WeChatError(41005, "media data missing")  # Global return codes: 41005
            return _json({"errcode": 0, "errmsg": "ok", **self.add_material(query.get("type", ""), upload[0], upload[1])})
        if endpoint == "tags/get":
            return _json(self.tags_get())
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise WeChatError(47001, "data format error") from None
        handlers = {
            "message/custom/send": self.custom_send,
            "message/template/send": self.template_send,
            "message/subscribe/bizsend": self.subscribe_send,
            "message/mass/sendall": self.mass_sendall,
            "message/mass/preview": self.mass_preview,
            "message/mass/get": self.mass_get,
            "draft/add": self.draft_add,
            "menu/create": self._menu_create,
            "tags/create": self.tags_create,
            "tags/members/batchtagging": lambda b: self.tags_members(b, add=True),
            "tags/members/batchuntagging": lambda b: self.tags_members(b, add=False),
        }
        handler = handlers.get(endpoint)
        if handler is None:
            raise WeChatError(48001, "api unauthorized")
        result = handler(body)
        return _json({"errcode": 0, "errmsg": "ok", **result} if "errcode" not in result else result)

    def _menu_create(self, body: dict[str, Any]) -> dict[str, Any]:
        # [D] 创建自定义菜单 createCustomMenu (doc/service/api/custommenu/api_createcustommenu): 1-3 buttons,
        # 1-5 items each; name ≤ 16 bytes (items ≤ 60); key ≤ 128 bytes, required by click-like types; url
        # ≤ 1024 bytes, required by view and miniprogram. Codes from [D] 全局返回码 (Global_Return_Code):
        # 40016/40023 button / sub button size, 40017/40024 type, 40018/40025 name size, 40019/40026 key
        # size, 40020/40027 url size. A missing url is a bad url size: [C] community thread
        # oCJUswwyuSBL1rkqqKdCwiSqgCbk (a view item with "key" instead of "url" → 40027).
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise WeChatError(40016, "invalid button size")
        for button in buttons:
            subs = button.get("sub_button") or []
            if not isinstance(subs, list) or len(subs) > 5:
                raise WeChatError(40023, "invalid sub button size")
            _check_menu_button(button, top=True, has_items=bool(subs))
            for sub in subs:
                _check_menu_button(sub, top=False, has_items=False)
        with self._lock:
            self.menu = body
        return {}


def image_type(content: bytes) -> str | None:
    """The image type by its magic bytes (what a JPEG/PNG/GIF/BMP file starts with), else None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content.startswith(b"BM"):
        return "image/bmp"
    return None


MENU_KEY_TYPES = {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
                  "pic_weixin", "location_select"}
MENU_URL_TYPES = {"view", "miniprogram"}
MENU_TYPES = MENU_KEY_TYPES | MENU_URL_TYPES | {"media_id", "view_limited", "article_id", "article_view_limited"}


def _check_menu_button(button: dict[str, Any], *, top: bool, has_items: bool) -> None:
    """One button against createCustomMenu's rules; top buttons and items answer their own codes."""
    codes = {"type": 40017, "name": 40018, "key": 40019, "url": 40020} if top else \
        {"type": 40024, "name": 40025, "key": 40026, "url": 40027}
    what = "button" if top else "sub button"
    name = str(button.get("name") or "").encode("utf-8")
    if not name or len(name) > (16 if top else 60):
        raise WeChatError(codes["name"], f"invalid {what} name size")
    if has_items:
        return  # a button that opens items has no type of its own
    kind = button.get("type")
    if kind not in MENU_TYPES:
        raise WeChatError(codes["type"], f"invalid {what} type")
    key = str(button.get("key") or "").encode("utf-8")
    if kind in MENU_KEY_TYPES and not 0 < len(key) <= 128:
        raise WeChatError(codes["key"], f"invalid {what} key size")
    url = str(button.get("url") or "").encode("utf-8")
    if kind in MENU_URL_TYPES and not 0 < len(url) <= 1024:
        raise WeChatError(codes["url"], f"invalid {what} url size")


# The docs give no length for customer-service text; field reports: what passes 2048 bytes is cut and the
# rest dropped ([C] dodgepudding/wechat-php-sdk#363 "最大长度是2047字节"; JeffreySu/WeiXinMPSDK#2875 splits
# long text into 2048-byte customer-service messages; the WeCom send doc: "超过将截断"). The stricter
# reading is kept: the citizen sees only the first 2048 bytes.
CUSTOM_TEXT_BYTES = 2048


def _cut_long_text(body: dict[str, Any]) -> dict[str, Any]:
    content = (body.get("text") or {}).get("content", "") if body.get("msgtype") == "text" else ""
    raw = content.encode("utf-8")
    if len(raw) <= CUSTOM_TEXT_BYTES:
        return body
    return {**body, "text": {"content": raw[:CUSTOM_TEXT_BYTES].decode("utf-8", errors="ignore")}}


def _check_subscribe_data(data: Any) -> None:
    """47003 "模板参数不准确，可能为空或者不满足规则" for a keyword of no known type or a value its type refuses."""
    if not isinstance(data, dict) or not data:
        raise WeChatError(47003, "argument invalid! data is empty")
    for key, item in data.items():
        kind = re.match(r"^(character_string|phone_number|car_number|[a-z]+?)(\d+)$", key)
        rule = SUBSCRIBE_VALUE_RULES.get(kind.group(1)) if kind else None
        value = str((item or {}).get("value", "")) if isinstance(item, dict) else ""
        if rule is None or not re.fullmatch(rule, value):
            raise WeChatError(47003, f"argument invalid! data.{key}.value invalid")


def _json(data: dict[str, Any]) -> tuple[str, bytes]:
    return "application/json", json.dumps(data, ensure_ascii=False).encode("utf-8")


def _multipart_file(raw: bytes, content_type: str, field: str) -> tuple[bytes, str] | None:
    from werkzeug.formparser import parse_form_data

    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(raw)),
               "wsgi.input": io.BytesIO(raw)}
    _, _, files = parse_form_data(environ)
    upload = files.get(field)
    if upload is None:
        return None
    return upload.read(), upload.mimetype or "application/octet-stream"


class FakeServer:
    """The fake served on a loopback port from a background thread (tests, the benchmark)."""

    def __init__(self, fake: FakeWeChat, host: str = "127.0.0.1", port: int = 0) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class KeepAlive(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"  # keep connections open, as WeChat's servers do

            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self.fake = fake
        self._server = make_server(host, port, fake.app, threaded=True, request_handler=KeepAlive)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self.base_url = f"http://{host}:{self.port}/cgi-bin/"
        fake.media_url_prefix = f"http://{host}:{self.port}/mmbiz/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-wechat", daemon=True)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class AsyncFakeServer:
    """The same fake on a small asyncio HTTP/1.1 server: latency costs no thread, so one core
    answers thousands of calls a second (the benchmark). Same interface as FakeServer."""

    def __init__(self, fake: FakeWeChat, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._host, self._port = host, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-wechat-async", daemon=True)
        self.port = 0
        self.base_url = ""

    def start(self) -> AsyncFakeServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._connection, self._host, self._port))
        self.port = server.sockets[0].getsockname()[1]
        self.base_url = f"http://{self._host}:{self.port}/cgi-bin/"
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                _method, target, _version = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                path, _, query = target.partition("?")
                if self.fake.latency:
                    await asyncio.sleep(self.fake.latency)
                endpoint = path.split("/cgi-bin/", 1)[-1]
                peer = writer.get_extra_info("peername") or ("",)
                mimetype, data = self.fake.handle(endpoint, dict(parse_qsl(query)), body,
                                                  headers.get("content-type", ""), str(peer[0]))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + mimetype.encode() +
                             b"\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


def mount(app: Flask, fake: FakeWeChat, prefix: str = "/fake-wechat") -> str:
    """Serve the fake inside another Flask app (the demo): its API base is `<public_url><prefix>/cgi-bin/`."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {prefix: fake.app})  # type: ignore[method-assign]
    app.extensions["fake_wechat"] = fake
    fake.media_url_prefix = prefix + "/mmbiz/"  # same host as the app: the simulator shows the covers
    return prefix + "/cgi-bin/"
