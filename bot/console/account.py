"""The logged-in staff member's own account: change the password an admin handed out."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from bot.console import SEEN_KEY, client_ip, db, now
from bot.console.auth import signed_in
from bot.console.registry import page, route
from bot.services import staff


@page("/account", "修改密码", action="change_own_password", order=95)
def account() -> str:
    return render_template("console/account.html", min_length=staff.MIN_PASSWORD,
                           forced=current_user.must_change_password)


@route("/account/password", action="change_own_password", methods=["POST"])
def account_password() -> Response:
    session_ = db()
    user = staff.get(session_, current_user.id)
    form = request.form
    try:
        staff.change_own_password(session_, user, form.get("current", ""), form.get("new", ""),
                                  form.get("repeat", ""), now=now(), ip=client_ip())
    except staff.StaffError as exc:
        session_.rollback()
        flash(str(exc), "error")
        return redirect(url_for("console.account"))
    session_.commit()
    # The new password ended every session of this account, this one too: start a fresh one.
    session.clear()
    login_user(signed_in(user))
    session[SEEN_KEY] = now().timestamp()
    flash("密码已修改。其他地方已登录的会话已全部退出。", "success")
    return redirect(url_for("console.dashboard"))
