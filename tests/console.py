"""Helpers for console tests: staff accounts and a client that logs in and posts forms with the CSRF token
(flaskr's AuthActions)."""

from __future__ import annotations

import re
from typing import Any

from bot.services import staff

PASSWORD = "correct-horse-battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_staff(app: Any, username: str, role: str, password: str = PASSWORD) -> int:
    bot = app.extensions["bot"]
    with bot.db.session() as session:
        user, _ = staff.add(session, username, role, actor="test", now=bot.clock.now(), password=password)
        session.commit()
        return user.id


class ConsoleClient:
    def __init__(self, client: Any) -> None:
        self.client = client

    def token(self) -> str:
        """A valid CSRF token of this session: from the login form, or any page's logout form."""
        response = self.client.get("/console/login", follow_redirects=True)
        match = _TOKEN.search(response.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD, **extra: str) -> Any:
        data = {"username": username, "password": password, "csrf_token": self.token()} | extra
        return self.client.post("/console/login", data=data)

    def post(self, path: str, data: dict[str, str] | None = None) -> Any:
        return self.client.post(path, data={"csrf_token": self.token()} | (data or {}))

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def logout(self) -> Any:
        return self.post("/console/logout")


def figures(html: str) -> dict[str, str]:
    """Every data-figure on a page with its data-value."""
    return dict(re.findall(r'data-figure="([^"]+)" data-value="([^"]*)"', html))


def dashboard_panel(html: str, name: str) -> str:
    """One panel of the dashboard (`<section id="panel-<name>">`), up to its end."""
    panel = html[html.index(f'id="panel-{name}"'):]
    return panel[:panel.index("</section>")]
