"""The console's one table of Chinese labels for the names the code uses inside (issue 20).

Jobs, outbox purposes, audit targets and fields, content parts and fields, and the people a history
names: every page and flash that would show such a name shows its label from here. A name missing
from a table is shown as a plain Chinese fallback (never as the identifier), and the crawl test
(tests/test_console_chinese.py) fails on any identifier that still reaches a page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from bot.services.events import KINDS as EVENT_KINDS
from bot.services.pushplan import KINDS as PUSH_KINDS
from bot.services.staff import ROLE_NAMES

# Scheduled jobs of bot/background/jobs/__init__.py.
JOBS = {
    "push_plan": "推送计划（到点群发警示教育内容）",
    "photo_downloads": "下载举报照片",
    "overdue_reports": "超期举报清单",
    "erase_report_contacts": "清除到期的举报人联系方式",
    "forget_notice_recipients": "删除已办结通知里的收件人",
    "close_idle_quiz_rounds": "结束长时间未作答的答题",
    "expire_quiz_prizes": "作废逾期未领取的奖品",
    "purge_report_drafts": "清理过期的举报草稿",
    "event_reminders": "发送活动提醒",
}

# What an outbox row is for.
PURPOSES = {
    "broadcast": "群发", "broadcast_preview": "群发预览", "report_status": "举报进度通知",
    "report_reply": "举报回复", "quiz_prize": "中奖通知", "event_reminder": "活动提醒", "push_plan": "计划推送",
    "township_tag": "按乡镇打标签", "event_cancelled": "活动取消通知",
    "event_changed": "活动变更通知",
}

DELIVERY_STATUSES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败",
                     "undeliverable": "无法送达", "uncertain": "不确定是否送达", "cancelled": "已取消"}

# Who acted in a report's history, when it was not a staff member.
ACTORS = {"citizen": "市民", "system": "系统", "scheduler": "定时任务", "cli": "服务器命令行", "-": "未知账号"}

ROLES = ROLE_NAMES  # the staff service's own names of its roles

# Fields of audit snapshots and content records.
FIELDS = {
    # staff and login
    "username": "用户名", "role": "角色", "disabled": "已停用", "real_name": "姓名", "wechat": "已绑定微信号",
    # schedule and broadcasts
    "paused": "已暂停", "ok": "运行成功", "status": "状态", "send_at": "发送时间", "recipients": "接收人数",
    "title": "标题", "type": "类型", "audience": "发送对象", "cancelled": "取消条数", "openids": "预览对象",
    "preview_to": "预览给", "content": "内容",
    # reports
    "township": "乡镇", "due_at": "办理期限", "reward_eligible": "符合奖励条件", "reward_amount": "奖励金额",
    "format": "格式", "rows": "条数", "filter": "筛选条件", "category": "类别", "overdue": "仅超期",
    "since": "起始日期", "until": "截止日期",
    # quiz
    "prize": "奖品", "winners": "中奖人数", "period": "抽奖期间", "entries": "参与条数", "list_digest": "名单摘要",
    "commitment": "承诺值", "beacon": "公开随机数", "seed": "种子", "prizes": "中奖记录", "flagged": "标记为可疑",
    "reviewed_by": "复核人", "delivered": "已发放", "delivered_by": "发放人", "claimed": "已领取",
    "erase_after": "联系方式删除日期",
    # identity key rotation (python -m bot keys rotate)
    "pending": "待重新加密", "resealed": "已重新加密", "unreadable": "两把密钥都打不开",
    "changed_meanwhile": "加密期间被改动",
}

# Fields of the content (content/*.toml as loaded), for the read-only content page.
FIELDS.update({
    "name": "名称", "aliases": "别名", "latitude": "纬度", "longitude": "经度", "department": "主管部门",
    "phone": "电话", "in_remit": "属本局受理", "example": "示例", "detect": "隐患识别词", "hazards": "隐患词",
    "problems": "问题词", "questions": "问句词", "entries": "条目", "topics": "主题", "topic": "主题",
    "question": "问题", "phrasings": "问法", "keywords": "关键词", "answer": "答案", "source": "出处",
    "available_from": "起用日期", "available_until": "停用日期", "kinds": "紧急情况", "numbers": "求助电话",
    "first": "首先要做", "then": "然后", "now": "触发词", "knowledge": "相关知识", "report": "可举报",
    "gas_line": "燃气抢修电话", "gas_unknown": "燃气电话未知时", "items": "条目", "when": "时间",
    "audience_text": "对象说明", "kind": "类型", "digest": "摘要", "body": "正文", "cover": "封面",
    "text": "题干", "options": "选项", "explanation": "解析", "start": "开始", "end": "结束", "all_day": "全天",
    "place": "地点", "description": "说明", "link": "链接", "contact": "联系方式", "buttons": "菜单按钮",
    "url": "网址", "sub": "子菜单", "label": "说明",
    "intents": "可识别的意图", "confidence": "置信度下限", "margin": "领先第二名至少",
})

# What a citizen's free question can be recognised as (content/intents/).
INTENTS = {"emergency": "紧急求助", "events": "问活动", "greeting": "打招呼", "hazard_statement": "描述隐患",
           "help": "求帮助", "knowledge": "问安全知识", "leaderboard": "问排行榜", "my_reports": "查我的举报",
           "my_score": "查我的成绩", "out_of_scope": "与本号无关", "prize": "问奖品", "quiz": "想答题",
           "report": "想举报", "ticket_query": "按编号查举报", "township": "选乡镇"}


def intent(name: str) -> str:
    return INTENTS.get(name, "其他意图")
# Content fields that are only identifiers or file bookkeeping: not shown on the content page.
HIDDEN_FIELDS = frozenset({"id", "key", "path", "file", "group", "distinct_from", "entry_ids", "label", "audience_text",
                           "keywords"})  # keywords: matching weights, not text

# The reply texts of content/replies.toml, by when the bot says them.
REPLIES = {"welcome": "关注时的欢迎语", "help_header": "帮助的开头", "help_footer": "帮助的结尾",
           "fallback": "没有理解时", "apology": "系统出错时的致歉", "busy": "上一条还在处理时",
           "busy_system": "系统繁忙时", "timeout": "操作超时结束时", "cancelled": "取消操作后",
           "nothing_to_cancel": "没有可取消的操作时", "not_understood_media": "收到无法处理的图片、视频等时",
           "voice_unrecognised": "语音无法识别时"}

COVERS = {"calligraphy.jpg": "书法作品", "case.jpg": "案例警示", "default.png": "默认封面", "lesson.jpg": "安全课堂",
          "notice.jpg": "通知公告", "painting.jpg": "绘画作品", "video.jpg": "视频展播"}


# What a placeholder in the content's text stands for (filled in when the bot replies).
PLACEHOLDERS = {"{gas}": "〔燃气公司抢修电话〕"}


def with_placeholders_named(text: str) -> str:
    for placeholder, name in PLACEHOLDERS.items():
        text = text.replace(placeholder, name)
    return text


def cover(path: str, number: int) -> str:
    """A cover image under content/covers/ by what it shows (a file not listed: 封面图 N)."""
    return COVERS.get(path.rpartition("/")[2], f"封面图 {number}")


def reply(key: str) -> str:
    return REPLIES.get(key, "其他回复语")


# Values of some fields, as staff say them.
VALUES: dict[str, Mapping[str, str]] = {
    "role": ROLES,
    "type": {"text": "文字", "news": "图文", "click": "点击后回复", "view": "打开网页", "": "子菜单"},
    "status": {"draft": "草稿", "scheduled": "定时待发", "queued": "已排队", "cancelled": "已取消", "sent": "已发出",
               "failed": "失败", "committed": "已锁定名单", "revealed": "已开奖", "submitted": "已提交",
               "accepted": "已受理", "rejected": "不予受理", "verifying": "核查中", "rectified": "已整改",
               "unfounded": "情况不属实", "closed": "已办结",
               # a quiz prize's (the words of the draw page's PRIZE_STATUS)
               "won": "待领奖", "claimed": "已登记，待发放", "delivered": "已发放", "expired": "逾期未领"},
    "format": {"xlsx": "Excel", "csv": "CSV"},
}
# An event's or a push item's kind (their ids do not overlap).
VALUES["kind"] = {**{k.id: k.label for k in EVENT_KINDS.values()}, **PUSH_KINDS}

# Audit targets are "<kind>:<id>"; a kind not listed shows as 对象.
TARGET_KINDS = {"broadcast": "群发", "job": "定时任务", "plan": "推送计划项", "draw": "抽奖", "prize": "奖品",
                "round": "答题轮次", "report": "举报", "staff": "账号", "key": "身份密钥", "events": "活动日历中的活动",
                "pushes": "推送内容"}


def job(job_id: str) -> str:
    return JOBS.get(job_id, "定时任务")


def purpose(name: str | None) -> str:
    return PURPOSES.get(name or "", "其他通知")


def actor(name: str | None) -> str:
    """A history's actor: 市民 / 系统 for the non-staff ones, a staff member's username as it is."""
    return ACTORS.get(name or "-", name or "未知账号")


def field(name: str) -> str:
    return FIELDS.get(name, "其他")


Resolvers = Mapping[str, Callable[[Any], str]]


def value(name: str, raw: Any, resolvers: Resolvers | None = None) -> str:
    """A stored value of field `name`, for a person: 是/否, dates, role and status names, and what
    `resolvers` name from the content (audiences, townships, report categories)."""
    resolvers = resolvers or {}
    if raw is None or raw == "":
        return "（空）"
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if name in resolvers and not isinstance(raw, list | tuple):
        return resolvers[name](raw)
    if isinstance(raw, Mapping):
        return "；".join(f"{field(k)}：{value(k, v, resolvers)}" for k, v in raw.items())
    if isinstance(raw, list | tuple):
        return "、".join(value(name, v, resolvers) for v in raw) or "（空）"
    if isinstance(raw, str) and name in VALUES:
        return VALUES[name].get(raw, raw)
    if isinstance(raw, str) and name in ("send_at", "due_at", "start", "end", "when", "erase_after") and "T" in raw:
        try:
            return dt.datetime.fromisoformat(raw).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return raw
    return str(raw)


def target(text: str | None, *, plan_titles: Mapping[str, str] | None = None) -> str:
    """An audit target such as "broadcast:7", "job:push_plan" or "plan:launch", named for a person."""
    if not text:
        return ""
    kind, sep, ident = text.partition(":")
    if not sep:
        return text  # a username or a ticket number: data, shown as it is
    if kind == "job":
        return f"定时任务：{job(ident)}"
    if kind == "plan":
        return f"推送计划项：{(plan_titles or {}).get(ident, '（已从计划中删除）')}"
    return f"{TARGET_KINDS.get(kind, '对象')} {ident}" if ident.isdigit() else TARGET_KINDS.get(kind, "对象")


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
            resolvers: Resolvers | None = None) -> list[tuple[str, str, str]]:
    """The fields an audited change touched: (label, before, after), unchanged fields left out."""
    before, after = before or {}, after or {}
    rows = []
    for name in list(dict.fromkeys([*before, *after])):
        old, new = before.get(name), after.get(name)
        if name == "id" or (name in before and name in after and old == new):  # an id: the target names it
            continue
        rows.append((field(name), value(name, old, resolvers) if name in before else "",
                     value(name, new, resolvers) if name in after else ""))
    return rows
