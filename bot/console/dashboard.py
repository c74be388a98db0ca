"""The dashboard: a list of panels. Each feature adds its own with `@panel(...)` in its console module.

A panel's `build(session, bot, now)` returns a Panel: headline figures, an optional SVG chart and a
table. Every number is a Figure with a stable key, rendered with `data-figure`/`data-value` so tests
can compare the page with the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from bot.clock import TZ
from bot.console import current_bot, db, labels, now
from bot.console.charts import bar_chart, line_chart
from bot.console.registry import PanelSpec, page, panel, panels_for
from bot.models import Citizen, Delivery, DeliveryStatus
from bot.runtime import Bot

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Figure:
    key: str
    value: int | float

    def __str__(self) -> str:
        return str(self.value)


@dataclasses.dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[tuple[str, Sequence[Figure | str]]]
    caption: str = ""
    collapsed: bool = False


@dataclasses.dataclass(frozen=True)
class Panel:
    summary: Sequence[tuple[str, Figure]] = ()
    chart: Markup | None = None
    table: Table | None = None
    note: str = ""
    link: tuple[str, str] | None = None  # (label, console URL) to the page behind the figures


@dataclasses.dataclass(frozen=True)
class BuiltPanel:
    spec: PanelSpec
    panel: Panel | None  # None: building it failed (logged); the other panels still show


# --- helpers for panels -------------------------------------------------------------------------

MAX_DAYS = 62


def dashboard_days(today: dt.date, campaign_start: dt.date) -> list[dt.date]:
    """From the campaign's start to today (at most MAX_DAYS, the latest); two weeks before it starts."""
    first = campaign_start if campaign_start <= today else today - dt.timedelta(days=13)
    first = max(first, today - dt.timedelta(days=MAX_DAYS - 1))
    return [first + dt.timedelta(days=n) for n in range((today - first).days + 1)]


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=TZ)


def count_per_day(session: Session, column: Any, days: Sequence[dt.date],
                  where: ColumnElement[bool] | None = None) -> list[int]:
    """How many rows have `column` on each Asia/Shanghai day, in one query that works on any database."""
    if not days:
        return []
    bounds = [(day_start(d), day_start(d + dt.timedelta(days=1))) for d in days]
    sums = [func.coalesce(func.sum(case((and_(column >= a, column < b), 1), else_=0)), 0) for a, b in bounds]
    query = select(*sums).where(column >= bounds[0][0], column < bounds[-1][1])
    if where is not None:
        query = query.where(where)
    return [int(v) for v in session.execute(query).one()]


def day_label(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


# --- the page -----------------------------------------------------------------------------------

def build_panels(role: str, session: Session, bot: Bot, moment: dt.datetime) -> list[BuiltPanel]:
    built = []
    for spec in panels_for(role):
        try:
            built.append(BuiltPanel(spec, spec.build(session, bot, moment)))
        except Exception:
            log.exception("dashboard panel %s failed", spec.name)
            session.rollback()
            built.append(BuiltPanel(spec, None))
    return built


@page("/", "数据看板", action="view_dashboard", order=10)
def dashboard() -> str:
    from flask import render_template
    from flask_login import current_user

    moment = now()
    panels = build_panels(current_user.role, db(), current_bot(), moment)
    return render_template("console/dashboard.html", panels=panels, moment=moment)


# --- panels that need only what every install has -----------------------------------------------

@panel("followers", "关注人数", action="view_dashboard", order=10)
def followers_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    start = dt.date.fromisoformat(bot.config.quiz.campaign_start)
    days = dashboard_days(moment.date(), start)
    subscribed = count_per_day(session, Citizen.subscribed_at, days)
    unsubscribed = count_per_day(session, Citizen.unsubscribed_at, days)
    first_seen = count_per_day(session, Citizen.first_seen_at, days)
    following = session.scalar(select(func.count()).select_from(Citizen).where(Citizen.unsubscribed_at.is_(None)))
    left = session.scalar(select(func.count()).select_from(Citizen).where(Citizen.unsubscribed_at.is_not(None)))
    total = session.scalar(select(func.count()).select_from(Citizen))
    labels = [day_label(d) for d in days]
    chart = line_chart(labels, [("新关注", subscribed), ("取消关注", unsubscribed), ("首次互动", first_seen)],
                       "每日关注与取消关注")
    rows = [(f"{d.isoformat()}", [Figure(f"followers.subscribed.{d.isoformat()}", s),
                                  Figure(f"followers.unsubscribed.{d.isoformat()}", u),
                                  Figure(f"followers.first_seen.{d.isoformat()}", f)])
            for d, s, u, f in zip(days, subscribed, unsubscribed, first_seen, strict=True)]
    return Panel(
        summary=[("当前关注", Figure("followers.following", following or 0)),
                 ("已取消关注", Figure("followers.left", left or 0)),
                 ("互动过的用户", Figure("followers.total", total or 0))],
        chart=chart,
        table=Table(["日期", "新关注", "取消关注", "首次互动"], list(reversed(rows)), caption="按日明细", collapsed=True),
        note="“新关注”按最近一次关注的时间计；重新关注的用户只计一次。",
    )


# The panel's columns, always shown; a state outside them (uncertain, cancelled) gets a column when it occurs.
DELIVERY_STATUSES = {s: labels.DELIVERY_STATUSES[s] for s in (
    DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.FAILED,
    DeliveryStatus.UNDELIVERABLE)}


def delivery_status(status: str) -> str:
    return labels.DELIVERY_STATUSES.get(status, "其他状态")


PURPOSES = labels.PURPOSES  # what pushes are for, as staff say it (kept here for older imports)


@panel("deliveries", "推送送达情况", action="view_dashboard", order=90)
def deliveries_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    counts = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    statuses = list(DELIVERY_STATUSES) + sorted(set(counts) - set(DELIVERY_STATUSES))
    items = [(delivery_status(s), counts.get(s, 0)) for s in statuses]
    by_purpose = session.execute(select(Delivery.purpose, Delivery.status, func.count())
                                 .group_by(Delivery.purpose, Delivery.status)).all()
    purposes = sorted({p for p, _, _ in by_purpose})
    cell = {(p, s): n for p, s, n in by_purpose}
    rows = [(labels.purpose(p), [Figure(f"deliveries.{p}.{s}", cell.get((p, s), 0)) for s in statuses])
            for p in purposes]
    return Panel(
        summary=[(label, Figure(f"deliveries.{s}", count)) for s, (label, count) in zip(statuses, items, strict=True)],
        chart=bar_chart(items, "推送按状态"),
        table=Table(["用途", *(delivery_status(s) for s in statuses)], rows, caption="按用途"),
    )


@panel("wechat_api", "微信接口状态", action="view_dashboard", order=89)
def wechat_api_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    """Whether the senders are paused because WeChat's token endpoint refused (IP whitelist, secret, quota)."""
    pause = bot.extensions["api"].token_pause()
    if pause is None:
        return Panel(note="正常：可以从微信获取接口调用凭证，推送照常发送。")
    return Panel(note=f"已暂停发送，至 {pause.until:%m-%d %H:%M}（自 {pause.since:%m-%d %H:%M} 起），之后自动重试；"
                      f"待发送的推送保留，不会丢失。原因：{pause.reason}")


RECENT = 20


def mask_openid(openid: str) -> str:
    return openid[:6] + "…" + openid[-4:] if len(openid) > 12 else openid


@panel("recent_followers", "最近关注", action="view_dashboard", order=20)
def recent_followers_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    rows = session.execute(select(Citizen.openid, Citizen.subscribed_at, Citizen.subscribe_scene, Citizen.township)
                           .where(Citizen.subscribed_at.is_not(None))
                           .order_by(Citizen.subscribed_at.desc(), Citizen.id.desc()).limit(RECENT)).all()
    townships = bot.content.townships
    table_rows = []
    for openid, at, scene, township in rows:
        place = townships.get(township).name if township and townships.get(township) else (township or "")
        table_rows.append((at.strftime("%m-%d %H:%M"), [mask_openid(openid), scene or "", place]))
    return Panel(table=Table(["关注时间", "用户", "来源（二维码场景）", "乡镇"], table_rows),
                 note=f"最近 {RECENT} 位关注的用户。来源为扫码关注时二维码携带的场景值。")
