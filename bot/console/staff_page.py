"""Staff accounts (admin only): add, change role, reset password, disable or enable, unbind a member's
WeChat (where previews go). Each change is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, render_template, request
from flask_login import current_user

from bot.console import client_ip, current_bot, db, now
from bot.console.access import MATRIX
from bot.console.outcomes import done, refused
from bot.console.registry import page, route
from bot.infra.store import StoreError
from bot.services import staff, staff_wechat

LIST = "console.staff_list"  # where every action here returns


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


def _who() -> dict[str, Any]:
    """Who makes this request's change, when and from where: what the staff services audit."""
    return {"actor": current_user.username, "now": now(), "ip": client_ip()}


def _changed(user: staff.StaffUser, change: Callable[..., None], field: str, told: Callable[[], str]) -> Response:
    """Change one thing of an account to the form's `field`; a StaffError is the refusal, said as it is."""
    try:
        change(db(), user, request.form.get(field, ""), **_who())
    except staff.StaffError as exc:
        return refused(str(exc), LIST)
    return done(told(), LIST)


def _show_password(username: str, password: str, why: str) -> str:
    # Shown once, on this page only; it is in no log, no audit row and no flash cookie.
    return render_template("console/password.html", username=username, password=password, why=why)


@route("/staff/add", action="manage_staff", methods=["POST"])
def staff_add() -> Response | str:
    session = db()
    try:
        user, password = staff.add(session, request.form.get("username", ""), request.form.get("role", ""),
                                   real_name=request.form.get("real_name", ""), **_who())
    except staff.StaffError as exc:
        return refused(str(exc), LIST)
    session.commit()
    return _show_password(user.username, password, "新账号已创建。该账号首次登录时须先改为自己的新密码。")


@route("/staff/<int:user_id>/password", action="manage_staff", methods=["POST"])
def staff_password(user_id: int) -> Response | str:
    session = db()
    user = _account(user_id)
    password = staff.set_password(session, user, **_who())
    session.commit()
    return _show_password(user.username, password, "密码已重置，该账号已登录的会话全部失效；下次登录时须先改为自己的新密码。")


@route("/staff/<int:user_id>/role", action="manage_staff", methods=["POST"])
def staff_role(user_id: int) -> Response:
    user = _account(user_id)
    if user.id == current_user.id:
        return refused("不能修改自己的角色（避免误操作后无人能管理账号）。", LIST)
    return _changed(user, staff.set_role, "role", lambda: f"已将 {user.username} 的角色改为 {staff.ROLE_NAMES[user.role]}。")


@route("/staff/<int:user_id>/real_name", action="manage_staff", methods=["POST"])
def staff_real_name(user_id: int) -> Response:
    user = _account(user_id)
    return _changed(user, staff.set_real_name, "real_name",
                    lambda: f"已将 {user.username} 的姓名改为“{user.real_name or '（空）'}”。")


@route("/staff/<int:user_id>/disabled", action="manage_staff", methods=["POST"])
def staff_disabled(user_id: int) -> Response:
    user = _account(user_id)
    disable = request.form.get("disabled") == "1"
    if user.id == current_user.id and disable:
        return refused("不能停用自己的账号。", LIST)
    staff.set_disabled(db(), user, disable, **_who())
    return done(f"已{'停用' if disable else '启用'}账号 {user.username}。", LIST)


@route("/staff/<int:user_id>/unlock", action="manage_staff", methods=["POST"])
def staff_unlock(user_id: int) -> Response:
    from bot.console.auth import policy

    user = _account(user_id)
    staff.unlock_login(db(), current_bot().store, policy(), user, **_who())
    return done(f"已解除 {user.username} 的登录锁定，可以重新登录。", LIST)


@route("/staff/<int:user_id>/wechat/unbind", action="manage_staff", methods=["POST"])
def staff_wechat_unbind(user_id: int) -> Response:
    user = _account(user_id)
    if not user.wechat_openid:
        return refused(f"{user.username} 没有绑定微信号。", LIST)
    staff_wechat.unbind(db(), user, now(), ip=client_ip(), actor=current_user.username)
    return done(f"已解除 {user.username} 绑定的微信号，群发预览不会再发到那个微信号。{user.username} 可在“我的账号”中重新绑定。",
                LIST)
