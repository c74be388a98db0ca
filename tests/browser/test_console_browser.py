"""The staff console in Debian's chromium: login, pages, throttling, CSRF, roles, stored XSS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.models import StaffUser
from tests.browser.conftest import serve
from tests.console import PASSWORD, add_staff
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

pytestmark = pytest.mark.browser


def log_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def staff_count(app: Any, username: str) -> int:
    with app.extensions["bot"].db.session() as session:
        return session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.username == username))


def test_admin_logs_in_and_sees_every_page(app, live_server, page, screenshot) -> None:
    add_staff(app, "boss", "admin")
    page.goto(f"{live_server}/console/")
    assert page.url.startswith(f"{live_server}/console/login")
    screenshot(page, "console-login")
    log_in(page, live_server, "boss")
    page.wait_for_url(f"{live_server}/console/")
    assert page.locator("h1").first.inner_text().startswith("数据看板")
    assert page.locator("[data-panel=followers] svg").count() == 1
    assert page.locator("[data-panel=deliveries] svg").count() == 1
    screenshot(page, "console-dashboard")
    for label, name in (("内容", "content"), ("人员管理", "staff"), ("操作日志", "audit")):
        page.click(f"nav.nav >> text=\"{label}\"")  # exact: 推送内容 holds 内容 too
        page.wait_for_load_state()
        assert page.locator("nav.nav a.active").inner_text() == label
        screenshot(page, f"console-{name}")
    page.goto(f"{live_server}/console/content")
    assert "内容由技术人员在服务器上的内容文件中修改" in page.locator("#edit-in-files").inner_text()
    page.click("text=退出登录")
    page.wait_for_url(re.compile(r".*/console/login$"))
    assert "已退出登录" in page.content()


def test_wrong_passwords_lock_the_login(app, live_server, page, screenshot) -> None:
    add_staff(app, "wang", "reviewer")
    for _ in range(app.extensions["bot"].config.console.login_attempts):
        log_in(page, live_server, "wang", "wrong-password")
        assert page.locator("#login-error").inner_text() == "用户名或密码错误。"
    log_in(page, live_server, "wang")
    assert "登录失败次数过多" in page.locator("#login-error").inner_text()
    assert page.url.endswith("/console/login")
    screenshot(page, "console-login-locked")


@pytest.fixture
def forger() -> Iterator[Any]:
    """Another origin serving a page that the attacker controls; set `forger.html` before visiting."""

    class Forger:
        html = ""

        def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [self.html.encode()]

    site = Forger()
    for base in serve(site):
        site.base = base
        yield site


def test_forged_posts_are_refused(app, live_server, page, forger) -> None:
    add_staff(app, "boss", "admin")
    log_in(page, live_server, "boss")
    page.wait_for_url(f"{live_server}/console/")
    # A script on the console's own origin without the token (e.g. injected) is refused ...
    status = page.evaluate("""async () => {
        const body = new URLSearchParams({username: "mole1", role: "admin"});
        return (await fetch("/console/staff/add", {method: "POST", body})).status; }""")
    assert status == 400
    # ... and so is a form on another site that the logged-in admin is lured to.
    forger.html = (f'<form id="f" method="post" action="{live_server}/console/staff/add">'
                   '<input name="username" value="mole2"><input name="role" value="admin"></form>'
                   '<script>document.getElementById("f").submit()</script>')
    page.goto(forger.base)
    page.wait_for_url(f"{live_server}/console/staff/add")
    assert "表单已失效" in page.content()
    assert staff_count(app, "mole1") == staff_count(app, "mole2") == 0


def test_roles_see_and_reach_only_their_pages(app, live_server, new_page, screenshot) -> None:
    add_staff(app, "wang", "reviewer")
    add_staff(app, "zhao", "editor")
    for username in ("wang", "zhao"):
        page = new_page()
        log_in(page, live_server, username)
        page.wait_for_url(f"{live_server}/console/")
        nav = page.locator("nav.nav").inner_text()
        assert "数据看板" in nav and "内容" in nav
        assert "人员管理" not in nav and "操作日志" not in nav
        page.goto(f"{live_server}/console/staff")
        assert "没有权限" in page.locator("h1").inner_text()
        screenshot(page, f"console-forbidden-{username}")
        response = page.request.post(f"{live_server}/console/staff/add", form={"username": "x1", "role": "admin"})
        assert response.status in (400, 403)
    assert staff_count(app, "x1") == 0


def test_admin_creates_an_account_that_can_log_in(app, live_server, new_page, screenshot) -> None:
    add_staff(app, "boss", "admin")
    page = new_page()
    log_in(page, live_server, "boss")
    page.goto(f"{live_server}/console/staff")
    page.fill("#add-staff input[name=username]", "liu")
    page.select_option("#add-staff select[name=role]", "editor")
    page.click("#add-staff button[type=submit]")
    password = page.locator("#new-password").inner_text()
    screenshot(page, "console-new-password")
    other = new_page()
    log_in(other, live_server, "liu", password)
    # A generated password is the administrator's: the first login sets one of liu's own first.
    other.wait_for_url(f"{live_server}/console/account")
    other.goto(f"{live_server}/console/reports")
    other.wait_for_url(f"{live_server}/console/account")
    other.fill("#change-password input[name=current]", password)
    other.fill("#change-password input[name=new]", "刘编辑的新密码-2021-安全月")
    other.fill("#change-password input[name=repeat]", "刘编辑的新密码-2021-安全月")
    other.click("#change-password button[type=submit]")
    other.goto(f"{live_server}/console/")
    other.wait_for_url(f"{live_server}/console/")
    assert "liu（编辑）" in other.locator(".who").inner_text()
    # Resetting asks first (a dialog), then ends liu's session.
    page.goto(f"{live_server}/console/staff")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.locator("tr[data-username=liu] >> text=重置密码").click()
    page.wait_for_selector("#new-password")
    assert questions and "重置" in questions[0]
    other.reload()
    assert other.url.startswith(f"{live_server}/console/login")


XSS = ['<script>window.__xss=1</script>', '<img src=x onerror="window.__xss=2">',
       'javascript:window.__xss=3', '"><svg onload=window.__xss=4>']


def test_citizen_text_never_executes(app, live_server, page, screenshot, clock) -> None:
    """Stored XSS: scene texts from the signed webhook are shown, as text, and nothing in them runs."""
    wechat = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="aes", clock=clock)
    for number, payload in enumerate(XSS):
        clock.advance(minutes=1)
        assert Citizen(wechat, f"o_xss_{number}").follow(payload).status == 200
    add_staff(app, "boss", "admin")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server, "boss")
    page.wait_for_url(f"{live_server}/console/")
    page.wait_for_load_state("load")
    panel = page.locator("[data-panel=recent_followers]")
    shown = panel.inner_text()
    for payload in XSS:
        assert payload in shown  # visible, literally
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert panel.locator("script, img, svg").count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0
    screenshot(page, "console-dashboard-xss")


def test_dashboard_in_the_browser_matches_the_database(app, live_server, page, screenshot, clock) -> None:
    from tests.test_console_pages import expected_figure, make_history

    wechat = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)
    make_history(app, lambda openid: Citizen(wechat, openid), clock)
    add_staff(app, "boss", "admin")
    log_in(page, live_server, "boss")
    page.wait_for_url(f"{live_server}/console/")
    page.click("text=按日明细")
    shown = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-figure]')]
        .map(e => [e.dataset.figure, e.dataset.value]))""")
    assert len(shown) > 20
    with app.extensions["bot"].db.session() as session:
        for key, value in shown.items():
            assert int(value) == expected_figure(session, key), key
    # What a person reads is the same number as the attribute.
    assert page.locator('[data-figure="followers.following"]').inner_text() == shown["followers.following"]
    screenshot(page, "console-dashboard-history")
