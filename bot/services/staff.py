"""Staff accounts: create, change password, role, disable; log in with throttling. Every change is audited.

Passwords are hashed with scrypt (werkzeug) and never logged; a generated password is returned to the
caller once, to be shown to the person who asked for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.models import StaffUser
from bot.services.audit import audit
from bot.store import Store

log = logging.getLogger(__name__)

ROLES = ("admin", "reviewer", "editor")
ROLE_NAMES = {"admin": "管理员", "reviewer": "审核员", "editor": "编辑"}
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MIN_PASSWORD = 10
# Checked against when the username is unknown, so that a miss takes as long as a wrong password.
_DUMMY_HASH = "scrypt:32768:8:1$dummysaltdummysa$" + "0" * 128


class StaffError(Exception):
    """A request about a staff account that cannot be done; the message is Chinese, for people."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def generate_password() -> str:
    # 14 characters from an alphabet without look-alikes (0/O, 1/l/I): easy to read out, ~80 bits.
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(14))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"密码至少 {MIN_PASSWORD} 个字符。")


def _snapshot(user: StaffUser) -> dict:
    return {"username": user.username, "role": user.role, "disabled": user.disabled}


def find(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def get(session: Session, user_id: int) -> StaffUser | None:
    return session.get(StaffUser, user_id)


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def add(session: Session, username: str, role: str, *, actor: str, now: dt.datetime,
        password: str | None = None, ip: str | None = None) -> tuple[StaffUser, str]:
    """Create an account; returns it and its password (generated when none is given)."""
    username = username.strip()
    if not USERNAME.match(username):
        raise StaffError("用户名须为 2–64 个字母、数字、点、横线或下划线。")
    if role not in ROLES:
        raise StaffError("角色须为 管理员、审核员 或 编辑。")
    if find(session, username) is not None:
        raise StaffError(f"用户名 {username} 已存在。")
    password = password or generate_password()
    _check_password(password)
    user = StaffUser(username=username, password_hash=hash_password(password), role=role, disabled=False,
                     created_at=now, session_epoch=0)
    session.add(user)
    session.flush()
    audit(session, actor, "staff.add", username, None, _snapshot(user), now=now, ip=ip)
    return user, password


def set_password(session: Session, user: StaffUser, *, actor: str, now: dt.datetime,
                 password: str | None = None, ip: str | None = None) -> str:
    """Replace the password (generated when none is given) and end the account's open sessions."""
    password = password or generate_password()
    _check_password(password)
    user.password_hash = hash_password(password)
    user.session_epoch += 1
    # The audit row says that it changed, never what it is.
    audit(session, actor, "staff.password", user.username, None, None, now=now, ip=ip)
    return password


def change_own_password(session: Session, user: StaffUser, current: str, new: str, repeat: str, *,
                        now: dt.datetime, ip: str | None = None) -> None:
    """A staff member replaces their own password; the current one is required."""
    if not check_password_hash(user.password_hash, current):
        raise StaffError("当前密码不正确。")
    if new != repeat:
        raise StaffError("两次输入的新密码不一致。")
    if new == current:
        raise StaffError("新密码不能与当前密码相同。")
    set_password(session, user, actor=user.username, now=now, password=new, ip=ip)


def end_sessions(user: StaffUser) -> None:
    """End every open console session of this account (logout): a saved copy of the cookie dies too."""
    user.session_epoch += 1


def set_role(session: Session, user: StaffUser, role: str, *, actor: str, now: dt.datetime,
             ip: str | None = None) -> None:
    if role not in ROLES:
        raise StaffError("角色须为 管理员、审核员 或 编辑。")
    if user.role == role:
        return
    before = _snapshot(user)
    user.role = role
    user.session_epoch += 1
    audit(session, actor, "staff.role", user.username, before, _snapshot(user), now=now, ip=ip)


def set_disabled(session: Session, user: StaffUser, disabled: bool, *, actor: str, now: dt.datetime,
                 ip: str | None = None) -> None:
    if user.disabled == disabled:
        return
    before = _snapshot(user)
    user.disabled = disabled
    user.session_epoch += 1
    audit(session, actor, "staff.disable" if disabled else "staff.enable", user.username, before,
          _snapshot(user), now=now, ip=ip)


# --- logging in ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginPolicy:
    attempts_per_user: int
    attempts_per_ip: int
    lockout_seconds: int


class LoginThrottled(Exception):
    """Too many failed logins for this username or address; try again later."""


class LoginFailed(Exception):
    """Wrong username or password, or a disabled account (`disabled` says which, for the audit)."""

    def __init__(self, disabled: bool = False) -> None:
        super().__init__("disabled" if disabled else "wrong username or password")
        self.disabled = disabled


def _fail_keys(username: str, ip: str) -> tuple[str, str]:
    return f"console:loginfail:user:{username.lower()}", f"console:loginfail:ip:{ip}"


def _throttled(store: Store, policy: LoginPolicy, username: str, ip: str) -> bool:
    user_key, ip_key = _fail_keys(username, ip)
    return (int(store.get(user_key) or 0) >= policy.attempts_per_user
            or int(store.get(ip_key) or 0) >= policy.attempts_per_ip)


def log_in(session: Session, store: Store, policy: LoginPolicy, username: str, password: str, *,
           ip: str, now: dt.datetime) -> StaffUser:
    """The account if the password is right; raises LoginThrottled or LoginFailed (both audited)."""
    username = username.strip()[:64]
    if _throttled(store, policy, username, ip):
        audit(session, username or "-", "login.throttled", username, now=now, ip=ip)
        raise LoginThrottled()
    user = find(session, username)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if not ok or user is None or user.disabled:
        user_key, ip_key = _fail_keys(username, ip)
        store.incr(user_key, policy.lockout_seconds)
        store.incr(ip_key, policy.lockout_seconds)
        disabled = bool(ok and user is not None and user.disabled)
        audit(session, username or "-", "login.failed", username, now=now, ip=ip,
              note="账号已停用" if disabled else None)
        log.info("failed console login for %r from %s", username, ip)
        raise LoginFailed(disabled=disabled)
    store.delete(_fail_keys(username, ip)[0])
    user.last_login_at = now
    audit(session, user.username, "login", user.username, now=now, ip=ip)
    return user
