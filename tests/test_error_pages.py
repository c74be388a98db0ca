"""Error pages in Chinese with a way back on the console and the simulator; /wechat answered as before
(issue 20: staff saw Werkzeug's English "Request Entity Too Large" with no way back)."""

from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import Forbidden, NotFound, TooManyRequests

from bot.infra.error_pages import chinese_error
from tests.console import ConsoleClient, add_staff

# Werkzeug's English page titles: none of them may reach staff.
ENGLISH = re.compile(r"Not Found|Method Not Allowed|Request Entity Too Large|Too Many Requests|Internal Server Error")


@pytest.fixture
def admin(app) -> ConsoleClient:
    add_staff(app, "wang", "admin")
    console = ConsoleClient(app.test_client())
    assert console.login("wang").status_code == 302
    return console


def assert_chinese_page(response, code: int, title: str, home: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert title in html
    assert not ENGLISH.search(html), html
    assert f'href="{home}" data-home' in html
    return html


def test_unknown_console_address_is_a_chinese_404_with_a_way_home(admin) -> None:
    html = assert_chinese_page(admin.get("/console/no-such-page"), 404, "页面不存在", "/console/")
    assert "wang" in html  # the console's own layout, with the logged-in header


def test_anonymous_unknown_address_offers_the_login_page(app) -> None:
    assert_chinese_page(app.test_client().get("/console/no-such-page"), 404, "页面不存在", "/console/login")


def test_wrong_method_is_a_chinese_405_that_still_names_the_allowed_methods(admin) -> None:
    response = admin.client.delete("/console/")
    assert_chinese_page(response, 405, "操作方式不对", "/console/")
    assert "GET" in response.headers["Allow"]


def test_oversized_form_is_a_chinese_413_with_a_link_back(admin) -> None:
    body = {"csrf_token": admin.token(), "note": "字" * 70_000}
    response = admin.client.post("/console/account/password", data=body, headers={"Referer": "http://localhost/console/account"})
    html = assert_chinese_page(response, 413, "提交的内容太大", "/console/")
    assert 'href="http://localhost/console/account" data-back' in html


def test_a_back_link_never_points_off_site(admin) -> None:
    html = admin.client.get("/console/nowhere", headers={"Referer": "https://evil.example/console/"}).get_data(as_text=True)
    assert "evil.example" not in html and "data-back" not in html


def test_too_many_requests_is_chinese(app) -> None:
    with app.test_request_context("/console/reports"):
        response = chinese_error(TooManyRequests())
    assert response.status_code == 429
    assert "操作太频繁" in response.get_data(as_text=True)


def test_a_crash_is_a_chinese_500_on_console_and_simulator(app, admin) -> None:
    app.testing = False  # let Flask answer the exception as in production instead of raising it here

    def crash() -> str:
        raise RuntimeError("boom")

    app.view_functions["console.dashboard"] = crash
    app.view_functions["simulator.page"] = crash
    assert_chinese_page(admin.get("/console/"), 500, "系统暂时出错", "/console/")
    html = assert_chinese_page(app.test_client().get("/simulator/"), 500, "系统暂时出错", "/simulator/")
    assert "boom" not in html


def test_simulator_pages_and_api_answer_in_chinese(app) -> None:
    client = app.test_client()
    assert_chinese_page(client.get("/simulator/nowhere"), 404, "页面不存在", "/simulator/")
    refused = client.post("/simulator/api/send", json={"openid": "o_stranger", "type": "text", "text": "你好"})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "没有这个模拟用户"
    big = client.post("/simulator/api/send", data="x" * 70_000, content_type="application/json")
    assert big.status_code == 413 and "超过了系统允许的大小" in big.get_json()["error"]


def test_webhook_answers_stay_exactly_as_wechat_needs_them(app) -> None:
    client = app.test_client()
    unsigned = client.get("/wechat?signature=x&timestamp=1&nonce=2&echostr=3")
    assert unsigned.status_code == 403
    assert unsigned.get_data() == Forbidden().get_body().encode()
    assert client.get("/wechat/nowhere").get_data() == NotFound().get_body().encode()


def test_no_simulator_in_production_stays_a_plain_404(config, clock) -> None:
    from bot import create_app

    prod = config.replace(server={"mode": "production", "secret_key": "aDMNP9HXHyE3r7Uj-HXOQxCZrNJKhqxh2mZscKl5GrA"},
                          wechat={"app_secret": "real", "token": "realtoken", "encoding_aes_key": "Z" * 43},
                          security={"identity_key": "2b404ca73e7cd48243d2fb47ba74487757fb68b78618a3e17f3b0d79dc0470e7"})
    production = create_app(prod, clock=clock)
    response = production.test_client().get("/simulator/")
    assert response.status_code == 404
    assert response.get_data() == NotFound().get_body().encode()
    production.extensions["bot"].close()
