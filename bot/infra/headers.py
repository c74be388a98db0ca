"""Security headers on every response, not only the console's pages (issue 17 item 14).

nosniff everywhere (a browser must not read a photo or a CSV as HTML); on HTML a Content-Security-
Policy that allows no inline or foreign script and no framing (clickjacking); HSTS in production,
where the bot is served over HTTPS. A blueprint's own, stricter headers (the console's) are kept.
Pushes to /wechat are answered below Flask (webhook.PushesBelowFlask) with `response_headers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response

if TYPE_CHECKING:  # the Bot only as a type: infra sits below the app that wires it
    from bot.runtime import Bot


HTML_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HSTS = "max-age=31536000; includeSubDomains"


def response_headers(production: bool) -> list[tuple[str, str]]:
    """The headers every response carries, whatever its type."""
    headers = [("X-Content-Type-Options", "nosniff")]
    if production:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def secure(response: Response, production: bool) -> Response:
    for name, value in response_headers(production):
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", HTML_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def init_app(app: Flask, bot: Bot) -> None:
    production = bot.config.server.mode == "production"
    app.after_request(lambda response: secure(response, production))
