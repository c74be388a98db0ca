"""Who may do what in the console: one table, enforced on the server by `@requires(action)`.

A page or form handler names the action it needs; the table below says which roles have it. A view
without an action (or marked public) fails the access test, so a new page cannot slip in unguarded.
"""

from __future__ import annotations

ACTIONS: dict[str, str] = {
    "view_dashboard": "查看数据看板",
    "view_reports": "查看举报",
    "triage_reports": "处理举报（受理、驳回、核实、办结、分派、回复）",
    "reveal_identity": "查看举报人身份",
    "export_reports": "导出举报",
    "export_identity": "导出含举报人身份的数据",
    "send_broadcast": "群发消息",
    "manage_draws": "抽奖与兑奖",
    "view_quiz": "查看答题数据",
    "edit_push_plan": "管理推送计划",
    "view_calendar": "查看活动日历和推送内容",
    "edit_calendar": "修改活动日历和推送内容（新增、修改、取消）",
    "view_content": "查看内容",
    "view_audit": "查看操作日志",
    "manage_staff": "管理人员账号",
    "change_own_password": "修改自己的密码",
}

ALL = frozenset(ACTIONS)

MATRIX: dict[str, frozenset[str]] = {
    "admin": ALL,
    # Reviewers triage hazard reports; they never see who reported (only an admin may reveal it).
    # They read the calendar and push plan (to answer a reporter who asks about an event), never edit it.
    "reviewer": frozenset({"view_dashboard", "view_reports", "triage_reports", "export_reports", "view_content",
                           "view_calendar", "change_own_password"}),
    # Editors run the campaign's communication: broadcasts, the quiz and its draws, the push plan,
    # the event calendar.
    "editor": frozenset({"view_dashboard", "send_broadcast", "manage_draws", "view_quiz", "edit_push_plan",
                         "view_content", "view_calendar", "edit_calendar", "change_own_password"}),
}


def can(role: str | None, action: str) -> bool:
    if action not in ACTIONS:
        raise KeyError(f"unknown console action {action!r}: add it to ACTIONS and MATRIX")
    return role is not None and action in MATRIX.get(role, frozenset())
