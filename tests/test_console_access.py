"""The authorisation matrix: every role × every console route, as the matrix says; nothing unguarded."""

from __future__ import annotations

import re

import pytest

from bot.console.access import ACTIONS, MATRIX, can
from bot.console.registry import NAV, PANELS
from tests.console import ConsoleClient, add_staff

ROLES = ("admin", "reviewer", "editor")
ADMIN_ONLY = {"reveal_identity", "export_identity", "view_audit", "manage_staff"}


def console_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("console.") and rule.endpoint != "console.static"]


def sample_url(rule, victim_id: int) -> str:
    # Any argument is filled with an id that exists (the victim account) or a harmless word.
    values = {name: victim_id if "int" in str(rule._converters[name].__class__.__name__).lower() else "x"
              for name in rule.arguments}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_matrix_covers_every_role_and_action() -> None:
    assert set(MATRIX) == set(ROLES)
    assert MATRIX["admin"] == set(ACTIONS)
    for role in ROLES:
        assert MATRIX[role] <= set(ACTIONS)
    for action in ADMIN_ONLY:
        assert [role for role in ROLES if can(role, action)] == ["admin"]
    with pytest.raises(KeyError):
        can("admin", "no_such_action")


def test_every_console_view_declares_an_action_or_is_public(app) -> None:
    for rule in console_rules(app):
        view = app.view_functions[rule.endpoint]
        action = getattr(view, "required_action", None)
        assert action in ACTIONS or getattr(view, "public", False), f"{rule.rule} has no entry in the matrix"
    for item in NAV:
        assert item.action in ACTIONS
    for spec in PANELS:
        assert spec.action in ACTIONS


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(app, role: str) -> None:
    add_staff(app, "someone", role)
    victim = add_staff(app, "victim", "editor")
    console = ConsoleClient(app.test_client())
    assert console.login("someone").status_code == 302
    checked = 0
    for rule in console_rules(app):
        view = app.view_functions[rule.endpoint]
        if getattr(view, "public", False):
            continue
        url = sample_url(rule, victim)
        method = "GET" if "GET" in rule.methods else "POST"
        response = console.get(url) if method == "GET" else console.post(url)
        allowed = can(role, view.required_action)
        if allowed:
            assert response.status_code != 403, f"{role} should be allowed {method} {url}"
            assert "/console/login" not in response.headers.get("Location", ""), f"{role} bounced from {url}"
        else:
            assert response.status_code == 403, f"{role} must get 403 on {method} {url}, got {response.status_code}"
            assert "没有权限" in response.get_data(as_text=True)
        checked += 1
    assert checked >= 7


def test_anonymous_is_sent_to_login_everywhere(app) -> None:
    victim = add_staff(app, "victim", "editor")
    console = ConsoleClient(app.test_client())
    for rule in console_rules(app):
        view = app.view_functions[rule.endpoint]
        if getattr(view, "public", False):
            continue
        url = sample_url(rule, victim)
        response = console.get(url) if "GET" in rule.methods else console.post(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/console/login"), url


@pytest.mark.parametrize("role", ROLES)
def test_navigation_shows_only_allowed_pages(app, role: str) -> None:
    add_staff(app, "someone", role)
    console = ConsoleClient(app.test_client())
    console.login("someone")
    html = console.get("/console/").get_data(as_text=True)
    shown = set(re.findall(r'data-nav="([^"]+)"', html))
    assert shown == {item.endpoint for item in NAV if can(role, item.action)}
