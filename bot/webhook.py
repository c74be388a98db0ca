"""GET/POST /wechat (the WeChat server protocol) and GET /healthz. Thin: the work is in messages.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, RequestEntityTooLarge

from bot import messages
from bot.replies import Text, render
from bot.runtime import Bot
from bot.services.reports.identity import vault_of
from bot.wechat.gateway import BadSignature, WrongApp
from bot.wechat.inbound import MalformedMessage, UnknownKind, parse_inbound

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)


def current_bot() -> Bot:
    return current_app.extensions["bot"]


def _check_signature(bot: Bot, args: Mapping[str, str]) -> None:
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
    were ~150 µs of each message (issue 9's profile); nor werkzeug's request and response objects
    (~20 µs more): the query, the body (413 past the limit) and the answer are read and written
    here. Pushes are counted in the same metrics as every other request.
    """

    def __init__(self, flask_app: WSGIApplication, bot: Bot, max_body_bytes: int) -> None:
        self.flask_app = flask_app
        self.bot = bot
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/wechat" or environ.get("REQUEST_METHOD") != "POST":
            return self.flask_app(environ, start_response)
        started = time.perf_counter()
        try:
            text, mimetype = receive(self.bot, query_args(environ), read_body(environ, self.max_body_bytes))
        except HTTPException as exc:
            return self._answer(exc.get_response(environ), environ, start_response, started)
        except Exception:
            log.exception("push failed")
            return self._answer(InternalServerError().get_response(environ), environ, start_response, started)
        payload = text.encode("utf-8")
        start_response("200 OK", [("Content-Type", f"{mimetype}; charset=utf-8"), ("Content-Length", str(len(payload)))])
        self._count("2xx", started)
        return [payload]

    def _answer(self, response: Response, environ: WSGIEnvironment, start_response: StartResponse,
                started: float) -> Iterable[bytes]:
        self._count(f"{response.status_code // 100}xx", started)
        return response(environ, start_response)

    def _count(self, outcome: str, started: float) -> None:
        metrics = self.bot.metrics
        metrics.requests.labels("/wechat", outcome).inc()
        metrics.latency.labels("/wechat").observe(time.perf_counter() - started)


def query_args(environ: WSGIEnvironment) -> dict[str, str]:
    """The query's parameters; the first of a repeated one, as werkzeug's request.args.get gives."""
    args: dict[str, str] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        args.setdefault(name, value)
    return args


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The request body, refused (413) past `limit` bytes before any of it is read."""
    stream = environ["wsgi.input"]
    declared = environ.get("CONTENT_LENGTH") or ""
    if declared:
        if not declared.isdigit():
            raise BadRequest("bad Content-Length")
        if int(declared) > limit:
            raise RequestEntityTooLarge()
        return stream.read(int(declared))
    if environ.get("wsgi.input_terminated"):  # chunked: the server knows where it ends
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestEntityTooLarge()
        return body
    return b""


def receive(bot: Bot, args: Mapping[str, str], raw: bytes) -> tuple[str, str]:
    """One push: signature, decryption, the message's path; the (encrypted) reply and its type."""
    _check_signature(bot, args)
    encrypted = args.get("encrypt_type", "raw").lower() == "aes"
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    try:
        body = raw.decode("utf-8")
        if encrypted:
            body = bot.gateway.decrypt(body, args.get("msg_signature", ""), timestamp, nonce)
        msg = parse_inbound(body, vault_of(bot).sender)
    except BadSignature:
        abort(403)
    except (MalformedMessage, WrongApp, UnicodeDecodeError) as exc:
        log.warning("rejected push: %s", exc)
        abort(400)
    except UnknownKind as exc:
        log.info("ignored push of unknown kind %s", exc)
        return "success", "text/plain"
    try:
        out = messages.handle(bot, msg)
    except Exception:
        # The store itself failed (dedupe or lock). Never a 500 to WeChat: it would retry into the same wall.
        log.exception("message path failed for openid=%s msg=%s", msg.sender, msg.dedupe_key)
        out = render(Text(bot.content.replies["apology"]), msg)
    if out == "success":
        return "success", "text/plain"
    if encrypted:
        out = bot.gateway.encrypt(out, nonce, str(int(time.time())))
    return out, "application/xml"


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
