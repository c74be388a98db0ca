"""Issue 17 item 11: the login throttle against a real attack. Attempts are counted atomically in the
store before the password is checked, so concurrent guesses cannot pass the limit; a lock holds one
account at one address (with backoff), an admin can lift it, and the client address comes through a
configured number of proxies only, never from a header anyone can send."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from bot import create_app
from bot.config import ConfigError
from bot.infra.store import MemoryStore
from bot.models import AuditEntry
from bot.services import staff
from tests.console import ConsoleClient, add_staff

THREADS = 16


@pytest.fixture(params=["memory", "redis"])
def attack_store(request: pytest.FixtureRequest):
    """The real store of each kind: the in-process one and Redis."""
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("real_redis")


@pytest.fixture
def attacked_app(config, clock, attack_store):
    app = create_app(config, clock=clock, store=attack_store)
    yield app
    app.extensions["bot"].close()


def concurrent_logins(app: Any, username: str, password: str, threads: int = THREADS) -> Counter:
    """`threads` clients post the login form at the same moment; the status codes they get."""
    clients = [ConsoleClient(app.test_client()) for _ in range(threads)]
    tokens = [c.token() for c in clients]
    start = threading.Barrier(threads)
    codes: list[int] = []

    def attempt(client: ConsoleClient, token: str) -> None:
        start.wait()
        response = client.client.post("/console/login",
                                      data={"username": username, "password": password, "csrf_token": token})
        codes.append(response.status_code)

    workers = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens, strict=True)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(codes) == threads
    return Counter(codes)


def test_concurrent_guesses_cannot_pass_the_limit(attacked_app) -> None:
    add_staff(attacked_app, "wang", "reviewer")
    limit = attacked_app.extensions["bot"].config.console.login_attempts
    codes = concurrent_logins(attacked_app, "wang", "guess-guess-guess")
    # A 401 means the password was checked: never more checks than the limit allows.
    assert codes[401] == limit and codes[429] == THREADS - limit, codes


def test_a_locked_account_still_logs_in_from_another_address(app) -> None:
    add_staff(app, "wang", "reviewer")
    limit = app.extensions["bot"].config.console.login_attempts
    attacker = ConsoleClient(app.test_client())
    attacker.client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for _ in range(limit):
        assert attacker.login("wang", "guess-guess-guess").status_code == 401
    assert attacker.login("wang").status_code == 429  # locked for the attacker's address
    assert ConsoleClient(app.test_client()).login("wang").status_code == 302  # the owner, elsewhere


def test_each_lockout_lasts_longer(app, clock) -> None:
    add_staff(app, "wang", "reviewer")
    cfg = app.extensions["bot"].config.console
    console = ConsoleClient(app.test_client())

    def lock_out() -> None:
        for _ in range(cfg.login_attempts):
            assert console.login("wang", "guess-guess-guess").status_code == 401
        assert console.login("wang").status_code == 429

    lock_out()
    # The lock's length is real time in the store; the clock only stamps the audit. The store's
    # record of it says how long it lasts: the first lockout lasts lockout_minutes, the next twice as long.
    store = app.extensions["bot"].store
    keys = staff.login_keys(store, staff_policy(app), "wang", "127.0.0.1")
    key = keys.pair_lock
    first = float(store.get(key) or 0)
    assert first == cfg.lockout_minutes * 60
    # As if the lock had run out (and with it the window of tries, which always ends first).
    store.delete(key)
    store.delete(keys.pair_tries)
    lock_out()
    assert float(store.get(key) or 0) == cfg.lockout_minutes * 60 * 2
    locked = console.login("wang")
    assert "分钟后再试" in locked.get_data(as_text=True) and "解除锁定" in locked.get_data(as_text=True)


def staff_policy(app: Any) -> staff.LoginPolicy:
    with app.test_request_context("/console/login"):
        from bot.console.auth import policy

        return policy()


def test_an_admin_unlocks_an_account_and_it_is_audited(app) -> None:
    add_staff(app, "boss", "admin")
    victim = add_staff(app, "wang", "reviewer")
    limit = app.extensions["bot"].config.console.login_attempts
    wang = ConsoleClient(app.test_client())
    for _ in range(limit):
        wang.login("wang", "guess-guess-guess")
    assert wang.login("wang").status_code == 429
    boss = ConsoleClient(app.test_client())
    boss.client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert boss.login("boss").status_code == 302
    page = boss.get("/console/staff").get_data(as_text=True)
    assert "登录已锁定" in page
    response = boss.post(f"/console/staff/{victim}/unlock")
    assert response.status_code == 302
    assert "已解除" in boss.get("/console/staff").get_data(as_text=True)
    assert wang.login("wang").status_code == 302
    with app.extensions["bot"].db.session() as session:
        row = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.unlock")).one()
        assert (row.actor, row.target) == ("boss", "wang")


def test_a_reviewer_cannot_unlock(app) -> None:
    add_staff(app, "li", "reviewer")
    victim = add_staff(app, "wang", "reviewer")
    console = ConsoleClient(app.test_client())
    console.login("li")
    assert console.post(f"/console/staff/{victim}/unlock").status_code == 403


def test_one_address_spraying_many_accounts_is_stopped(config, clock, store) -> None:
    app = create_app(config.replace(console={"login_attempts_per_ip": 4}), clock=clock, store=store)
    try:
        codes = Counter(code for name in ("a1", "a2", "a3", "a4", "a5", "a6")
                        for code in concurrent_logins(app, name, "guess-guess-guess", threads=2).elements())
        assert codes[401] == 4 and codes[429] == 8, codes
    finally:
        app.extensions["bot"].close()


# --- the client address --------------------------------------------------------------------------

def login_address(app: Any, forwarded_for: str) -> str | None:
    add_staff(app, "wang", "reviewer")
    console = ConsoleClient(app.test_client())
    console.client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert console.login("wang").status_code == 302
    with app.extensions["bot"].db.session() as session:
        return session.scalar(select(AuditEntry.ip).where(AuditEntry.action == "login"))


def test_a_forged_forwarded_for_header_is_ignored_without_a_proxy(config, clock, store) -> None:
    app = create_app(config, clock=clock, store=store)
    try:
        assert config.server.proxy_hops == 0
        assert login_address(app, "203.0.113.50") == "127.0.0.1"
        # Nor can a forged header escape the per-address lock.
        limit = config.console.login_attempts_per_ip
        console = ConsoleClient(app.test_client())
        for n in range(limit):
            console.client.environ_base["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{n}"
            console.login(f"nobody{n}", "guess-guess-guess")
        console.client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.250"
        assert console.login("wang").status_code == 429
    finally:
        app.extensions["bot"].close()


def test_behind_one_proxy_the_last_hop_is_the_address(config, clock, store) -> None:
    app = create_app(config.replace(server={"proxy_hops": 1}), clock=clock, store=store)
    try:
        # The client forged the first entry; the proxy appended the address it saw.
        assert login_address(app, "6.6.6.6, 203.0.113.9") == "203.0.113.9"
    finally:
        app.extensions["bot"].close()


@pytest.mark.parametrize("hops", [-1, 6])
def test_proxy_hops_is_checked(config, hops: int) -> None:
    with pytest.raises(ConfigError, match=r"\[server\] proxy_hops"):
        config.replace(server={"proxy_hops": hops})
