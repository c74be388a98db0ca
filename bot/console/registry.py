"""The console's extension points: the blueprint, its pages (NAV) and the dashboard's panels.

A feature adds a console page as one module listed in `bot.console.PAGES`:

    from bot.console.registry import page, route

    @page("/reports", "举报", action="view_reports", order=20)      # a route and a navigation entry
    def reports() -> str: ...

    @route("/reports/<int:report_id>/accept", action="triage_reports", methods=["POST"])
    def accept(report_id: int) -> Response: ...

and a dashboard panel with `@panel(...)` (see bot/console/dashboard.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort
from flask_login import current_user

from bot.console.access import ACTIONS, can

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")


@dataclasses.dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    action: str
    order: int


@dataclasses.dataclass(frozen=True)
class PanelSpec:
    name: str
    title: str
    action: str
    order: int
    build: Callable[..., Any]


NAV: list[NavItem] = []
PANELS: list[PanelSpec] = []


def requires(action: str, on_refused: Callable[..., None] | None = None) -> Callable:
    """Let the view run only for a logged-in staff member whose role has `action` (else 403).

    `on_refused(*args, **kwargs)` runs (with the view's arguments) before a logged-in member's 403,
    for the refusals that must be audited, such as a look at a reporter's identity."""
    if action not in ACTIONS:
        raise KeyError(f"unknown console action {action!r}")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from flask import current_app

                return current_app.login_manager.unauthorized()
            if not can(current_user.role, action):
                if on_refused is not None:
                    on_refused(*args, **kwargs)
                abort(403)
            return view(*args, **kwargs)

        guarded.required_action = action  # type: ignore[attr-defined]
        return guarded

    return decorate


def public(view: Callable) -> Callable:
    """Mark a view anyone may open (the login page): the access test then knows it is on purpose."""
    view.public = True  # type: ignore[attr-defined]
    return view


def route(rule: str, *, action: str, methods: list[str] | None = None, endpoint: str | None = None,
          on_refused: Callable[..., None] | None = None) -> Callable:
    def decorate(view: Callable) -> Callable:
        guarded = requires(action, on_refused)(view)
        bp.add_url_rule(rule, endpoint or view.__name__, guarded, methods=methods or ["GET"])
        return guarded

    return decorate


def page(rule: str, label: str, *, action: str, order: int, methods: list[str] | None = None) -> Callable:
    """A route with an entry in the navigation, shown only to roles that have `action`."""

    def decorate(view: Callable) -> Callable:
        guarded = route(rule, action=action, methods=methods)(view)
        NAV.append(NavItem(f"console.{view.__name__}", label, action, order))
        NAV.sort(key=lambda item: item.order)
        return guarded

    return decorate


def panel(name: str, title: str, *, action: str, order: int) -> Callable:
    """A dashboard panel: `build(session, bot, now) -> Panel`, shown to roles that have `action`."""

    def decorate(build: Callable) -> Callable:
        PANELS.append(PanelSpec(name, title, action, order, build))
        PANELS.sort(key=lambda spec: spec.order)
        return build

    return decorate


def nav_for(role: str | None) -> list[NavItem]:
    return [item for item in NAV if can(role, item.action)]


def panels_for(role: str | None) -> list[PanelSpec]:
    return [spec for spec in PANELS if can(role, spec.action)]
