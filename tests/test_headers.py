"""Security headers on every response, uploads that cannot run as pages, exports that a link cannot
trigger (issue 17 item 14). Each test failed on the code before the fix."""

from __future__ import annotations

import io

import pytest

from bot import create_app
from bot.models import AuditEntry
from tests.console import ConsoleClient, add_staff
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

# Random-looking secrets: production refuses the samples and short keys.
PRODUCTION = {"server": {"mode": "production", "secret_key": "pT7wQ2vL9xK4mZ8rB3nF6hJ1sD5gY0cA-e_uWiOqRtE"},
              "wechat": {"app_secret": "real-app-secret-9f8e7d", "token": "real-token-4c3b2a"},
              "security": {"identity_key": "Hq4Lz8Wm2Xv6Np0Rk3Ts7Yb1Jd5Gf9Ca-Ue_Io8Pw2Qs"}}


def every_kind_of_response(client) -> dict[str, object]:
    return {"healthz": client.get("/healthz"), "metrics": client.get("/metrics"),
            "bad push": client.post("/wechat?signature=0&timestamp=1&nonce=2", data=b"<xml/>"),
            "not found": client.get("/no-such-page"), "console login": client.get("/console/login")}


def test_every_response_says_nosniff(app) -> None:
    client = app.test_client()
    responses = every_kind_of_response(client)
    server = WeChatServer(client, TOKEN, APP_ID, AES_KEY, mode="plain", clock=app.extensions["bot"].clock)
    responses["push"] = client.post("/wechat?" + "&".join(f"{k}={v}" for k, v in server.query().items()),
                                    data=Citizen(server, "o_h")._envelope("text", "<Content>帮助</Content>").encode())
    assert responses["push"].status_code == 200
    for name, response in responses.items():
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert "Strict-Transport-Security" not in response.headers, name  # not outside production


def test_html_pages_forbid_framing_and_foreign_scripts(app) -> None:
    client = app.test_client()
    for path in ("/simulator/", "/no-such-page", "/console/login"):
        response = client.get(path)
        assert response.mimetype == "text/html", path
        policy = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, path


def test_production_sends_hsts_on_every_response(config, clock, store) -> None:
    app = create_app(config.replace(**PRODUCTION), clock=clock, store=store)
    try:
        for name, response in every_kind_of_response(app.test_client()).items():
            assert response.headers.get("Strict-Transport-Security", "").startswith("max-age="), name
    finally:
        app.extensions["bot"].close()


@pytest.fixture
def demo_app(config, clock, store, fake_wechat):
    app = create_app(config, clock=clock, store=store)
    app.extensions["fake_wechat"] = fake_wechat
    yield app
    app.extensions["bot"].close()


@pytest.mark.parametrize("claimed", ["text/html", "image/svg+xml", "application/xhtml+xml"])
def test_an_uploaded_page_is_never_served_as_a_page(demo_app, claimed: str) -> None:
    client = demo_app.test_client()
    page = b"<html><script>alert(document.cookie)</script></html>"
    uploaded = client.post("/simulator/api/upload", data={"photo": (io.BytesIO(page), "x.html", claimed)},
                           content_type="multipart/form-data").get_json()
    served = client.get(f"/simulator/media/{uploaded['media_id']}")
    assert served.data == page
    assert served.mimetype == "application/octet-stream"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_an_uploaded_photo_keeps_its_image_type(demo_app) -> None:
    client = demo_app.test_client()
    uploaded = client.post("/simulator/api/upload", data={"photo": (io.BytesIO(b"\xff\xd8jpeg"), "p.jpg", "image/jpeg")},
                           content_type="multipart/form-data").get_json()
    served = client.get(f"/simulator/media/{uploaded['media_id']}")
    assert served.mimetype == "image/jpeg" and served.headers["Content-Disposition"].startswith("attachment")


def logged_in(app, role: str = "admin", username: str = "boss") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def audit_actions(app) -> list[str]:
    with app.extensions["bot"].db.session() as s:
        return [row.action for row in s.query(AuditEntry).all()]


def test_exports_are_posts_with_csrf(app) -> None:
    """A GET (an <img src> on any page a reviewer opens) or a POST without the token writes no audit
    row and exports nothing."""
    reviewer = logged_in(app, "reviewer", "li")
    before = audit_actions(app)
    assert reviewer.get("/console/reports/export?format=csv").status_code in (404, 405)  # /reports/<ticket> answers a GET
    assert reviewer.client.post("/console/reports/export", data={"format": "csv"}).status_code == 400
    assert audit_actions(app) == before
    response = reviewer.post("/console/reports/export", {"format": "csv"})
    assert response.status_code == 200 and audit_actions(app)[-1] == "report.export"


def test_the_draw_list_download_is_a_post_with_csrf(app) -> None:
    console = logged_in(app)
    assert console.get("/console/quiz/draws/1/entries").status_code == 405
    assert console.client.post("/console/quiz/draws/1/entries").status_code == 400
