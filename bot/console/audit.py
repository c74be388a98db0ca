"""The audit log page (admin only), and `record(...)` for console views to audit what they change.

Services that change things on a staff member's behalf call `bot.services.audit.audit(...)` with the
actor; a console view that has no such service calls `record(...)`, which fills in actor, time and IP.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template, request
from flask_login import current_user

from bot.console import client_ip, current_bot, db, labels, now
from bot.console.dashboard import day_start
from bot.console.moments import filter_day
from bot.console.registry import page
from bot.models import AuditEntry
from bot.services.audit import AuditFilter, audit, entries, known_actions, known_actors

PAGE_SIZE = 50

ACTION_NAMES = {
    "login": "登录", "logout": "退出", "logout.idle": "超时自动退出", "login.failed": "登录失败",
    "login.throttled": "登录被锁定", "staff.add": "新增账号", "staff.password": "修改密码",
    "staff.role": "修改角色", "staff.disable": "停用账号", "staff.enable": "启用账号",
    "staff.unlock": "解除登录锁定", "keys.rotate.begin": "开始更换身份密钥",
    "keys.rotate": "更换身份密钥",
}


def record(action: str, target: str | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, note: str | None = None) -> AuditEntry:
    """Audit an action of the logged-in staff member, in the request's session (the caller commits)."""
    return audit(db(), current_user.username, action, target, before, after, now=now(), ip=client_ip(), note=note)


def readable(entry: AuditEntry) -> dict[str, Any]:
    """An audit row as staff read it: the target named, and the changed fields listed with labels."""
    content = current_bot().content
    titles = {i.id: i.title for i in content.pushes.items}
    target = labels.target(entry.target, plan_titles=titles)
    kind = (entry.target or "").partition(":")[0]
    snapshot = entry.after or entry.before or {}
    if kind in ("events", "pushes") and snapshot.get("title"):  # an edited event or push item, by its title
        target = f"{labels.TARGET_KINDS[kind]}：{snapshot['title']}"
    return {"target": target, "changes": labels.changes(entry.before, entry.after, content_names(content))}


def content_names(content: Any) -> labels.Resolvers:
    """How audit values that point into the content are named: audiences, townships, categories."""
    from bot.services.broadcasts import describe_audience

    def township(ident: Any) -> str:
        found = content.townships.get(str(ident))
        return found.name if found else "未分派" if ident in ("none", None) else "已删除的乡镇"

    def category(ident: Any) -> str:
        found = content.report_categories.get(str(ident))
        return found.name if found else "其他类别"

    from bot.services.pushplan import parse_audience

    def audience(value: Any) -> str:
        # A broadcast's audience is a mapping, a push item's the plan's text ("all", "township:…"),
        # an event's the people it is for, in words.
        parsed = value if isinstance(value, dict) else parse_audience(str(value))
        return describe_audience(parsed, content) if parsed else str(value)

    return {"audience": audience, "township": township, "category": category,
            "cover": lambda path: labels.cover(str(path), 0)}


@page("/audit", "操作日志", action="view_audit", order=90)
def audit_log() -> str:
    args = request.args
    since, until = filter_day(args.get("since", ""), "从"), filter_day(args.get("until", ""), "到")
    where = AuditFilter(actor=args.get("actor", "").strip(), action=args.get("action", "").strip(),
                        target=args.get("target", "").strip(),
                        since=day_start(since) if since else None,
                        until=day_start(until + dt.timedelta(days=1)) if until else None)
    page_no = max(1, args.get("page", 1, type=int) or 1)
    rows, total = entries(db(), where, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    session = db()
    return render_template("console/audit.html", rows=rows, total=total, where=where, page_no=page_no,
                           pages=max(1, -(-total // PAGE_SIZE)), actions=known_actions(session),
                           actors=known_actors(session), action_names=ACTION_NAMES, readable=readable,
                           since=args.get("since", ""), until=args.get("until", ""))
