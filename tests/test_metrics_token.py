"""/metrics behind a bearer token when `[server] metrics_token` is set (issue 19: an open /metrics)."""

from __future__ import annotations

from bot import create_app
from tests.settings import make_config


def _client(database_url: str, clock, store, token: str):
    app = create_app(make_config(database_url, server={"metrics_token": token}), clock=clock, store=store)
    return app


def test_metrics_refused_without_the_token(database_url, clock, store) -> None:
    app = _client(database_url, clock, store, "s3cret-metrics-token-for-tests")
    try:
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token-for-tests"})
        assert ok.status_code == 200 and "smb_requests_total" in ok.get_data(as_text=True)
    finally:
        app.extensions["bot"].close()


def test_metrics_open_when_no_token_is_configured(app) -> None:
    assert app.test_client().get("/metrics").status_code == 200
