"""Staff accounts: create, change password, role, disable; log in with throttling. Every change is audited.

Passwords are hashed with scrypt (werkzeug) and never logged; a generated password is returned to the
caller once, to be shown to the person who asked for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.infra.store import Store
from bot.models import StaffUser
from bot.services.audit import audit

log = logging.getLogger(__name__)

ROLES = ("admin", "reviewer", "editor")
ROLE_NAMES = {"admin": "管理员", "reviewer": "审核员", "editor": "编辑"}
# Letters of any script (a Chinese name is a fine username), digits, ".", "-" and "_"; no spaces.
USERNAME = re.compile(r"^[\w.-]{2,32}$")
USERNAME_RULE = "用户名须为 2–32 个汉字、字母、数字、点、横线或下划线（不含空格）。"
REAL_NAME_MAX = 32
MIN_PASSWORD = 12
MAX_PASSWORD = 128
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "console" / "common_passwords.txt"
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


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_common_password(password: str) -> bool:
    """In the shipped list, or a listed one with up to three characters added before or after it."""
    common = _common_passwords()
    lowered = password.lower()
    return any(lowered[cut:] in common or lowered[:len(lowered) - cut] in common for cut in range(4))


def _repeats(password: str) -> bool:
    # "aaaa…", "abcabc…", "woaini1314woaini1314": a short unit over and over, or only a few characters.
    if len(set(password)) < 5:
        return True
    return any(len(password) % size == 0 and password == password[:size] * (len(password) // size)
               for size in range(1, len(password) // 2 + 1))


def _check_password(password: str, username: str | None = None) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"密码至少 {MIN_PASSWORD} 个字符。")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"密码最多 {MAX_PASSWORD} 个字符。")
    if _repeats(password):
        raise StaffError("这个密码由少数字符或同一段内容重复组成，很容易被猜到，请换一个。")
    if is_common_password(password):
        raise StaffError("这个密码在常用密码名单中（或只是在常用密码前后加了几个字符），很容易被猜到，请换一个。")
    if username and len(username) >= 3 and username.lower() in password.lower():
        raise StaffError("密码不能包含用户名。")


def _snapshot(user: StaffUser) -> dict:
    return {"username": user.username, "real_name": user.real_name, "role": user.role, "disabled": user.disabled}


def set_real_name(session: Session, user: StaffUser, real_name: str, *, actor: str, now: dt.datetime,
                  ip: str | None = None) -> None:
    before = _snapshot(user)
    user.real_name = clean_real_name(real_name)
    audit(session, actor, "staff.real_name", user.username, before, _snapshot(user), now=now, ip=ip)


def find(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def get(session: Session, user_id: int) -> StaffUser | None:
    return session.get(StaffUser, user_id)


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def clean_real_name(text: str) -> str:
    name = unicodedata.normalize("NFKC", text or "").strip()
    if len(name) > REAL_NAME_MAX or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise StaffError(f"姓名最多 {REAL_NAME_MAX} 个字，且不能含控制字符。")
    return name


def add(session: Session, username: str, role: str, *, actor: str, now: dt.datetime,
        password: str | None = None, ip: str | None = None, real_name: str = "") -> tuple[StaffUser, str]:
    """Create an account; returns it and its password (generated when none is given)."""
    username = unicodedata.normalize("NFKC", username).strip()
    if not USERNAME.match(username):
        raise StaffError(USERNAME_RULE)
    real_name = clean_real_name(real_name)
    if role not in ROLES:
        raise StaffError("角色须为 管理员、审核员 或 编辑。")
    if find(session, username) is not None:
        raise StaffError(f"用户名 {username} 已存在。")
    generated = not password
    password = password or generate_password()
    _check_password(password, None if generated else username)
    # A generated password has been seen by whoever created the account: its owner replaces it first.
    user = StaffUser(username=username, password_hash=hash_password(password), role=role, disabled=False,
                     created_at=now, session_epoch=0, must_change_password=generated, real_name=real_name)
    session.add(user)
    session.flush()
    audit(session, actor, "staff.add", username, None, _snapshot(user), now=now, ip=ip)
    return user, password


def set_password(session: Session, user: StaffUser, *, actor: str, now: dt.datetime,
                 password: str | None = None, ip: str | None = None) -> str:
    """Replace the password (generated when none is given) and end the account's open sessions.
    A generated password must be changed by the account's owner at their next login."""
    generated = not password
    password = password or generate_password()
    _check_password(password, None if generated else user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = generated
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
    attempts_per_user: int  # tries of one account from one address before that pair is locked
    attempts_per_ip: int  # failed tries from one address, whatever the account, before the address is locked
    lockout_seconds: int  # the first lock's length; each further lock of the same pair doubles it
    key: bytes = b""  # keys the usernames in store keys, so that what was typed is not kept in clear
    max_lockout_seconds: int = 24 * 3600


class LoginThrottled(Exception):
    """Too many tries for this account from this address, or from this address; `seconds` to wait."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"locked for {seconds} s")
        self.seconds = seconds


class LoginFailed(Exception):
    """Wrong username or password, or a disabled account (`disabled` says which, for the audit)."""

    def __init__(self, disabled: bool = False) -> None:
        super().__init__("disabled" if disabled else "wrong username or password")
        self.disabled = disabled


@dataclass(frozen=True)
class LoginKeys:
    """The store keys of one (account, address) pair and of the address alone."""

    pair_tries: str
    pair_lock: str
    pair_strikes: str
    ip_tries: str
    ip_ok: str
    ip_lock: str
    ip_strikes: str
    locked_marker: str


_PREFIX = "console:login:"
_ADDRESSES = "@addresses"
# Generations are bumped by an admin's unlock; they outlive every key made under an older one.
_GENERATION_TTL = 30 * 24 * 3600


def _account_tag(policy: LoginPolicy, username: str) -> str:
    # A keyed digest: the username field sometimes holds a password typed in the wrong box.
    return hmac.new(policy.key, username.strip().lower().encode(), hashlib.sha256).hexdigest()[:24]


def login_keys(store: Store, policy: LoginPolicy, username: str, ip: str) -> LoginKeys:
    account = _account_tag(policy, username)
    pair = f"{store.get(_PREFIX + 'gen:' + account) or 0}:{account}:{ip}"
    address = f"{store.get(_PREFIX + 'gen:' + _ADDRESSES) or 0}:{ip}"
    return LoginKeys(
        pair_tries=f"{_PREFIX}tries:{pair}", pair_lock=f"{_PREFIX}lock:{pair}", pair_strikes=f"{_PREFIX}strikes:{pair}",
        ip_tries=f"{_PREFIX}iptries:{address}", ip_ok=f"{_PREFIX}ipok:{address}", ip_lock=f"{_PREFIX}iplock:{address}",
        ip_strikes=f"{_PREFIX}ipstrikes:{address}", locked_marker=f"{_PREFIX}locked:{account}")


def _lock(store: Store, policy: LoginPolicy, lock: str, strikes: str) -> int:
    """Lock (once, however many requests arrive together): each lock of the same key lasts twice the last.

    The tries are not reset here: a request that passed the lock check a moment before would start
    counting again from 1. Their window (lockout_seconds from the first try) ends before any lock does.
    """
    earlier = int(store.get(strikes) or 0)
    seconds = min(policy.lockout_seconds * 2 ** min(earlier, 16), policy.max_lockout_seconds)
    if store.set_nx(lock, str(seconds), seconds):
        store.incr(strikes, 2 * policy.max_lockout_seconds)
        return seconds
    return int(float(store.get(lock) or seconds))


def _locked_for(store: Store, keys: LoginKeys) -> int:
    held = store.get(keys.pair_lock) or store.get(keys.ip_lock)
    return int(float(held)) if held else 0


def reserve_attempt(store: Store, policy: LoginPolicy, username: str, ip: str) -> LoginKeys:
    """Count this try before the password is looked at (atomically, in the store), or raise LoginThrottled.

    Counting after the check let concurrent guesses all pass a limit that each one alone respected.
    """
    keys = login_keys(store, policy, username, ip)
    held = _locked_for(store, keys)
    if held:
        raise LoginThrottled(held)
    if store.incr(keys.pair_tries, policy.lockout_seconds) > policy.attempts_per_user:
        raise LoginThrottled(_lock(store, policy, keys.pair_lock, keys.pair_strikes))
    # The address counts tries minus successes: an office's staff logging in one after another never add up.
    tries = store.incr(keys.ip_tries, policy.lockout_seconds)
    if tries - int(store.get(keys.ip_ok) or 0) > policy.attempts_per_ip:
        raise LoginThrottled(_lock(store, policy, keys.ip_lock, keys.ip_strikes))
    return keys


def _mark_locked(store: Store, keys: LoginKeys, ip: str, seconds: int) -> None:
    # For the staff page: this account is locked somewhere (the address is shown to the admin).
    store.set(keys.locked_marker, ip, max(seconds, 1))


def login_locked_from(store: Store, policy: LoginPolicy, username: str) -> str | None:
    """The address this account was last locked at, while that lock may still hold; None otherwise."""
    return store.get(_PREFIX + "locked:" + _account_tag(policy, username))


def unlock_login(session: Session, store: Store, policy: LoginPolicy, user: StaffUser, *, actor: str,
                 now: dt.datetime, ip: str | None = None) -> None:
    """An admin lifts the login locks of this account (at every address) and of the addresses' counters."""
    account = _account_tag(policy, user.username)
    store.incr(_PREFIX + "gen:" + account, _GENERATION_TTL)
    store.incr(_PREFIX + "gen:" + _ADDRESSES, _GENERATION_TTL)
    store.delete(_PREFIX + "locked:" + account)
    audit(session, actor, "staff.unlock", user.username, now=now, ip=ip)


def log_in(session: Session, store: Store, policy: LoginPolicy, username: str, password: str, *,
           ip: str, now: dt.datetime) -> StaffUser:
    """The account if the password is right; raises LoginThrottled or LoginFailed (both audited)."""
    username = username.strip()[:64]
    user = find(session, username)
    # Only an existing account's name is written down: an unknown one may be a mistyped password.
    known = user.username if user is not None else None
    try:
        keys = reserve_attempt(store, policy, username, ip)
    except LoginThrottled as throttled:
        if user is not None:
            _mark_locked(store, login_keys(store, policy, username, ip), ip, throttled.seconds)
        audit(session, known or "-", "login.throttled", known, now=now, ip=ip,
              note=None if known else "未知用户名")
        raise
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if not ok or user is None or user.disabled:
        disabled = bool(ok and user is not None and user.disabled)
        audit(session, known or "-", "login.failed", known, now=now, ip=ip,
              note="账号已停用" if disabled else (None if known else "未知用户名"))
        log.info("failed console login for %s from %s", repr(known) if known else "an unknown username", ip)
        raise LoginFailed(disabled=disabled)
    store.delete(keys.pair_tries)
    store.delete(keys.pair_strikes)
    store.incr(keys.ip_ok, policy.lockout_seconds * 2)
    user.last_login_at = now
    audit(session, user.username, "login", user.username, now=now, ip=ip)
    return user
