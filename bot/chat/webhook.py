"""GET/POST /wechat (the WeChat server protocol) and GET /healthz. Thin: the work is in messages.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, RequestEntityTooLarge

from bot.chat import pipeline as messages
from bot.infra.headers import response_headers
from bot.infra.store import StoreError
from bot.runtime import Bot
from bot.wechat.gateway import BadSignature, NotEncrypted, PlaintextRefused, WrongApp
from bot.wechat.inbound import CITIZEN_TEXT_CAP, Inbound, MalformedMessage, UnknownKind, from_fields, parse_xml
from bot.wechat.replay import ReplayedSignature, StaleSignature
from bot.wechat.replies import Text, render

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)


TOO_LONG = f"您发的文字太长了（一条最多{CITIZEN_TEXT_CAP}个字），请分成几条发送。"


def current_bot() -> Bot:
    return current_app.extensions["bot"]


def _check_signature(bot: Bot, args: Mapping[str, str]) -> None:
    """The signature, and its timestamp within the window around the clock (403 otherwise)."""
    try:
        bot.gateway.check_signature(args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except BadSignature:
        abort(403)
    try:
        bot.replay_guard.check_fresh(args.get("timestamp", ""))
    except StaleSignature:
        _refuse(bot, "stale")


def _refuse(bot: Bot, reason: str) -> None:
    """403 for a push whose signature is right but must not count: counted and logged once."""
    bot.metrics.refused_pushes.labels(reason).inc()
    log.warning("refused push: %s", reason)
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
        self.headers = response_headers(bot.config.server.mode == "production")

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
        start_response("200 OK", [("Content-Type", f"{mimetype}; charset=utf-8"), ("Content-Length", str(len(payload))),
                                  *self.headers])
        self._count("2xx", started)
        return [payload]

    def _answer(self, response: Response, environ: WSGIEnvironment, start_response: StartResponse,
                started: float) -> Iterable[bytes]:
        self._count(f"{response.status_code // 100}xx", started)
        for name, value in self.headers:
            response.headers[name] = value
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
    """One push: signature, decryption, the replay check, the message's path; the (encrypted) reply and its type."""
    _check_signature(bot, args)
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    safe = bot.config.wechat.message_mode == "safe" and bool(bot.gateway.encoding_aes_key)
    try:
        xml, fields, encrypted = message_xml(bot, args, raw.decode("utf-8"), safe=safe)
        _claim_signature(bot, timestamp, nonce, xml)
        msg = from_fields(fields, bot.vault.sender)
    except BadSignature:
        abort(403)
    except PlaintextRefused:
        _refuse(bot, "plaintext_in_safe_mode")
    except ReplayedSignature:
        _refuse(bot, "replayed")
    except NotEncrypted as exc:
        if safe:
            _refuse(bot, "plaintext_in_safe_mode")
        log.warning("rejected push: %s", exc)
        abort(400)
    except (MalformedMessage, WrongApp, UnicodeDecodeError) as exc:
        log.warning("rejected push: %s", exc)
        abort(400)
    except UnknownKind as exc:
        log.info("ignored push of unknown kind %s", exc)
        return "success", "text/plain"
    if msg.oversized:
        out = render(Text(TOO_LONG), msg)
    else:
        out = _handle(bot, msg)
    if out == "success":
        return "success", "text/plain"
    if encrypted:
        out = bot.gateway.encrypt(out, nonce, str(int(time.time())))
    return out, "application/xml"


def message_xml(bot: Bot, args: Mapping[str, str], body: str, *, safe: bool) -> tuple[str, dict, bool]:
    """The message that counts (its XML and fields) and whether it came encrypted.

    Safe mode takes only encrypted pushes. In compatible mode a push may carry plaintext fields
    beside Encrypt: only the encrypted part, covered by msg_signature, counts."""
    gateway = bot.gateway
    msg_signature, timestamp, nonce = args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")
    if args.get("encrypt_type", "raw").lower() == "aes":
        xml = gateway.decrypt(body, msg_signature, timestamp, nonce)
        return xml, parse_xml(xml), True
    if safe:
        raise PlaintextRefused("plaintext push in safe mode")
    fields = parse_xml(body)
    if gateway.encoding_aes_key and "Encrypt" in fields:
        xml = gateway.decrypt_fields(fields, msg_signature, timestamp, nonce)
        return xml, parse_xml(xml), True
    return body, fields, False


def _claim_signature(bot: Bot, timestamp: str, nonce: str, xml: str) -> None:
    try:
        bot.replay_guard.claim(timestamp, nonce, xml)
    except StoreError:
        # Stateless messages are still answered while the store is down (degraded); the timestamp
        # window still bounds how long a copied signature works.
        bot.metrics.store_errors.inc()
        log.warning("replay check skipped: store unavailable")


def _handle(bot: Bot, msg: Inbound) -> str:
    try:
        return messages.handle(bot, msg)
    except Exception:
        # The store itself failed (dedupe or lock). Never a 500 to WeChat: it would retry into the same wall.
        log.exception("message path failed for citizen %s msg=%s", msg.sender, msg.dedupe_key)
        return render(Text(bot.content.replies["apology"]), msg)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    bot = current_bot()
    checks = {"database": _probe(bot.db.ping), "store": _probe(bot.store.ping)}
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "unavailable", **checks), 200 if ok else 503


def _probe(check) -> str:
    try:
        return "ok" if check() else "error"
    except Exception as exc:
        log.warning("health check failed: %s", type(exc).__name__)
        return "error"
