"""Staff accounts (admin only): add, change role, reset password, disable or enable, unbind a member's
WeChat (where previews go). Each change is audited."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.console import client_ip, current_bot, db, now
from bot.console.access import MATRIX
from bot.console.registry import page, route
from bot.services import staff, staff_wechat
from bot.store import StoreError


@page("/staff", "人员管理", action="manage_staff", order=80)
def staff_list() -> str:
    from bot.console.auth import policy

    users = staff.list_staff(db())
    try:
        locked = {u.id: staff.login_locked_from(current_bot().store, policy(), u.username) for u in users}
    except StoreError:
        locked = {}  # the accounts are still listed (and manageable) while the store is away
        flash("暂时无法读取登录锁定状态（缓存服务无响应），其他信息不受影响。", "error")
    return render_template("console/staff.html", users=users, roles=staff.ROLES, matrix=MATRIX, locked=locked)


def _account(user_id: int) -> staff.StaffUser:
    user = staff.get(db(), user_id)
    if user is None:
        abort(404)
    return user


def _show_password(username: str, password: str, why: str) -> str:
    # Shown once, on this page only; it is in no log, no audit row and no flash cookie.
    return render_template("console/password.html", username=username, password=password, why=why)


@route("/staff/add", action="manage_staff", methods=["POST"])
def staff_add() -> Response | str:
    session = db()
    try:
        user, password = staff.add(session, request.form.get("username", ""), request.form.get("role", ""),
                                   actor=current_user.username, now=now(), ip=client_ip(),
                                   real_name=request.form.get("real_name", ""))
    except staff.StaffError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("console.staff_list"))
    session.commit()
    return _show_password(user.username, password, "新账号已创建。该账号首次登录时须先改为自己的新密码。")


@route("/staff/<int:user_id>/password", action="manage_staff", methods=["POST"])
def staff_password(user_id: int) -> Response | str:
    session = db()
    user = _account(user_id)
    password = staff.set_password(session, user, actor=current_user.username, now=now(), ip=client_ip())
    session.commit()
    return _show_password(user.username, password, "密码已重置，该账号已登录的会话全部失效；下次登录时须先改为自己的新密码。")


@route("/staff/<int:user_id>/role", action="manage_staff", methods=["POST"])
def staff_role(user_id: int) -> Response:
    session = db()
    user = _account(user_id)
    if user.id == current_user.id:
        flash("不能修改自己的角色（避免误操作后无人能管理账号）。", "error")
        return redirect(url_for("console.staff_list"))
    try:
        staff.set_role(session, user, request.form.get("role", ""), actor=current_user.username, now=now(),
                       ip=client_ip())
    except staff.StaffError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("console.staff_list"))
    session.commit()
    flash(f"已将 {user.username} 的角色改为 {staff.ROLE_NAMES[user.role]}。", "success")
    return redirect(url_for("console.staff_list"))


@route("/staff/<int:user_id>/real_name", action="manage_staff", methods=["POST"])
def staff_real_name(user_id: int) -> Response:
    session = db()
    user = _account(user_id)
    try:
        staff.set_real_name(session, user, request.form.get("real_name", ""), actor=current_user.username, now=now(),
                            ip=client_ip())
    except staff.StaffError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("console.staff_list"))
    session.commit()
    flash(f"已将 {user.username} 的姓名改为“{user.real_name or '（空）'}”。", "success")
    return redirect(url_for("console.staff_list"))


@route("/staff/<int:user_id>/disabled", action="manage_staff", methods=["POST"])
def staff_disabled(user_id: int) -> Response:
    session = db()
    user = _account(user_id)
    disable = request.form.get("disabled") == "1"
    if user.id == current_user.id and disable:
        flash("不能停用自己的账号。", "error")
        return redirect(url_for("console.staff_list"))
    staff.set_disabled(session, user, disable, actor=current_user.username, now=now(), ip=client_ip())
    session.commit()
    flash(f"已{'停用' if disable else '启用'}账号 {user.username}。", "success")
    return redirect(url_for("console.staff_list"))


@route("/staff/<int:user_id>/unlock", action="manage_staff", methods=["POST"])
def staff_unlock(user_id: int) -> Response:
    from bot.console.auth import policy

    session = db()
    user = _account(user_id)
    staff.unlock_login(session, current_bot().store, policy(), user, actor=current_user.username, now=now(),
                       ip=client_ip())
    session.commit()
    flash(f"已解除 {user.username} 的登录锁定，可以重新登录。", "success")
    return redirect(url_for("console.staff_list"))


@route("/staff/<int:user_id>/wechat/unbind", action="manage_staff", methods=["POST"])
def staff_wechat_unbind(user_id: int) -> Response:
    session = db()
    user = _account(user_id)
    if not user.wechat_openid:
        flash(f"{user.username} 没有绑定微信号。", "error")
        return redirect(url_for("console.staff_list"))
    staff_wechat.unbind(session, user, now(), ip=client_ip(), actor=current_user.username)
    session.commit()
    flash(f"已解除 {user.username} 绑定的微信号，群发预览不会再发到那个微信号。{user.username} 可在“我的账号”中重新绑定。",
          "success")
    return redirect(url_for("console.staff_list"))
