"""The local WeChat simulator (/simulator): chat with the bot exactly as WeChat would carry the messages.

Every message is built as WeChat builds it, signed (and encrypted when the AES toggle is on), and
posted to the real /wechat webhook inside this process. Only in dev and demo modes: 404 in production.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

import xmltodict
from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request

from bot.runtime import Bot
from bot.services import notice_templates
from bot.wechat.inbound import strip_illegal
from bot.wechat.signing import PushSigner

bp = Blueprint("simulator", __name__, url_prefix="/simulator", template_folder="templates",
               static_folder="static", static_url_path="/static")

ACCOUNT = "gh_simulator"
CITIZENS = [("o_sim_zhangsan", "张三"), ("o_sim_lisi", "李四"), ("o_sim_wangwu", "王五")]
_msg_ids = itertools.count(int(time.time() * 1000))


def _bot() -> Bot:
    return current_app.extensions["bot"]


def cdata(value: str) -> str:
    return "<![CDATA[" + strip_illegal(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_message(openid: str, kind: str, fields: dict[str, Any], created: int) -> str:
    """The XML WeChat pushes for one message or event."""
    parts = [f"<ToUserName>{cdata(ACCOUNT)}</ToUserName>", f"<FromUserName>{cdata(openid)}</FromUserName>",
             f"<CreateTime>{created}</CreateTime>", f"<MsgType>{cdata(kind)}</MsgType>"]
    for name, value in fields.items():
        parts.append(f"<{name}>{value}</{name}>" if isinstance(value, int | float) else f"<{name}>{cdata(str(value))}</{name}>")
    if kind != "event":
        parts.append(f"<MsgId>{next(_msg_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def fields_for(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Turn the page's request into WeChat's MsgType and fields; 400 on anything malformed."""
    kind = data.get("type")
    if kind == "text":
        return "text", {"Content": str(data.get("text", ""))}
    if kind == "voice":
        return "voice", {"MediaId": f"voice-{secrets.token_hex(6)}", "Format": "amr",
                         "Recognition": str(data.get("text", ""))}
    if kind == "image":
        return "image", {"PicUrl": str(data.get("pic_url", "")), "MediaId": str(data.get("media_id", ""))}
    if kind == "location":
        try:
            lat, lng = float(data["latitude"]), float(data["longitude"])
        except (KeyError, TypeError, ValueError):
            abort(400, "纬度和经度须是数字")
        return "location", {"Location_X": lat, "Location_Y": lng, "Scale": 15, "Label": str(data.get("label", ""))}
    if kind == "event":
        event = str(data.get("event", ""))
        if event not in ("subscribe", "unsubscribe", "CLICK", "VIEW"):
            abort(400, "模拟器不支持这种事件")
        return "event", {"Event": event, "EventKey": str(data.get("key", ""))}
    abort(400, "模拟器不支持这种消息类型")


@bp.get("/")
def page() -> str:
    bot = _bot()
    content = bot.content
    menu = content.menu if "menu" in content.names() else None
    places = [{"label": t.name, "latitude": t.latitude, "longitude": t.longitude} for t in content.townships.items]
    return render_template("simulator/index.html", citizens=CITIZENS, menu=menu, places=places,
                           aes_available=bot.config.aes_enabled)


@bp.post("/api/send")
def send() -> Response:
    """Deliver one message to the real webhook the way WeChat would; return both sides raw and parsed."""
    bot = _bot()
    data = request.get_json(silent=True) or {}
    openid = str(data.get("openid", ""))
    if openid not in {o for o, _ in CITIZENS}:
        abort(400, "没有这个模拟用户")
    kind, fields = fields_for(data)
    fake = current_app.extensions.get("fake_wechat")
    if fake is not None:
        # The real WeChat knows when a citizen wrote (the 48-hour window); the fake learns it here.
        fake.record_push(openid, kind, str(fields.get("Event", "")))
    created = int(bot.clock.now().timestamp())
    xml = build_message(openid, kind, fields, created)
    # Signed at the bot's clock, as WeChat signs at its own: the webhook refuses timestamps far from it.
    aes = bool(data.get("aes")) and bot.config.aes_enabled
    signer = PushSigner(bot.gateway)
    push = signer.push(xml, timestamp=str(created), nonce=secrets.token_hex(5), mode="aes" if aes else "plain",
                       account=ACCOUNT, openid=openid)
    response = current_app.test_client().post(push.url(), data=push.body.encode("utf-8"), content_type="text/xml")
    reply_body = response.get_data(as_text=True)
    reply_xml = reply_body
    if aes and response.status_code == 200 and reply_body.startswith("<xml>"):
        reply_xml = signer.open_reply(reply_body)
    return jsonify(status=response.status_code, request_xml=xml, request_body=push.body, reply_body=reply_body,
                   reply_xml=reply_xml, reply=parse_reply(reply_xml, response.status_code))


@bp.post("/api/subscribe")
def accept_subscribe() -> Response:
    """The citizen taps 同意 in a 订阅通知 popup (as under an article's 订阅 button) for every template
    the account has configured: the fake WeChat lets one notice of each through and pushes
    subscribe_msg_popup_event to the webhook, where the bot records the consent."""
    bot = _bot()
    data = request.get_json(silent=True) or {}
    openid = str(data.get("openid", ""))
    if openid not in {o for o, _ in CITIZENS}:
        abort(400, "没有这个模拟用户")
    fake = current_app.extensions.get("fake_wechat")
    if fake is None:
        abort(404, "本进程没有模拟的微信接口（请用 python -m bot demo 启动）")
    templates = sorted({template.template_id for purpose in notice_templates.PURPOSES
                        if (template := notice_templates.configured(bot.config.push, purpose, "subscribe"))})
    if bot.config.wechat.account_type != "service" or not templates:
        abort(400, "本公众号没有配置订阅通知：需要服务号（[wechat] account_type = \"service\"），"
                   "并设置 [push] report_status_subscribe 或 quiz_prize_subscribe")
    pushes_itself = fake.event_sink is not None  # the demo's fake posts its events to the webhook
    xml = fake.subscribe_popup(openid, dict.fromkeys(templates, "accept"), account=ACCOUNT)
    status = 200 if pushes_itself else post_to_webhook(current_app, xml)
    return jsonify(status=status, request_xml=xml, templates=templates)


@bp.get("/api/pushes")
def pushes() -> Response:
    """Messages the fake WeChat API delivered to a citizen (status notices, prizes, broadcasts...)."""
    fake = current_app.extensions.get("fake_wechat")
    if fake is None:
        abort(404, "本进程没有模拟的微信接口（请用 python -m bot demo 启动）")
    openid = request.args.get("openid", "")
    after = request.args.get("after", 0, type=int)
    delivered = fake.sent_to(openid)
    items = [{"id": index, "channel": d.channel, "at": d.at.isoformat(), "reply": push_as_reply(d.message, fake, d.channel)}
             for index, d in enumerate(delivered, start=1) if index > after]
    return jsonify(pushes=items)


def push_as_reply(message: dict[str, Any], fake: Any = None, channel: str = "") -> dict[str, Any]:
    """A pushed message in the shape the chat renders (customer-service, template, 订阅通知 or mass send)."""
    kind = message.get("msgtype")
    if kind == "mpnews" and fake is not None:
        return article_card(fake, str(message.get("mpnews", {}).get("media_id", "")))
    if kind == "text":
        return {"type": "text", "content": message.get("text", {}).get("content", "")}
    if kind == "news":
        return {"type": "news", "articles": [
            {"title": a.get("title", ""), "description": a.get("description", ""), "url": a.get("url", ""),
             "image": a.get("picurl", "")} for a in message.get("news", {}).get("articles", [])]}
    if "template_id" in message:
        data = message.get("data", {})
        lines = [str(v.get("value", "")) if isinstance(v, dict) else str(v) for v in data.values()]
        label = "【订阅通知】" if channel == "subscribe" else "【模板消息】"
        return {"type": "text", "content": label + "\n" + "\n".join(lines)}
    return {"type": "text", "content": str(message)}


def article_card(fake: Any, media_id: str) -> dict[str, Any]:
    """A mass-sent article as a follower's chat shows it: cover, title, digest, and 阅读原文."""
    found = fake.article(media_id)
    if not found:
        return {"type": "text", "content": f"[图文消息 {media_id}]"}
    first = found[0]
    return {"type": "article", "title": first.get("title", ""), "digest": first.get("digest", ""),
            "cover": f"/simulator/material/{first.get('thumb_media_id', '')}",
            "source": first.get("content_source_url", ""), "author": first.get("author", "")}


@bp.get("/material/<media_id>")
def material(media_id: str) -> Response:
    """A permanent image (an article's cover) from the fake, on this page's own origin (its CSP)."""
    fake = current_app.extensions.get("fake_wechat")
    found = fake.material(media_id) if fake is not None else None
    if found is None:
        abort(404)
    return Response(found[0], mimetype=found[1])


def post_to_webhook(app: Flask, xml: str) -> int:
    """Push one XML (e.g. the fake's MASSSENDJOBFINISH) to this app's webhook as WeChat would: signed,
    and encrypted when the account is in safe mode. Returns the HTTP status."""
    bot: Bot = app.extensions["bot"]
    push = PushSigner(bot.gateway).push(xml, timestamp=str(int(bot.clock.now().timestamp())),
                                        nonce=secrets.token_hex(5), mode="aes" if bot.config.aes_enabled else "plain",
                                        account=ACCOUNT)
    response = app.test_client().post(push.url(), data=push.body.encode("utf-8"), content_type="text/xml")
    return response.status_code


@bp.post("/api/upload")
def upload() -> Response:
    """A photo the citizen picked: it becomes temporary media the fake WeChat API serves, as WeChat would."""
    fake = current_app.extensions.get("fake_wechat")
    if fake is None:
        abort(404, "本进程没有模拟的微信接口（请用 python -m bot demo 启动）")
    photo = request.files.get("photo")
    if photo is None:
        abort(400, "没有选择照片")
    content = photo.read()
    if not content or len(content) > 10 * 1024 * 1024:
        abort(413, "照片须大于 0 字节、不超过 10 MB")
    media_id = fake.add_media(content, photo.mimetype or "image/jpeg")
    return jsonify(media_id=media_id, pic_url=f"{request.host_url.rstrip('/')}/simulator/media/{media_id}")


@bp.get("/media/<media_id>")
def media(media_id: str) -> Response:
    fake = current_app.extensions.get("fake_wechat")
    if fake is None:
        abort(404)
    from bot.wechat.fake import WeChatError

    try:
        content, mimetype = fake.media_get(media_id)
    except WeChatError:
        abort(404)  # expired (3 days) or never uploaded
    return uploaded_file(content, mimetype, media_id)


# An upload's type is what the browser claimed: only these are served as what they say they are.
SAFE_IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def uploaded_file(content: bytes, claimed_type: str, name: str) -> Response:
    """An uploaded file served so that it can never run as a page of this site: an attachment of an
    image type (anything else as opaque bytes), not sniffed; an <img> still shows it."""
    mimetype = claimed_type if claimed_type in SAFE_IMAGE_TYPES else "application/octet-stream"
    response = Response(content, mimetype=mimetype)
    safe_name = "".join(c for c in name if c.isalnum() or c in "-_")[:64] or "media"
    response.headers["Content-Disposition"] = f"attachment; filename={safe_name}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def parse_reply(xml: str, status: int) -> dict[str, Any]:
    """The reply as the chat shows it: text, news articles or an image."""
    if status != 200:
        return {"type": "error", "status": status}
    if not xml.startswith("<xml>"):
        return {"type": "none"}
    fields = xmltodict.parse(xml)["xml"]
    kind = fields.get("MsgType")
    if kind == "text":
        return {"type": "text", "content": fields.get("Content") or ""}
    if kind == "news":
        items = fields["Articles"]["item"]
        items = items if isinstance(items, list) else [items]
        return {"type": "news", "articles": [{"title": i.get("Title") or "", "description": i.get("Description") or "",
                                              "url": i.get("Url") or "", "image": i.get("PicUrl") or ""} for i in items]}
    if kind == "image":
        return {"type": "image", "media_id": fields["Image"]["MediaId"]}
    return {"type": "unknown", "raw": xml}


def init_app(app: Flask, bot: Bot) -> None:
    if bot.config.server.mode in ("dev", "demo"):
        app.register_blueprint(bp)
