"""Issue 17 item 12: staff passwords of at least 12 characters that are not common ones, a generated
password changed at first login before anything else, and production keys with 32 bytes of randomness."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import ConfigError, from_mapping
from bot.models import StaffUser
from bot.services import staff
from tests.console import PASSWORD, ConsoleClient, add_staff

GOOD = "Lantern-Quarry-2021-night"


def change_password(console: ConsoleClient, new: str, current: str = PASSWORD) -> str:
    response = console.post("/console/account/password", {"current": current, "new": new, "repeat": new})
    assert response.status_code == 302
    return console.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("weak, why", [
    ("Abcdefgh123", "至少 12 个字符"),  # 11 characters
    ("woaini5201314", "常用密码"),  # in the Chinese list
    ("WOAINI5201314", "常用密码"),  # case does not help
    ("123qweasdzxc", "常用密码"),  # a keyboard walk from the list
    ("password123!", "常用密码"),  # a listed password with a character added
    ("woaini1314woaini1314", "重复"),  # a common one twice
    ("aaaaaaaaaaaaaaaa", "重复"),
])
def test_weak_passwords_are_refused(app, weak: str, why: str) -> None:
    add_staff(app, "wang", "reviewer")
    console = ConsoleClient(app.test_client())
    console.login("wang")
    page = change_password(console, weak)
    assert why in page and "密码已修改" not in page
    assert ConsoleClient(app.test_client()).login("wang", weak).status_code == 401  # the old one still holds


def test_a_password_may_not_contain_the_username(app) -> None:
    add_staff(app, "wangfang", "reviewer")
    console = ConsoleClient(app.test_client())
    console.login("wangfang")
    assert "用户名" in change_password(console, "wangfang-2021-June")


def test_the_services_refuse_weak_passwords_too(app) -> None:
    bot = app.extensions["bot"]
    with bot.db.session() as session:
        for weak in ("short-pass", "1234567890123", "qq123456qq123456"):
            with pytest.raises(staff.StaffError):
                staff.add(session, "li", "editor", actor="cli", now=bot.clock.now(), password=weak)
    assert len(staff.generate_password()) >= staff.MIN_PASSWORD
    # Every name the issue gives is in the shipped list.
    for common in ("123456789", "a123456", "woaini1314", "qq123456"):
        assert staff.is_common_password(common)


def generated_password(page: str) -> str:
    match = re.search(r'id="new-password">([^<]+)<', page)
    assert match, "no password shown"
    return match.group(1)


def test_a_new_account_changes_its_generated_password_before_anything_else(app) -> None:
    add_staff(app, "boss", "admin")
    boss = ConsoleClient(app.test_client())
    boss.login("boss")
    first = generated_password(boss.post("/console/staff/add", {"username": "zhao", "role": "reviewer"})
                               .get_data(as_text=True))
    zhao = ConsoleClient(app.test_client())
    login = zhao.login("zhao", first)
    assert login.status_code == 302 and login.headers["Location"] == "/console/account"
    for path in ("/console/", "/console/reports", "/console/content"):
        response = zhao.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/console/account", path
    page = zhao.get("/console/account").get_data(as_text=True)
    assert "首次登录" in page
    assert "数据看板" in change_password(zhao, GOOD, current=first)
    assert zhao.get("/console/reports").status_code == 200


def test_a_reset_password_must_be_changed_too(app) -> None:
    add_staff(app, "boss", "admin")
    victim = add_staff(app, "zhao", "editor")
    boss = ConsoleClient(app.test_client())
    boss.login("boss")
    reset = generated_password(boss.post(f"/console/staff/{victim}/password").get_data(as_text=True))
    zhao = ConsoleClient(app.test_client())
    assert zhao.login("zhao", reset).headers["Location"] == "/console/account"
    assert zhao.get("/console/quiz").headers["Location"] == "/console/account"
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(StaffUser.must_change_password).where(StaffUser.username == "zhao"))


def test_an_account_given_its_own_password_is_not_forced(app) -> None:
    add_staff(app, "wang", "reviewer")  # the password came in (as --password-stdin does), not generated
    console = ConsoleClient(app.test_client())
    assert console.login("wang").headers["Location"] == "/console/"


# --- production keys ------------------------------------------------------------------------------

def production(**keys: str) -> Any:
    raw = {"server": {"mode": "production", "secret_key": keys.get("secret_key", secrets.token_urlsafe(32))},
           "wechat": {"app_id": "wx1", "app_secret": "real-app-secret", "token": "real-token"},
           "database": {"url": "sqlite://"},
           "security": {"identity_key": keys.get("identity_key", secrets.token_hex(32))}}
    return from_mapping(raw)


@pytest.mark.parametrize("name, section", [("secret_key", "server"), ("identity_key", "security")])
@pytest.mark.parametrize("weak", [
    "a-real-secret",  # 13 bytes
    "a4ac481af0607f64f1106e5ef870d44c",  # 32 characters, but hex (secrets.token_hex(16)): 16 bytes
    "LYN7OmvdYnLbPCESjVE2AOQffwtXezUT",  # 32 characters of base64 (token_urlsafe(24)): 24 bytes
    "k" * 64,  # long, and one character
], ids=["13-bytes", "hex-16-bytes", "base64-24-bytes", "one-character"])
def test_production_refuses_weak_keys_without_showing_them(name: str, section: str, weak: str) -> None:
    with pytest.raises(ConfigError) as err:
        production(**{name: weak})
    message = str(err.value)
    assert message.startswith(f"[{section}] {name}") and weak not in message and "32 bytes" in message


@pytest.mark.parametrize("strong", [
    "aDMNP9HXHyE3r7Uj-HXOQxCZrNJKhqxh2mZscKl5GrA",  # secrets.token_urlsafe(32)
    "2b404ca73e7cd48243d2fb47ba74487757fb68b78618a3e17f3b0d79dc0470e7",  # secrets.token_hex(32)
    "Zs9#-ZynXp0DSvR3E5GkzmDuGnoQ-bML0nWR",  # not base64 or hex: every byte counts (36)
], ids=["base64-32-bytes", "hex-32-bytes", "text-36-bytes"])
def test_production_accepts_keys_with_32_bytes_of_randomness(strong: str) -> None:
    assert production(secret_key=strong, identity_key=strong).server.mode == "production"
