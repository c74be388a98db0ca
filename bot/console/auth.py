"""Logging in and out. Sessions are Flask-Login's; the throttle and audit are in services/staff.py."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user

from bot.console import SEEN_KEY, client_ip, current_bot, db, now
from bot.console.registry import bp, public
from bot.services import staff
from bot.services.audit import audit


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member as Flask-Login sees them (a detached copy, not the ORM row)."""

    id: int
    username: str
    role: str
    epoch: int
    must_change_password: bool = False
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        # The epoch changes with the password, role or disabled flag, which ends older sessions.
        return f"{self.id}:{self.epoch}"


def init_login(manager: LoginManager) -> None:
    manager.login_view = "console.login"
    manager.login_message = "请先登录。"
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    manager.user_loader(load_staff)


def load_staff(user_id: str) -> Staff | None:
    ident, _, epoch = user_id.partition(":")
    if not ident.isdigit() or not epoch.isdigit():
        return None
    user = staff.get(db(), int(ident))
    if user is None or user.disabled or user.session_epoch != int(epoch):
        return None
    return signed_in(user)


def signed_in(user: staff.StaffUser) -> Staff:
    """The Flask-Login view of an account row."""
    return Staff(user.id, user.username, user.role, user.session_epoch, user.must_change_password)


def _safe_next(target: str | None) -> str:
    # Only a path inside the console: never an absolute URL (open redirect) or "//host".
    if target and target.startswith("/console") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("console.dashboard")


def policy() -> staff.LoginPolicy:
    cfg = current_bot().config.console
    return staff.LoginPolicy(cfg.login_attempts, cfg.login_attempts_per_ip, cfg.lockout_minutes * 60,
                             key=hashlib.sha256(b"console-login:" + str(current_app.secret_key).encode()).digest())


def throttled_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return (f"登录失败次数过多，已暂时锁定。请约 {minutes} 分钟后再试（每次锁定都会更久），"
            "或请管理员在“人员管理”中解除锁定。")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("console.dashboard"))
    if request.method == "GET":
        return render_template("console/login.html", username="", next=request.args.get("next", ""))
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    session_ = db()
    try:
        user = staff.log_in(session_, current_bot().store, policy(), username, password, ip=client_ip(), now=now())
    except staff.LoginThrottled as throttled:
        session_.commit()
        error = throttled_message(throttled.seconds)
        return render_template("console/login.html", username=username, error=error,
                               next=request.form.get("next", "")), 429
    except staff.LoginFailed as failed:
        session_.commit()
        error = "该账号已停用，请联系管理员。" if failed.disabled else "用户名或密码错误。"
        return render_template("console/login.html", username=username, error=error,
                               next=request.form.get("next", "")), 401
    session_.commit()
    session.clear()  # a fresh session on login: nothing from before survives
    login_user(signed_in(user))
    session[SEEN_KEY] = now().timestamp()
    if user.must_change_password:
        return redirect(url_for("console.account"))
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Response:
    if current_user.is_authenticated:
        user = staff.get(db(), current_user.id)
        if user is not None:
            # Clearing the cookie is not enough: a copy of it must stop working as well.
            staff.end_sessions(user)
        audit(db(), current_user.username, "logout", current_user.username, now=now(), ip=client_ip())
        db().commit()
        logout_user()
    session.clear()
    flash("已退出登录。本账号在其他电脑或浏览器上的登录也已一并结束。", "info")
    return redirect(url_for("console.login"))
