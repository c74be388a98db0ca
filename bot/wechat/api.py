"""The WeChat API client: wechatpy's WeChatClient for HTTP, our own token manager and retry rules.

Why not wechatpy's own token handling (wechat-frameworks.md §3.1): its token URL ignores the base
URL, its `expires_at` lives in one process, and `auto_retry` refetches on 40001 without a bound.
Here the token lives in the store, shared by every process: read it; if missing, take a short
lock, read again (another process may just have fetched it), fetch, store it with a margin. When
WeChat says the token is bad, it is cleared only if it is still the one we used (a newer one from
another process must survive), and the call is retried once.

The token comes from `POST stable_token` in normal mode, which returns the same token while it is
valid, so another holder of the AppSecret (a staging copy, the online debug tool) cannot invalidate
ours as a GET `token` call does. `force_refresh` is used only when a 40001 is answered with the very
token that was refused, within its limits (20 a day, 30 s apart). When the token endpoint itself
refuses (IP not whitelisted, wrong AppSecret or AppID, quota), every process pauses through the
store: no token request per delivery, and the sender leaves its rows pending until the pause ends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests
import urllib3
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.clock import Clock, SystemClock
from bot.infra.store import LockTimeout, Store
from bot.wechat.transport import Urllib3Session

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}
# -1 system busy; 45009 daily API quota; 45011 per-minute quota; 45033 / 45047-like frequency caps
# are per user and handled by the caller.
BUSY = -1
RATE_LIMITED = {45009, 45011, 45033}
# Local codes (never sent by WeChat) for transport failures. The difference matters to the sender:
# a request that never left cannot have been delivered; one whose answer was lost may have been.
CONNECT_FAILED = -1001
ANSWER_LOST = -1002

TOKEN_MARGIN = 300          # refresh 5 minutes early: WeChat keeps the old token valid that long
TOKEN_LOCK_TTL = 10.0
COOLDOWN_SECONDS = 60.0     # after a rate-limit code every process pauses this long
# Mass text: at most 300 characters, and no <a href> to anything but published mp.weixin.qq.com
# articles (external links in mass text were withdrawn in 2020: 40066). Articles go as mpnews.
MASS_TEXT_MAX = 300
# clientmsgid is documented as 64 bytes, but ids of 34-36 characters were refused with 45067 while
# 25 passed (community threads 0000c403d88548712a5042bc26bc00, 00022428e988b881172d99bc756000).
CLIENT_MSG_ID_LENGTH = 32
PREVIEW_ENDPOINT = "message/mass/preview"

# Refusals of the token endpoint itself that asking again will not cure soon ([D] 获取接口调用凭据
# getAccessToken, doc/service/api/base/api_getaccesstoken, error table: 40013 invalid appid, 40125
# invalid appsecret, 40164 IP not in the whitelist; [D] 通用错误码: 45009 reach max api daily quota).
TOKEN_ENDPOINT_ERRORS = {40013, 40125, 40164, 45009}
TOKEN_PAUSE_SECONDS = 300.0      # a configuration fault: one try every 5 minutes across all processes
TOKEN_QUOTA_PAUSE_SECONDS = 1800.0
# [D] 获取稳定版接口调用凭据 getStableAccessToken (doc/service/api/base/api_getstableaccesstoken),
# 注意事项: "强制刷新模式每天限用 20 次且需间隔 30 秒".
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING = dt.timedelta(seconds=30)

# What staff are told (console, `outbox status`) about a token pause, by errcode: what happened and whom
# to ask, never a setting's name (staff are not developers).
TOKEN_PAUSE_REASONS = {
    40164: "服务器的 IP 不在公众号的 IP 白名单中。请在微信公众平台“设置与开发 → 基本配置 → IP白名单”中加入微信返回的 IP。",
    40125: "微信不认可服务器使用的开发者密码（AppSecret），可能已在微信公众平台重置。"
           "请系统管理员核对服务器配置中的开发者密码（AppSecret）。",
    40013: "微信不认可服务器使用的开发者 ID（AppID）。请系统管理员核对服务器配置中的开发者 ID（AppID）。",
    45009: "获取接口调用凭证的每日次数已用完。可在公众平台清零接口调用次数，或等到次日。",
}
# What the operator fixes, by errcode: only in the log, which the operator reads on the server.
TOKEN_PAUSE_SETTINGS = {40125: "BOT_WECHAT_APP_SECRET", 40013: "BOT_WECHAT_APP_ID"}


class WeChatAPIError(Exception):
    """WeChat answered errcode != 0, or the request failed (local codes CONNECT_FAILED, ANSWER_LOST)."""

    def __init__(self, errcode: int, errmsg: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.data = data or {}  # the rest of WeChat's answer (45065 carries the existing msg_id)


class TokenUnavailable(WeChatAPIError):
    """The token endpoint refused (or a pause it caused is still on): no message was sent."""

    def __init__(self, errcode: int, errmsg: str, until: dt.datetime) -> None:
        super().__init__(errcode, errmsg)
        self.until = until


@dataclasses.dataclass(frozen=True)
class TokenPause:
    """Every sender waits until `until` because the token endpoint answered `errcode`."""

    errcode: int
    errmsg: str
    since: dt.datetime
    until: dt.datetime

    @property
    def reason(self) -> str:
        """In Chinese, for staff: what is wrong and what to do."""
        advice = TOKEN_PAUSE_REASONS.get(self.errcode, "向微信获取接口调用凭证失败。")
        # WeChat's errmsg is English; staff need only the address it saw (40164 names it), not the text.
        seen = re.search(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", self.errmsg)
        return f"{advice}（微信错误码 {self.errcode}" + (f"，微信看到的服务器 IP：{seen.group(0)}" if seen else "") + "）"

    def to_json(self) -> str:
        return json.dumps({"errcode": self.errcode, "errmsg": self.errmsg, "since": self.since.isoformat(),
                           "until": self.until.isoformat()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> TokenPause:
        data = json.loads(raw)
        return cls(int(data["errcode"]), str(data["errmsg"]), dt.datetime.fromisoformat(data["since"]),
                   dt.datetime.fromisoformat(data["until"]))


@dataclasses.dataclass(frozen=True)
class Media:
    """A downloaded media file and the Content-Type WeChat gave it (image/jpeg, audio/amr, video/mp4…)."""

    content: bytes
    content_type: str

    def looks_like_json(self) -> bool:
        return self.content_type.startswith(("application/json", "text/")) or self.content.lstrip()[:1] == b"{"


def _content_type(res: Any) -> str:
    return str((res.headers or {}).get("Content-Type", "")).split(";")[0].strip().lower()


class _Client(WeChatClient):
    """wechatpy's client with the token fetched from our base URL (its default URL is absolute)."""

    def __init__(self, api: WeChatAPI, app_id: str, secret: str, timeout: float) -> None:
        super().__init__(app_id, secret, timeout=timeout, auto_retry=False)
        self._api = api

    def fetch_access_token(self) -> dict[str, Any]:
        return self.fetch_stable_token(force_refresh=False)

    def fetch_stable_token(self, force_refresh: bool) -> dict[str, Any]:
        """[D] getStableAccessToken: POST JSON only; normal mode returns the current token while valid."""
        body = json.dumps({"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                           "force_refresh": force_refresh})
        res = self._http.request("POST", self.API_BASE_URL + "stable_token", data=body.encode("utf-8"),
                                 timeout=self.timeout)
        res.raise_for_status()
        result = res.json()
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""), client=self)
        return result


class WeChatAPI:
    """The calls the bot makes. Every failure raises WeChatAPIError(errcode, errmsg)."""

    def __init__(self, app_id: str, secret: str, base_url: str, store: Store, *, timeout: float = 3.0,
                 pool_size: int = 32, busy_retry_delay: float = 0.2,
                 sleep: Callable[[float], None] = time.sleep, clock: Clock | None = None) -> None:
        self.app_id = app_id
        self._secret = secret
        self._store = store
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._busy_retry_delay = busy_retry_delay
        self._client = _Client(self, app_id, secret, timeout)
        self._client.API_BASE_URL = base_url  # per instance: tests and the demo point it at the fake
        # requests is replaced by a leaner urllib3 transport (see transport.py); proxy settings are
        # read from the environment once.
        self._client._http = Urllib3Session(pool_size, requests.utils.get_environ_proxies(base_url))
        self.token_key = f"wechat:token:{app_id}"
        self.cooldown_key = f"wechat:cooldown:{app_id}"
        self.token_pause_key = f"wechat:token-pause:{app_id}"
        self.force_refresh_key = f"wechat:force-refresh:{app_id}"

    # --- access token -------------------------------------------------------------------------

    def access_token(self) -> str:
        token = self._store.get(self.token_key)
        if token:
            return token
        self._raise_if_paused()
        try:
            with self._store.lock(self.token_key + ":lock", ttl=TOKEN_LOCK_TTL, wait=TOKEN_LOCK_TTL):
                token = self._store.get(self.token_key)  # double check: someone may have fetched it
                if token:
                    return token
                self._raise_if_paused()  # or the endpoint has just refused another process
                return self._fetch_token(force_refresh=False)
        except LockTimeout:
            raise WeChatAPIError(BUSY, "access token refresh is taking too long") from None

    def token_pause(self) -> TokenPause | None:
        """The pause the token endpoint's refusal started, while it lasts (shared by every process)."""
        raw = self._store.get(self.token_pause_key)
        if not raw:
            return None
        pause = TokenPause.from_json(raw)
        return pause if self._clock.now() < pause.until else None

    def _raise_if_paused(self) -> None:
        pause = self.token_pause()
        if pause is not None:
            raise TokenUnavailable(pause.errcode, pause.errmsg, pause.until)

    def _fetch_token(self, force_refresh: bool) -> str:
        """One request to the token endpoint (under the lock); the token is stored for everyone."""
        try:
            result = self._transport(self._client.fetch_stable_token, force_refresh)
        except WeChatAPIError as exc:
            if exc.errcode in TOKEN_ENDPOINT_ERRORS:
                raise self._pause_senders(exc) from None
            raise
        token = result["access_token"]
        ttl = max(60, int(result.get("expires_in", 7200)) - TOKEN_MARGIN)
        self._store.set(self.token_key, token, ttl=ttl)
        self._store.delete(self.token_pause_key)
        log.info("fetched %s access token (valid %ss here)", "a force-refreshed" if force_refresh else "the", ttl)
        return token

    def _pause_senders(self, exc: WeChatAPIError) -> TokenUnavailable:
        """Called under the token lock: the pause is written (and logged) by one process at a time."""
        seconds = TOKEN_QUOTA_PAUSE_SECONDS if exc.errcode == 45009 else TOKEN_PAUSE_SECONDS
        now = self._clock.now()
        pause = TokenPause(exc.errcode, exc.errmsg, now, now + dt.timedelta(seconds=seconds))
        previous = self._store.get(self.token_pause_key)
        # Kept a day past its end, so a refusal that goes on is logged once, not at every new try.
        self._store.set(self.token_pause_key, pause.to_json(), ttl=seconds + 86400)
        if previous and TokenPause.from_json(previous).errcode == exc.errcode:
            log.info("the WeChat token endpoint still refuses (%s): senders pause another %ds", exc.errcode, seconds)
        else:
            setting = TOKEN_PAUSE_SETTINGS.get(exc.errcode)
            log.error("the WeChat token endpoint refused (%s %s): every sender pauses %ds%s", exc.errcode,
                      exc.errmsg, seconds, f"; check {setting}" if setting else "")
        return TokenUnavailable(exc.errcode, exc.errmsg, pause.until)

    def _replace_rejected(self, rejected: str) -> None:
        """After 40001/40014/42001 on `rejected`: a normal-mode fetch first (it returns a newer token if
        there is one); force_refresh only if WeChat hands back the very token it refused."""
        self._store.delete_if_equals(self.token_key, rejected)
        try:
            with self._store.lock(self.token_key + ":lock", ttl=TOKEN_LOCK_TTL, wait=TOKEN_LOCK_TTL):
                current = self._store.get(self.token_key)
                if current and current != rejected:
                    return  # another process has already replaced it
                self._raise_if_paused()
                if self._fetch_token(force_refresh=False) != rejected:
                    return
                if self._may_force_refresh():
                    self._fetch_token(force_refresh=True)
                else:
                    log.warning("WeChat refused the current access token, and force_refresh is spent "
                                "(%d a day, %ss apart)", FORCE_REFRESH_PER_DAY, FORCE_REFRESH_SPACING.seconds)
        except LockTimeout:
            raise WeChatAPIError(BUSY, "access token refresh is taking too long") from None

    def _may_force_refresh(self) -> bool:
        """Within getStableAccessToken's limits for force_refresh; records the use (under the token lock)."""
        now = self._clock.now()
        raw = self._store.get(self.force_refresh_key)
        uses = [dt.datetime.fromisoformat(t) for t in json.loads(raw)] if raw else []
        today = [t for t in uses if t.date() == now.date()]
        if len(today) >= FORCE_REFRESH_PER_DAY or (today and now - max(today) < FORCE_REFRESH_SPACING):
            return False
        self._store.set(self.force_refresh_key, json.dumps([t.isoformat() for t in [*today, now]]),
                        ttl=2 * 86400)
        return True

    def cooling_down(self) -> bool:
        """True while a rate-limit answer asks every process to pause."""
        return self._store.get(self.cooldown_key) is not None

    # --- the calls ----------------------------------------------------------------------------

    def send_custom(self, openid: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Customer-service message (text, news, image): only inside the 48-hour window."""
        return self._post("message/custom/send", {"touser": openid, **custom_body(payload)})

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str = "",
                      client_msg_id: str = "") -> dict[str, Any]:
        """A template message; `client_msg_id` makes a repeat within 10 minutes send nothing twice."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self._post("message/template/send", body)

    def send_subscribe(self, openid: str, template_id: str, data: dict[str, Any], page: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        return self._post("message/subscribe/bizsend", body)

    def mass_send(self, audience: dict[str, Any], payload: dict[str, Any], client_msg_id: str) -> dict[str, Any]:
        """Mass send to everyone or to one tag. wechatpy 1.8 sends the legacy group_id; we send tag_id."""
        if audience.get("all"):
            filter_ = {"is_to_all": True}
        elif "tag_id" in audience:
            filter_ = {"is_to_all": False, "tag_id": int(audience["tag_id"])}
        else:
            raise ValueError(f"mass send needs all or tag_id, got {audience!r}")
        # send_ignore_reprint 0: if WeChat judges one of our articles a reprint, stop rather than
        # send it as someone else's (the bureau's articles are its own).
        body = {"filter": filter_, **mass_body(payload), "send_ignore_reprint": 0,
                "clientmsgid": self.client_msg_id(client_msg_id)}
        return self._post("message/mass/sendall", body)

    def client_msg_id(self, key: str) -> str:
        """The clientmsgid for a mass send known to us as `key`: 32 ASCII characters, the same in every
        process of this deployment (an HMAC under the AppSecret, which they all share), different in
        any deployment with another AppID or secret."""
        return client_msg_id_for(key, f"{self.app_id}|{self._secret}")

    def add_image_material(self, filename: str, content: bytes) -> dict[str, Any]:
        """Upload an image as permanent material (an article's cover): {"media_id", "url"}."""
        result = self._call("post", "material/add_material", params={"type": "image"},
                            files={"media": (filename, content)})
        return {"media_id": str(result["media_id"]), "url": str(result.get("url", ""))}

    def add_draft(self, articles: list[dict[str, Any]]) -> str:
        """Put articles in the draft box; the media_id is what `mpnews` mass sends and previews take."""
        return str(self._post("draft/add", {"articles": articles})["media_id"])

    def mass_preview(self, openid: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._post(PREVIEW_ENDPOINT, {"touser": openid, **mass_body(payload)})

    def mass_status(self, msg_id: str | int) -> dict[str, Any]:
        return self._post("message/mass/get", {"msg_id": str(msg_id)})

    def download_media(self, media_id: str) -> bytes:
        """A temporary media file (a citizen's photo: media expire after 3 days → 40007)."""
        return self.fetch_media(media_id).content

    def fetch_media(self, media_id: str) -> Media:
        """A temporary media file with its type. [D] 获取临时素材 getMedia
        (doc/service/api/material/temporary/api_getmedia): images and voice come back as the file, a
        video as JSON `{"video_url": ...}`, fetched here in a second request."""
        res = self._call("get", "media/get", params={"media_id": media_id})
        if isinstance(res, dict):
            url = res.get("video_url")
            if not url:
                raise WeChatAPIError(ANSWER_LOST, f"media/get answered JSON without a file: {sorted(res)}")
            return self._download(str(url))
        return Media(res.content, _content_type(res))

    def _download(self, url: str) -> Media:
        """The second request for a video: a plain GET of WeChat's download address, no token."""
        try:
            res = self._client._http.request("GET", url, timeout=self._client.timeout)
        except requests.RequestException as exc:
            code = CONNECT_FAILED if _never_sent(exc) else ANSWER_LOST
            raise WeChatAPIError(code, f"video download failed: {type(exc).__name__}") from None
        if res.status_code >= 400:
            raise WeChatAPIError(ANSWER_LOST, f"video download failed: HTTP {res.status_code}")
        media = Media(res.content, _content_type(res))
        if media.looks_like_json():
            raise WeChatAPIError(ANSWER_LOST, "video download answered JSON, not the video")
        return media

    def upload_media(self, kind: str, filename: str, content: bytes) -> str:
        result = self._call("post", "media/upload", params={"type": kind}, files={"media": (filename, content)})
        return str(result["media_id"])

    def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        return self._post("menu/create", menu)

    def create_tag(self, name: str) -> int:
        return int(self._post("tags/create", {"tag": {"name": name}})["tag"]["id"])

    def list_tags(self) -> dict[str, int]:
        result = self._call("get", "tags/get")
        return {tag["name"]: int(tag["id"]) for tag in result.get("tags", [])}

    def tag_users(self, tag_id: int, openids: Iterable[str]) -> None:
        for chunk in _chunks(list(openids), 50):  # WeChat takes at most 50 openids per call
            self._post("tags/members/batchtagging", {"openid_list": chunk, "tagid": int(tag_id)})

    def untag_users(self, tag_id: int, openids: Iterable[str]) -> None:
        for chunk in _chunks(list(openids), 50):
            self._post("tags/members/batchuntagging", {"openid_list": chunk, "tagid": int(tag_id)})

    # --- plumbing -----------------------------------------------------------------------------

    def _post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("post", endpoint, data=body)

    def _call(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        retried_token = retried_busy = False
        while True:
            token = self.access_token()
            try:
                return self._transport(self._client._request, method, endpoint,
                                       params={**(params or {}), "access_token": token}, **kwargs)
            except WeChatAPIError as exc:
                if exc.errcode in TOKEN_ERRORS and not retried_token:
                    # Clear it only if it is still the cached one: another process may have a newer one.
                    self._replace_rejected(token)
                    retried_token = True
                    continue
                if exc.errcode == BUSY and not retried_busy:
                    self._sleep(self._busy_retry_delay)
                    retried_busy = True
                    continue
                if exc.errcode in RATE_LIMITED and not (endpoint == PREVIEW_ENDPOINT and exc.errcode == 45009):
                    # (previews have their own 100-a-day quota: running out of it pauses nothing else)
                    self._store.set(self.cooldown_key, str(exc.errcode), ttl=COOLDOWN_SECONDS)
                    log.warning("WeChat rate limit %s on %s: pausing %ss", exc.errcode, endpoint, COOLDOWN_SECONDS)
                raise

    def _transport(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one HTTP exchange; turn every failure into WeChatAPIError."""
        try:
            return call(*args, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode is None:  # an HTTP status error; a 5xx may come after the work was done
                status = exc.response.status_code if exc.response is not None else 0
                code = CONNECT_FAILED if 0 < status < 500 else ANSWER_LOST
                raise WeChatAPIError(code, f"HTTP status {status}") from None
            raise WeChatAPIError(int(exc.errcode), str(exc.errmsg), _answer(exc)) from None
        except requests.RequestException as exc:
            if _never_sent(exc):
                raise WeChatAPIError(CONNECT_FAILED, f"cannot connect: {type(exc).__name__}") from None
            raise WeChatAPIError(ANSWER_LOST, f"no answer: {type(exc).__name__}") from None
        except ValueError as exc:  # a body that is not JSON where JSON was due
            raise WeChatAPIError(ANSWER_LOST, f"unreadable answer: {exc}") from None


def _answer(exc: WeChatClientException) -> dict[str, Any]:
    try:
        data = exc.response.json() if exc.response is not None else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _never_sent(exc: requests.RequestException) -> bool:
    """Only a failed connect proves WeChat never saw the request; a reset or timeout later may not."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


def custom_body(payload: dict[str, Any]) -> dict[str, Any]:
    kind = payload["type"]
    if kind == "text":
        return {"msgtype": "text", "text": {"content": payload["content"]}}
    if kind == "news":
        articles = [{"title": a.get("title", ""), "description": a.get("description", ""),
                     "url": a.get("url", ""), "picurl": a.get("image", "")} for a in payload["articles"]]
        return {"msgtype": "news", "news": {"articles": articles[:1]}}  # WeChat shows one article since 2018
    if kind == "image":
        return {"msgtype": "image", "image": {"media_id": payload["media_id"]}}
    raise ValueError(f"no customer-service message for payload type {kind!r}")


def mass_body(payload: dict[str, Any]) -> dict[str, Any]:
    """Mass sends take text (refused here if WeChat would refuse it), images, or articles from the
    draft box (mpnews with the draft's media_id; see bot/services/articles.py)."""
    kind = payload["type"]
    if kind == "text":
        refusal = mass_text_refusal(payload["content"])
        if refusal:
            raise ValueError(refusal)
        return {"msgtype": "text", "text": {"content": payload["content"]}}
    if kind == "image":
        return {"msgtype": "image", "image": {"media_id": payload["media_id"]}}
    if kind == "news":
        first = payload["articles"][0]
        if not first.get("media_id"):
            raise ValueError("an article must be in the draft box (media_id) before a mass send")
        return {"msgtype": "mpnews", "mpnews": {"media_id": first["media_id"]}}
    raise ValueError(f"no mass message for payload type {kind!r}")


_ANCHOR = re.compile(r"<a\b[^>]*?href\s*=\s*[\"']?([^\"'\s>]*)", re.IGNORECASE)


def mass_text_refusal(text: str) -> str | None:
    """Why WeChat would refuse this mass text (in Chinese, for staff), or None."""
    if len(text) > MASS_TEXT_MAX:
        return f"群发文字最多 {MASS_TEXT_MAX} 字，这条有 {len(text)} 字：请删减，或改用图文消息（正文不限于此）。"
    for href in _ANCHOR.findall(text):
        if not _is_published_article(href):
            return ("群发文字不能带外部链接（微信已收回群发消息里 <a href> 外链的能力，会被拒绝）："
                    "请改用图文消息，把链接放在“阅读原文”。")
    return None


def _is_published_article(href: str) -> bool:
    return bool(re.match(r"^https?://mp\.weixin\.qq\.com/", href))


def news_as_text(payload: dict[str, Any]) -> str:
    parts = []
    for article in payload["articles"]:
        link = f'<a href="{article["url"]}">{article["title"]}</a>' if article.get("url") else article["title"]
        parts.append("\n".join(p for p in (link, article.get("description", "")) if p))
    return "\n\n".join(parts)


def client_msg_id_for(key: str, salt: str) -> str:
    """A clientmsgid for `key`: "m" + 31 hex characters of HMAC-SHA256(salt, key), so always 32 ASCII
    characters (see CLIENT_MSG_ID_LENGTH)."""
    digest = hmac.new(salt.encode("utf-8"), key.encode("utf-8"), hashlib.sha256).hexdigest()
    return "m" + digest[:CLIENT_MSG_ID_LENGTH - 1]


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
