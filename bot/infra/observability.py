"""Metrics (Prometheus text at /metrics) and logs: one JSON object a line in production, with signing
and credential query parameters redacted from every line (openids are logged as IdentityVault.sender)."""

from __future__ import annotations

import json
import logging
import re
from typing import IO

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """One registry per app, so tests that build many apps never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("smb_requests_total", "HTTP requests", ["route", "outcome"], registry=r)
        self.latency = Histogram("smb_request_seconds", "HTTP request latency", ["route"], registry=r,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8))
        self.handler_errors = Counter("smb_handler_errors_total", "handler exceptions", ["router"], registry=r)
        self.dedupe_hits = Counter("smb_dedupe_hits_total", "WeChat retries answered from the first reply",
                                   registry=r)
        self.refused_pushes = Counter("smb_refused_pushes_total", "pushes refused before parsing: stale or "
                                      "replayed signatures, plaintext in safe mode", ["reason"], registry=r)
        self.store_errors = Counter("smb_store_errors_total", "store (Redis) failures", registry=r)
        self.db_errors = Counter("smb_db_errors_total", "database failures", registry=r)
        self.degraded = Counter("smb_degraded_messages_total", "messages handled without the store", registry=r)
        self.outbox_backlog = Gauge("smb_outbox_backlog", "deliveries not yet sent", ["status"], registry=r)
        self.deliveries = Counter("smb_deliveries_total", "delivery attempts", ["channel", "result"], registry=r)
        self.scheduler_runs = Counter("smb_scheduler_runs_total", "scheduler job runs", ["job", "outcome"],
                                      registry=r)


# Query parameters that sign a push (enough to replay it), name its sender, or hold a credential: the
# webhook's signature/timestamp/nonce/openid/msg_signature/echostr, the token URL's secret, every API
# call's access_token. werkzeug's request lines (the demo), urllib3's debug lines and exception texts
# (a MaxRetryError names the URL) would print them otherwise.
_SECRET_PARAMETER = re.compile(
    r"(?i)\b(signature|msg_signature|timestamp|nonce|openid|echostr|secret|appsecret|access_token|"
    r"component_access_token|code)=[^&\s\"'<>]*")


def redact(text: str) -> str:
    """`text` with the values of signing, identifying and credential query parameters replaced."""
    return _SECRET_PARAMETER.sub(r"\1=-", text) if "=" in text else text


class RedactSecrets(logging.Filter):
    """On a handler: every record it writes, message and traceback, goes through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line (production)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(mode: str, stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    if mode == "production":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
