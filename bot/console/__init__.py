"""The staff console at /console: Chinese pages for the bureau's staff, behind a login and a role matrix.

`init_app` is the only thing that touches the app. Pages live in the modules of `PAGES` (each one
page or a few related ones); they register their routes, navigation entries and dashboard panels
through `bot.console.registry`. A feature's page is one more module in PAGES.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any, TypeVar

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import Session

from bot.console.access import ACTIONS, can
from bot.console.registry import bp, nav_for
from bot.runtime import Bot
from bot.services.staff import ROLE_NAMES

# The modules that add pages to the console (order does not matter: NAV is sorted by `order`).
PAGES: tuple[str, ...] = (
    "bot.console.limits",  # not a page: the length checks every console form gets
    "bot.console.auth",
    "bot.console.dashboard",
    "bot.console.content_page",
    "bot.console.staff_page",
    "bot.console.audit",
    "bot.console.account",
    "bot.console.reports_page",
    "bot.console.broadcasts_page",
    "bot.console.pushplan_page",
    "bot.console.quiz_page",
    "bot.console.notices_page",
    "bot.console.events_page",
    "bot.console.plan_items_page",
)

csrf = CSRFProtect()
SEEN_KEY = "console_seen"
T = TypeVar("T")


def init_app(app: Flask, bot: Bot) -> None:
    for module in PAGES:
        importlib.import_module(module)
    production = bot.config.server.mode == "production"
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        SESSION_COOKIE_NAME="smb_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=production,
        # CSRF is checked by the console blueprint itself (below), so the /wechat webhook stays exempt.
        WTF_CSRF_CHECK_DEFAULT=False,
        # The token lives as long as the login session, which idle logout already bounds.
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)
    from bot.console.auth import init_login

    login_manager = LoginManager()
    init_login(login_manager)
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.teardown_appcontext(_close_session)


def db() -> Session:
    """The request's database session (closed when the request ends)."""
    if "console_db" not in g:
        g.console_db = current_bot().db.session()
    return g.console_db


def found(model: type[T], ident: Any) -> T:
    """The row of `model` with this primary key in the request's session, or a 404 page."""
    row = db().get(model, ident)
    if row is None:
        abort(404)
    return row


def _close_session(_exc: BaseException | None) -> None:
    session_ = g.pop("console_db", None)
    if session_ is not None:
        session_.close()


def current_bot() -> Bot:
    return current_app.extensions["bot"]


def now() -> dt.datetime:
    return current_bot().clock.now()


def client_ip() -> str:
    return request.remote_addr or "-"


@bp.before_request
def guard() -> Any:
    """Check CSRF on every form, and end sessions idle for longer than [console] idle_minutes."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    if current_user.is_authenticated:
        moment = now().timestamp()
        seen = session.get(SEEN_KEY)
        idle = current_bot().config.console.idle_minutes * 60
        if seen is not None and moment - float(seen) > idle:
            from bot.services.audit import audit

            audit(db(), current_user.username, "logout.idle", current_user.username, now=now(), ip=client_ip())
            db().commit()
            logout_user()
            session.clear()
            flash(f"您已超过 {idle // 60} 分钟未操作，为安全起见已自动退出，请重新登录。", "info")
            return redirect(url_for("console.login"))
        session[SEEN_KEY] = moment
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            flash("首次登录（或密码被管理员重置后）须先设置自己的新密码，才能使用其他功能。", "info")
            return redirect(url_for("console.account"))
    return None


# What an account with a handed-out password may open: only the way to replace it (and out).
PASSWORD_CHANGE_ENDPOINTS = frozenset({"console.account", "console.account_password", "console.logout",
                                       "console.login", "console.static"})


# Defence in depth behind escaping: no inline or foreign script, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@bp.after_request
def secure_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "console.static":
        # Pages show personal data: never keep them in a shared office PC's cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def layout_context() -> dict[str, Any]:
    # An unknown /console address has no blueprint, but its error page still wears the console's layout.
    in_console = request.blueprint == "console" or request.path.startswith("/console") if has_request_context() else False
    if not in_console:
        return {}
    role = current_user.role if current_user.is_authenticated else None
    from bot.console import labels

    return {"nav": nav_for(role) if role else [], "role_names": ROLE_NAMES, "can": lambda action: can(role, action),
            "actions": ACTIONS, "console_labels": labels}


@bp.errorhandler(403)
def forbidden(_exc: Exception) -> tuple[str, int]:
    return render_template("console/error.html", code=403, title="没有权限",
                           message="您的账号没有打开此页面或执行此操作的权限。如需权限，请联系管理员。"), 403


@bp.errorhandler(404)
def not_found(_exc: Exception) -> tuple[str, int]:
    return render_template("console/error.html", code=404, title="页面不存在",
                           message="没有找到这个页面或记录。"), 404


@bp.errorhandler(500)
def server_error(_exc: Exception) -> tuple[str, int]:
    # The cause is in the log (Flask logs the exception); staff get a plain explanation.
    return render_template("console/error.html", code=500, title="系统暂时出错",
                           message="操作未能完成，请稍后重试。如果一再出现，请联系技术人员。"), 500


@bp.errorhandler(CSRFError)
def csrf_failed(_exc: CSRFError) -> tuple[str, int]:
    return render_template("console/error.html", code=400, title="表单已失效",
                           message="表单已过期或来源不明，操作未执行。请返回上一页，刷新后重试。"), 400
