"""Staff members' own WeChat accounts, where broadcast previews go (issue 20).

A member asks the console for a code and sends `绑定 <code>` to the official account from their own
WeChat; the handler (handlers/staff_bind.py) then stores that message's openid on their account. So
nobody types an openid, and a preview can only go to an account its owner proved is theirs. A member
unbinds their own; an admin may unbind anyone's (a lost phone, a member who left), and the member's
account page then says who did and when (from the audit log).
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import AuditEntry, StaffUser
from bot.services.audit import audit

CODE_MINUTES = 30
CODE_DIGITS = 6


def new_code(session: Session, user: StaffUser, now: dt.datetime) -> str:
    """A fresh code for `user`, valid CODE_MINUTES; it replaces any earlier one."""
    while True:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        if session.scalar(select(StaffUser.id).where(StaffUser.bind_code == code)) is None:
            break
    user.bind_code, user.bind_code_expires_at = code, now + dt.timedelta(minutes=CODE_MINUTES)
    return code


def bind(session: Session, code: str, openid: str, now: dt.datetime) -> StaffUser | None:
    """The account whose live code this is, now bound to `openid` (None: no such code, or expired).
    An openid bound to another account moves to this one: a WeChat account previews for one member."""
    user = session.scalar(select(StaffUser).where(StaffUser.bind_code == code, StaffUser.disabled.is_(False)))
    if user is None or user.bind_code_expires_at is None or user.bind_code_expires_at < now:
        return None
    for other in session.scalars(select(StaffUser).where(StaffUser.wechat_openid == openid, StaffUser.id != user.id)):
        other.wechat_openid, other.wechat_bound_at = None, None
    session.flush()
    before = {"wechat": bool(user.wechat_openid)}
    user.wechat_openid, user.wechat_bound_at = openid, now
    user.bind_code, user.bind_code_expires_at = None, None
    audit(session, user.username, "staff.wechat_bind", user.username, before, {"wechat": True}, now=now)
    return user


def unbind(session: Session, user: StaffUser, now: dt.datetime, ip: str | None = None,
           actor: str | None = None) -> None:
    """Forget `user`'s WeChat account: by themselves, or by an admin (`actor`)."""
    user.wechat_openid, user.wechat_bound_at = None, None
    audit(session, actor or user.username, "staff.wechat_unbind", user.username, {"wechat": True}, {"wechat": False},
          now=now, ip=ip)


def unbound_by_other(session: Session, user: StaffUser) -> AuditEntry | None:
    """The audit entry of someone else unbinding `user`'s WeChat, if that is why it is unbound now."""
    if user.wechat_openid:
        return None
    last = session.scalar(select(AuditEntry).where(
        AuditEntry.target == user.username, AuditEntry.action.in_(("staff.wechat_bind", "staff.wechat_unbind")))
        .order_by(AuditEntry.id.desc()).limit(1))
    if last is None or last.action != "staff.wechat_unbind" or last.actor == user.username:
        return None
    return last


def preview_recipients(session: Session) -> list[StaffUser]:
    """Active members with a bound WeChat account: whom a preview may go to."""
    return list(session.scalars(select(StaffUser).where(StaffUser.wechat_openid.is_not(None),
                                                        StaffUser.disabled.is_(False)).order_by(StaffUser.username)))
