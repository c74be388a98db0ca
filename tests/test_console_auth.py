"""Logging in and out: throttling, disabled accounts, idle logout, CSRF, cookies, audit of every step."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import create_app
from bot.models import AuditEntry, StaffUser
from tests.console import PASSWORD, ConsoleClient, add_staff


def audit_actions(app) -> list[tuple[str, str]]:
    with app.extensions["bot"].db.session() as session:
        return [(e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_login_and_logout_are_audited(app) -> None:
    add_staff(app, "wang", "reviewer")
    console = ConsoleClient(app.test_client())
    response = console.login("wang")
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    assert "数据看板" in console.get("/console/").get_data(as_text=True)
    assert console.logout().headers["Location"] == "/console/login"
    assert console.get("/console/").status_code == 302
    assert audit_actions(app)[-2:] == [("wang", "login"), ("wang", "logout")]
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(StaffUser.last_login_at).where(StaffUser.username == "wang")) is not None


def test_wrong_password_and_unknown_user_get_the_same_answer(app) -> None:
    add_staff(app, "wang", "reviewer")
    console = ConsoleClient(app.test_client())
    wrong = console.login("wang", "not-the-password")
    unknown = console.login("nobody", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "用户名或密码错误" in response.get_data(as_text=True)
    # An unknown username is not written down (it may be a password typed into the wrong box).
    assert audit_actions(app)[-2:] == [("wang", "login.failed"), ("-", "login.failed")]


def test_login_is_throttled_per_username(app) -> None:
    add_staff(app, "wang", "reviewer")
    attempts = app.extensions["bot"].config.console.login_attempts
    console = ConsoleClient(app.test_client())
    for _ in range(attempts):
        assert console.login("wang", "guess").status_code == 401
    locked = console.login("wang")  # even the right password is refused while locked
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    assert ("wang", "login.throttled") in audit_actions(app)
    # Another account is unaffected (the per-address limit is higher than the per-username one).
    add_staff(app, "li", "editor")
    assert ConsoleClient(app.test_client()).login("li").status_code == 302


def test_success_resets_the_username_count(app) -> None:
    add_staff(app, "wang", "reviewer")
    attempts = app.extensions["bot"].config.console.login_attempts
    console = ConsoleClient(app.test_client())
    for _ in range(attempts - 1):
        console.login("wang", "guess")
    assert console.login("wang").status_code == 302
    console.logout()
    for _ in range(attempts - 1):
        assert console.login("wang", "guess").status_code == 401
    assert console.login("wang").status_code == 302


def test_login_is_throttled_per_address(config, clock, store) -> None:
    app = create_app(config.replace(console={"login_attempts_per_ip": 3}), clock=clock, store=store)
    try:
        add_staff(app, "wang", "reviewer")
        console = ConsoleClient(app.test_client())
        for name in ("a1", "a2", "a3"):
            assert console.login(name, "guess").status_code == 401
        assert console.login("wang").status_code == 429
        elsewhere = ConsoleClient(app.test_client())
        elsewhere.client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
        assert elsewhere.login("wang").status_code == 302
    finally:
        app.extensions["bot"].close()


def test_disabled_account_cannot_log_in_and_loses_its_session(app) -> None:
    add_staff(app, "boss", "admin")
    victim = add_staff(app, "wang", "reviewer")
    wang = ConsoleClient(app.test_client())
    wang.login("wang")
    boss = ConsoleClient(app.test_client())
    boss.login("boss")
    assert boss.post(f"/console/staff/{victim}/disabled", {"disabled": "1"}).status_code == 302
    assert wang.get("/console/").status_code == 302  # the open session ended
    response = ConsoleClient(app.test_client()).login("wang")
    assert response.status_code == 401 and "已停用" in response.get_data(as_text=True)


def test_idle_session_is_logged_out(app, clock) -> None:
    add_staff(app, "wang", "reviewer")
    console = ConsoleClient(app.test_client())
    console.login("wang")
    idle = app.extensions["bot"].config.console.idle_minutes
    clock.advance(minutes=idle - 1)
    assert console.get("/console/").status_code == 200  # activity restarts the idle timer
    clock.advance(minutes=idle - 1)
    assert console.get("/console/").status_code == 200
    clock.advance(minutes=idle + 1)
    response = console.get("/console/")
    assert response.status_code == 302 and response.headers["Location"] == "/console/login"
    assert "自动退出" in console.get("/console/login").get_data(as_text=True)
    assert console.get("/console/").status_code == 302
    assert ("wang", "logout.idle") in audit_actions(app)


def test_forms_without_a_csrf_token_are_refused(app) -> None:
    add_staff(app, "boss", "admin")
    console = ConsoleClient(app.test_client())
    assert console.client.post("/console/login", data={"username": "boss", "password": PASSWORD}).status_code == 400
    console.login("boss")
    forged = console.client.post("/console/staff/add", data={"username": "mole", "role": "admin"})
    assert forged.status_code == 400 and "表单已失效" in forged.get_data(as_text=True)
    bad = console.client.post("/console/staff/add", data={"username": "mole", "role": "admin", "csrf_token": "x"})
    assert bad.status_code == 400
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.username == "mole")) == 0


def test_webhook_needs_no_csrf_token(citizen) -> None:
    assert citizen.follow().status == 200


def test_session_cookie_flags(app) -> None:
    add_staff(app, "wang", "reviewer")
    response = ConsoleClient(app.test_client()).login("wang")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_in_production(config, clock, store) -> None:
    secrets = {"server": {"mode": "production", "secret_key": "aDMNP9HXHyE3r7Uj-HXOQxCZrNJKhqxh2mZscKl5GrA"},
               "wechat": {"app_secret": "real-app-secret", "token": "real-token",
                          "encoding_aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"},
               "security": {"identity_key": "2b404ca73e7cd48243d2fb47ba74487757fb68b78618a3e17f3b0d79dc0470e7"}}
    prod = config.replace(**secrets)
    app = create_app(prod, clock=clock, store=store)
    try:
        add_staff(app, "wang", "reviewer")
        cookie = ConsoleClient(app.test_client()).login("wang").headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        app.extensions["bot"].close()


def test_login_never_redirects_off_site(app) -> None:
    add_staff(app, "wang", "reviewer")
    for target in ("//evil.example/", "https://evil.example/console", "/console\\@evil", "/elsewhere"):
        response = ConsoleClient(app.test_client()).login("wang", next=target)
        assert response.headers["Location"] == "/console/", target
    response = ConsoleClient(app.test_client()).login("wang", next="/console/content")
    assert response.headers["Location"] == "/console/content"


def test_pages_forbid_inline_script_and_caching(app) -> None:
    response = app.test_client().get("/console/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True)


def test_store_outage_gets_a_chinese_error_page_not_a_login(config, clock) -> None:
    from tests.test_health_and_cli import DeadStore

    app = create_app(config, clock=clock, store=DeadStore())
    try:
        add_staff(app, "wang", "reviewer")
        response = ConsoleClient(app.test_client()).login("wang")
        assert response.status_code == 500 and "系统暂时出错" in response.get_data(as_text=True)
    finally:
        app.extensions["bot"].close()
