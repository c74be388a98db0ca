"""Issue 17 item 10: a console session ends on the server. A saved cookie replayed after logout,
a password change, disabling the account or changing its role no longer opens a page."""

from __future__ import annotations

from typing import Any

from tests.console import PASSWORD, ConsoleClient, add_staff

COOKIE = "smb_session"
NEW_PASSWORD = "Lantern-Quarry-2021-night"


def saved_cookie(console: ConsoleClient) -> str:
    cookie = console.client.get_cookie(COOKIE)
    assert cookie is not None, "not logged in"
    return cookie.value


def replay(app: Any, cookie: str) -> Any:
    """What an attacker who copied the cookie gets: a fresh client carrying only that cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief.get("/console/")


def logged_in(app: Any, username: str) -> tuple[ConsoleClient, str]:
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    cookie = saved_cookie(console)
    assert replay(app, cookie).status_code == 200  # the copy works while the session is open
    return console, cookie


def test_a_saved_cookie_is_dead_after_logout(app) -> None:
    add_staff(app, "wang", "reviewer")
    console, cookie = logged_in(app, "wang")
    console.logout()
    response = replay(app, cookie)
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")
    assert ConsoleClient(app.test_client()).login("wang").status_code == 302  # logging in again works


def test_a_saved_cookie_is_dead_after_a_password_change(app) -> None:
    add_staff(app, "wang", "reviewer")
    console, cookie = logged_in(app, "wang")
    changed = console.post("/console/account/password",
                           {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert changed.status_code == 302 and changed.headers["Location"] == "/console/"
    assert console.get("/console/").status_code == 200  # the one who changed it stays logged in
    assert replay(app, cookie).status_code == 302


def test_a_saved_cookie_is_dead_after_the_account_is_disabled(app) -> None:
    add_staff(app, "boss", "admin")
    victim = add_staff(app, "wang", "reviewer")
    _, cookie = logged_in(app, "wang")
    boss, _ = logged_in(app, "boss")
    assert boss.post(f"/console/staff/{victim}/disabled", {"disabled": "1"}).status_code == 302
    assert replay(app, cookie).status_code == 302
    # Enabling the account again does not bring the old session back.
    assert boss.post(f"/console/staff/{victim}/disabled", {"disabled": "0"}).status_code == 302
    assert replay(app, cookie).status_code == 302


def test_a_saved_cookie_is_dead_after_a_role_change(app) -> None:
    add_staff(app, "boss", "admin")
    victim = add_staff(app, "wang", "reviewer")
    _, cookie = logged_in(app, "wang")
    boss, _ = logged_in(app, "boss")
    assert boss.post(f"/console/staff/{victim}/role", {"role": "editor"}).status_code == 302
    assert replay(app, cookie).status_code == 302
