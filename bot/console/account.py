"""The logged-in staff member's own account: change the password an admin handed out, and bind their
own WeChat account (for broadcast previews) with a code they send to the official account."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from bot.console import SEEN_KEY, client_ip, db, now
from bot.console.audit import ACTION_NAMES
from bot.console.auth import signed_in
from bot.console.registry import page, route
from bot.services import staff, staff_wechat

ACTION_NAMES.update({"staff.wechat_bind": "绑定微信号", "staff.wechat_unbind": "解除绑定微信号",
                     "staff.real_name": "修改姓名"})


@page("/account", "我的账号", action="change_own_password", order=95)
def account() -> str:
    user = staff.get(db(), current_user.id)
    live = user.bind_code if user.bind_code and user.bind_code_expires_at and user.bind_code_expires_at > now() \
        else None
    return render_template("console/account.html", min_length=staff.MIN_PASSWORD,
                           forced=current_user.must_change_password, user=user, code=live,
                           code_minutes=staff_wechat.CODE_MINUTES,
                           unbound_by=staff_wechat.unbound_by_other(db(), user))


@route("/account/wechat/code", action="change_own_password", methods=["POST"])
def account_wechat_code() -> Response:
    user = staff.get(db(), current_user.id)
    staff_wechat.new_code(db(), user, now())
    db().commit()
    return redirect(url_for("console.account") + "#wechat")


@route("/account/wechat/unbind", action="change_own_password", methods=["POST"])
def account_wechat_unbind() -> Response:
    user = staff.get(db(), current_user.id)
    if user.wechat_openid:
        staff_wechat.unbind(db(), user, now(), ip=client_ip())
        db().commit()
        flash("已解除绑定。群发预览不会再发到那个微信号。", "success")
    return redirect(url_for("console.account") + "#wechat")


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
