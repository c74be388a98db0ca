"""GET/POST /wechat (the WeChat server protocol) and GET /healthz. Thin: the work is in messages.py."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Request, Response, abort, current_app, jsonify, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from bot import messages
from bot.observability import anon
from bot.replies import Text, render
from bot.runtime import Bot
from bot.wechat.gateway import BadSignature, WrongApp
from bot.wechat.inbound import MalformedMessage, UnknownKind, parse_inbound

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)


def current_bot() -> Bot:
    return current_app.extensions["bot"]


def _check_signature(bot: Bot) -> None:
    try:
        bot.gateway.check_signature(request.args.get("signature", ""), request.args.get("timestamp", ""),
                                    request.args.get("nonce", ""))
    except BadSignature:
        abort(403)


class SessionsExceptForWeChat(SecureCookieSessionInterface):
    """WeChat's pushes carry no cookie and need none: skip building the signed cookie session for
    them (it cost ~5% of a message's time)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path == "/wechat":
            return self.make_null_session(app)
        return super().open_session(app, request)


@bp.get("/wechat")
def verify() -> Response:
    """URL verification: echo `echostr` (plaintext even in safe mode) when the signature is right."""
    _check_signature(current_bot())
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def receive() -> Response:
    bot = current_bot()
    _check_signature(bot)
    encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
    timestamp, nonce = request.args.get("timestamp", ""), request.args.get("nonce", "")
    try:
        body = request.get_data().decode("utf-8")
        if encrypted:
            body = bot.gateway.decrypt(body, request.args.get("msg_signature", ""), timestamp, nonce)
        msg = parse_inbound(body)
    except BadSignature:
        abort(403)
    except (MalformedMessage, WrongApp, UnicodeDecodeError) as exc:
        log.warning("rejected push: %s", exc)
        abort(400)
    except UnknownKind as exc:
        log.info("ignored push of unknown kind %s", exc)
        return Response("success", mimetype="text/plain")
    try:
        out = messages.handle(bot, msg)
    except Exception:
        # The store itself failed (dedupe or lock). Never a 500 to WeChat: it would retry into the same wall.
        log.exception("message path failed for openid=%s msg=%s", anon(msg.openid), msg.dedupe_key)
        out = render(Text(bot.content.replies["apology"]), msg)
    if out == "success":
        return Response("success", mimetype="text/plain")
    if encrypted:
        out = bot.gateway.encrypt(out, nonce, str(int(time.time())))
    return Response(out, mimetype="application/xml")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    bot = current_bot()
    checks = {"database": _probe(bot.db.ping), "store": _probe(bot.store.ping)}
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "unavailable", **checks), 200 if ok else 503


def _probe(check) -> str:  # noqa: ANN001 - a no-argument callable
    try:
        return "ok" if check() else "error"
    except Exception as exc:
        log.warning("health check failed: %s", type(exc).__name__)
        return "error"
