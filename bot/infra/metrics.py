"""GET /metrics in Prometheus text format, and per-request counters and latency."""

from __future__ import annotations

import hmac
import time
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from bot.models.outbox import Delivery, DeliveryStatus

if TYPE_CHECKING:  # the Bot only as a type: infra sits below the app that wires it
    from bot.runtime import Bot

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    bot: Bot = current_app.extensions["bot"]
    _require_token(bot.config.server.metrics_token)
    with bot.db.session() as session:
        counts = dict(session.execute(
            select(Delivery.status, func.count(Delivery.id))
            .where(Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
            .group_by(Delivery.status)).all())
    for status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        bot.metrics.outbox_backlog.labels(status).set(counts.get(status, 0))
    return Response(generate_latest(bot.metrics.registry), mimetype=CONTENT_TYPE_LATEST)


def _require_token(token: str) -> None:
    if not token:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        abort(Response("401 需要监控令牌（Authorization: Bearer …）\n", 401, {"WWW-Authenticate": "Bearer"},
                       mimetype="text/plain"))


def init_app(app: Flask, bot: Bot) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        outcome = f"{response.status_code // 100}xx"
        bot.metrics.requests.labels(route, outcome).inc()
        if "started" in g:
            bot.metrics.latency.labels(route).observe(time.perf_counter() - g.started)
        return response
