"""Metrics (Prometheus text at /metrics) and structured logs with openids hashed."""

from __future__ import annotations

import json
import logging

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


class JsonFormatter(logging.Formatter):
    """One JSON object a line (production)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(mode: str) -> None:
    handler = logging.StreamHandler()
    if mode == "production":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
