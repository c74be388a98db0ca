"""GET/POST /wechat (the WeChat server protocol) and GET /healthz. Thin: the work is in messages.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, current_app, jsonify, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Request as WerkzeugRequest

from bot import messages
from bot.observability import anon
from bot.replies import Text, render
from bot.runtime import Bot
from bot.wechat.gateway import BadSignature, WrongApp
from bot.wechat.inbound import MalformedMessage, UnknownKind, parse_inbound

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)


def current_bot() -> Bot:
    return current_app.extensions["bot"]


def _check_signature(bot: Bot, args: MultiDict[str, str]) -> None:
    try:
        bot.gateway.check_signature(args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except BadSignature:
        abort(403)


@bp.get("/wechat")
def verify() -> Response:
    """URL verification: echo `echostr` (plaintext even in safe mode) when the signature is right."""
    _check_signature(current_bot(), request.args)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


class PushesBelowFlask:
    """Answers POST /wechat straight from WSGI and hands every other request to Flask.

    A push needs none of Flask's request context, URL matching, cookie session or hooks, and they
    were ~150 µs of each message (issue 9's profile); the request is still werkzeug's, with the
    same body limit (413), and counted in the same metrics.
    """

    def __init__(self, flask_app: WSGIApplication, bot: Bot, max_body_bytes: int) -> None:
        self.flask_app = flask_app
        self.bot = bot
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/wechat" or environ.get("REQUEST_METHOD") != "POST":
            return self.flask_app(environ, start_response)
        started = time.perf_counter()
        push = WerkzeugRequest(environ)
        push.max_content_length = self.max_body_bytes
        try:
            response = receive(self.bot, push)
        except HTTPException as exc:
            response = exc.get_response(environ)
        except Exception:
            log.exception("push failed")
            response = InternalServerError().get_response(environ)
        metrics = self.bot.metrics
        metrics.requests.labels("/wechat", f"{response.status_code // 100}xx").inc()
        metrics.latency.labels("/wechat").observe(time.perf_counter() - started)
        return response(environ, start_response)


def receive(bot: Bot, push: WerkzeugRequest) -> Response:
    """One push: signature, decryption, the message's path, the (encrypted) reply."""
    args = push.args
    _check_signature(bot, args)
    encrypted = args.get("encrypt_type", "raw").lower() == "aes"
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    try:
        body = push.get_data().decode("utf-8")
        if encrypted:
            body = bot.gateway.decrypt(body, args.get("msg_signature", ""), timestamp, nonce)
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
