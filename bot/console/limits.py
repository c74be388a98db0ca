"""Oversized input anywhere in the console is a clear Chinese 400, never a 500 (issue 17 item 4).

Every length a form advertises (`maxlength` in bot/console/templates) is checked here on the server,
where a client that ignores the attribute cannot skip it; tests/test_console_limits.py reads the
templates and fails when a form advertises a length this table does not hold. Fields that advertise
none are held to DEFAULT_FIELD_CAP, query arguments to QUERY_ARG_CAP, and `?page=` must be a page
number no larger than MAX_PAGE (a huge one overflowed the database's OFFSET: a 500).
"""

from __future__ import annotations

from flask import render_template, request

from bot.console import labels
from bot.console.registry import bp

# endpoint → field → the maxlength its form advertises. (The draw form's title and prize, 100 each,
# are checked by its view, which answers with the form's own error: not repeated here.)
ADVERTISED: dict[str, dict[str, int]] = {
    "console.account_password": {"current": 128, "new": 128, "repeat": 128},
    "console.login": {"username": 64, "password": 128},
    "console.staff_add": {"username": 32, "real_name": 32},
    "console.staff_real_name": {"real_name": 32},
    "console.broadcast_compose": {"title": 64, "content": 600, "description": 128, "body": 5000, "url": 1000,
                                  "tag": 10},
    "console.quiz_draw_reveal": {"beacon": 200},
    "console.quiz_draw_create": {"start": 12, "end": 12},
    "console.broadcast_send": {"at": 20},
    "console.broadcast_update": {"title": 64, "content": 600, "description": 128, "body": 5000, "url": 1000,
                                 "tag": 10},
    "console.report_reveal": {"reason": 200},
    "console.report_status": {"note": 500},
    "console.report_reward": {"note": 200, "amount": 7},
    "console.report_reply": {"text": 500},
    "console.report_note": {"text": 1000},
    "console.reports_export_identity": {"reason": 200},
    "console.schedule_pause": {"reason": 200},
}
DEFAULT_FIELD_CAP = 1000
QUERY_ARG_CAP = 200
MAX_PAGE = 10_000

LABELS = {"title": "标题", "content": "文字内容", "description": "摘要", "prize": "奖品", "beacon": "公开随机数",
          "reason": "理由", "note": "说明", "text": "内容", "username": "用户名", "password": "密码",
          "openids": "预览对象", "url": "链接", "image": "图片链接", "target": "对象", "body": "正文",
          "tag": "标签号", "amount": "金额", "current": "当前密码", "new": "新密码", "repeat": "再输一次新密码",
          "real_name": "姓名", "at": "定时", "start": "开始日期", "end": "结束日期",
          # form fields the console's own table (labels.FIELDS) does not name
          "action": "操作", "actor": "操作人", "base": "基准", "confirm": "确认", "eligible": "参与资格",
          "end_day": "结束日期", "end_time": "结束时间", "id": "编号", "next": "下一页", "staff": "工作人员",
          "start_day": "开始日期", "start_time": "开始时间", "to": "截止日期", "verdict": "结论", "when_day": "日期",
          "when_time": "时间"}
UNNAMED = "其中一项"  # a field neither table knows is never shown to staff by its code name


def field_cap(endpoint: str | None, name: str) -> int:
    return ADVERTISED.get(endpoint or "", {}).get(name, DEFAULT_FIELD_CAP)


def label_of(name: str) -> str:
    """A field as its form words it, else as the console's one table of labels names it."""
    return LABELS.get(name) or labels.FIELDS.get(name, UNNAMED)


def too_long(name: str, cap: int, length: int) -> tuple[str, int]:
    label = label_of(name)
    return refusal("输入内容过长", f"“{label}”最多 {cap} 个字，您输入了 {length} 个字，操作未执行。"
                                  "请返回上一页缩短后重试。")


def refusal(title: str, message: str) -> tuple[str, int]:
    return render_template("console/error.html", code=400, title=title, message=message), 400


@bp.before_request
def refuse_oversized_input() -> tuple[str, int] | None:
    page = request.args.get("page")
    if page is not None and not (page.isdigit() and 1 <= int(page) <= MAX_PAGE):
        return refusal("页码无效", f"页码须是 1 到 {MAX_PAGE} 之间的整数。请返回列表重新翻页。")
    for name, value in request.args.items(multi=True):
        if len(value) > QUERY_ARG_CAP:
            return too_long(name, QUERY_ARG_CAP, len(value))
    for name, value in request.form.items(multi=True):
        cap = field_cap(request.endpoint, name)
        if len(value) > cap:
            return too_long(name, cap, len(value))
    return None
