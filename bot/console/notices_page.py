"""Notices no channel could deliver: a dashboard figure and the list behind it.

A staff action that notifies a citizen (a report's progress or reply, a prize, a reminder) must not
end silently undelivered: the dashboard counts them and links here; each row says why, in Chinese,
and a report's notice links to the report's page (for staff who may see reports).
"""

from __future__ import annotations

import datetime as dt

from flask import render_template, url_for
from sqlalchemy.orm import Session

from bot.console import current_bot, db, labels
from bot.console.dashboard import Figure, Panel
from bot.console.registry import panel, route
from bot.runtime import Bot
from bot.services import notices


@panel("undelivered", "无法送达的通知", action="view_dashboard", order=91)
def undelivered_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    count = notices.undelivered_count(session)
    return Panel(summary=[("无法送达", Figure("notices.undelivered", count))],
                 note="发给单个用户、没有任何渠道能送达的通知（超出 48 小时窗口且未配置模板消息或订阅通知、对方取消关注等）。",
                 link=("查看无法送达的通知", url_for("console.undelivered_notices")))


@route("/notices/undelivered", action="view_dashboard")
def undelivered_notices() -> str:
    found = notices.undelivered(db())
    tickets = notices.report_tickets(db(), current_bot().vault, found)
    rows = [{"delivery": d, "purpose": labels.purpose(d.purpose), "state": notices.state(d),
             "reason": notices.reason(d), "ticket": tickets.get(d.id)} for d in found]
    return render_template("console/notices.html", rows=rows)
