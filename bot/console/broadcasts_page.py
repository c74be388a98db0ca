"""Broadcasts (群发): compose text or news, preview to test accounts, send now or at a time, follow progress.

The work is bot/services/broadcasts.py's (quota, audiences, the outbox); this page turns its refusals
into a flash in Chinese and audits every step. Progress is a small JSON endpoint that
static/broadcasts.js polls until nothing is left to send.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from flask import Response, jsonify, render_template, request
from flask_login import current_user

from bot.clock import TZ
from bot.console import current_bot, db, found, now
from bot.console.audit import ACTION_NAMES, record
from bot.console.moments import moment_problem, parse_moment
from bot.console.outcomes import done, refused
from bot.console.registry import page, route
from bot.models import Broadcast, BroadcastStatus
from bot.runtime import content_dir
from bot.services import articles, broadcasts, notices, staff_wechat
from bot.services.outbox import text_payload

ACTION_NAMES.update({"broadcast.compose": "拟写群发", "broadcast.update": "修改群发草稿", "broadcast.delete": "删除群发草稿",
                     "broadcast.preview": "群发预览", "broadcast.send": "群发",
                     "broadcast.cancel": "取消群发", "broadcast.refused": "群发被拒（配额）"})
STATUS_NAMES = {BroadcastStatus.DRAFT: "草稿", BroadcastStatus.SCHEDULED: "定时待发", BroadcastStatus.QUEUED: "已排队",
                BroadcastStatus.CANCELLED: "已取消", BroadcastStatus.SENT: "微信确认已发出",
                BroadcastStatus.FAILED: "群发失败"}
OTHER_NAMES = {"cancelled": "已取消", "undeliverable": "无法送达"}
LIST = "console.broadcasts_list"  # where the actions here return


def progress_data(item: Broadcast) -> dict[str, Any]:
    """What the list and the JSON endpoint show: counts, a percentage and whether it is over."""
    p = broadcasts.progress(db(), item.id)
    finished = p.total - p.pending
    done = item.status == BroadcastStatus.CANCELLED or (item.status != BroadcastStatus.DRAFT and p.total > 0
                                                        and p.pending == 0)
    settled = item.status in (BroadcastStatus.CANCELLED, BroadcastStatus.SENT, BroadcastStatus.FAILED)
    name = "已发完" if done and not settled else STATUS_NAMES.get(item.status, item.status)
    wechat = [{**w, "status_name": broadcasts.describe_mass_status(str(w.get("status", "")))} for w in p.wechat]
    return {"id": item.id, "status": item.status, "status_name": name,
            "total": p.total, "sent": p.sent, "failed": p.failed, "pending": p.pending,
            "other": {OTHER_NAMES.get(k, k): v for k, v in p.other.items()}, "wechat": wechat,
            "reasons": list(p.reasons),
            "percent": round(100 * finished / p.total) if p.total else 0,
            "sent_percent": round(100 * p.sent / p.total) if p.total else 0,
            "failed_percent": round(100 * p.failed / p.total) if p.total else 0, "done": done}


def audience_choices() -> list[tuple[str, str]]:
    content = current_bot().content
    return ([("all", "全部关注者（群发，占用配额）"), ("active", "48小时内互动过的用户（客服消息，不占配额）")]
            + [(f"township:{t.id}", f"{t.name}的关注者（群发）") for t in content.townships.items]
            + [("tag", "指定标签（群发）")])


def preview_results(items: list[Broadcast]) -> dict[int, list[dict[str, str]]]:
    """Each broadcast's previews: to whom, and whether WeChat took it (a failure with its reason)."""
    from sqlalchemy import select

    from bot.models import Delivery, StaffUser

    names = {u.wechat_openid: u.display_name for u in db().scalars(select(StaffUser).where(
        StaffUser.wechat_openid.is_not(None)))}
    found: dict[int, list[dict[str, str]]] = {}
    for item in items:
        rows = db().scalars(select(Delivery).where(Delivery.key.like(f"broadcast:{item.id}:preview:%"))
                            .order_by(Delivery.id.desc()).limit(10))
        found[item.id] = [{"to": names.get(d.openid, "已解除绑定的微信号"), "state": notices.state(d),
                           "status": d.status,
                           "reason": notices.error_text(d.last_error, d.last_errcode) if d.status in (
                               "failed", "undeliverable") else ""} for d in rows]
    return found


def form_values(item: Broadcast | None) -> dict[str, str]:
    """The compose form's fields: empty for a new draft, the draft's own when editing it."""
    if item is None:
        return {"kind": "text", "audience": "all"}
    values = {"title": item.title, "kind": item.payload.get("type", "text")}
    if values["kind"] == "news":
        first = item.payload["articles"][0]
        values |= {"description": first.get("description", ""), "body": first.get("content", ""),
                   "cover": first.get("cover", ""), "url": first.get("url", "")}
    else:
        values["content"] = item.payload.get("content", "")
    audience = item.audience
    values["audience"] = ("active" if audience.get("active") else f"township:{audience['township']}"
                          if "township" in audience else "tag" if "tag_id" in audience else "all")
    values["tag"] = str(audience.get("tag_id", ""))
    return values


@page("/broadcasts", "群发", action="send_broadcast", order=40)
def broadcasts_list(editing: Broadcast | None = None) -> str:
    items = broadcasts.listing(db())
    content = current_bot().content
    return render_template("console/broadcasts.html", items=[(b, progress_data(b)) for b in items],
                           editing=editing, values=form_values(editing),
                           previews=preview_results(items), recipients=staff_wechat.preview_recipients(db()),
                           describe=lambda a: broadcasts.describe_audience(a, content),
                           choices=audience_choices(), status_names=STATUS_NAMES, moment=now(),
                           covers=cover_choices(),
                           account_type=current_bot().config.wechat.account_type)


def cover_choices() -> list[str]:
    """Cover images staff can pick: the JPEG/PNG files in content/covers/ (as paths under content/)."""
    folder = content_dir(current_bot().config) / "covers"
    return sorted(f"covers/{p.name}" for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def _payload(form: Any) -> dict[str, Any]:
    if form.get("kind") == "news":
        cover = form.get("cover", "")
        if cover not in cover_choices():
            raise broadcasts.BroadcastRefused("请选择封面图片")
        article = articles.article(title=form.get("title", "").strip(), digest=form.get("description", "").strip(),
                                   body=form.get("body", "").strip(), cover=cover, source_url=form.get("url", "").strip())
        return {"type": "news", "articles": [article]}
    return text_payload(form.get("content", "").strip())


def _audience_text(form: Any) -> str:
    choice = form.get("audience", "")
    return f"tag:{form.get('tag', '').strip()}" if choice == "tag" else choice


def _draft(item: Broadcast) -> dict[str, Any]:
    """A draft as its audit rows show it, before and after."""
    return {"title": item.title, "type": item.payload.get("type"), "audience": item.audience}


def _summary(item: Broadcast) -> dict[str, Any]:
    return {"status": item.status, "send_at": item.send_at.isoformat() if item.send_at else None,
            "recipients": item.recipients}


@route("/broadcasts/compose", action="send_broadcast", methods=["POST"])
def broadcast_compose() -> Response:
    form = request.form
    try:
        audience = broadcasts.parse_audience(_audience_text(form), current_bot().content)
        item = broadcasts.compose(db(), title=form.get("title", ""), payload=_payload(form), audience=audience,
                                  created_by=current_user.username, now=now(),
                                  content_dir=content_dir(current_bot().config))
    except broadcasts.BroadcastRefused as exc:
        return refused(f"未保存：{exc}", LIST)
    record("broadcast.compose", f"broadcast:{item.id}", None, _draft(item))
    return done(f"群发草稿 {item.id} 已保存。可先预览给测试微信号，再发送。", LIST)


def _item(broadcast_id: int) -> Broadcast:
    return found(Broadcast, broadcast_id)


@route("/broadcasts/<int:broadcast_id>/edit", action="send_broadcast")
def broadcast_edit(broadcast_id: int) -> Response | str:
    item = _item(broadcast_id)
    if item.status != BroadcastStatus.DRAFT:
        return refused("只有草稿可以修改：这条群发已经排队或发出。", LIST)
    return broadcasts_list(editing=item)


@route("/broadcasts/<int:broadcast_id>/update", action="send_broadcast", methods=["POST"])
def broadcast_update(broadcast_id: int) -> Response:
    item = _item(broadcast_id)
    before = _draft(item)
    form = request.form
    try:
        audience = broadcasts.parse_audience(_audience_text(form), current_bot().content)
        broadcasts.update_draft(db(), item.id, title=form.get("title", ""), payload=_payload(form),
                                audience=audience, content_dir=content_dir(current_bot().config))
    except broadcasts.BroadcastRefused as exc:
        return refused(f"未保存：{exc}", "console.broadcast_edit", broadcast_id=broadcast_id)
    record("broadcast.update", f"broadcast:{item.id}", before, _draft(item))
    return done(f"群发草稿 {item.id} 已修改。", LIST)


@route("/broadcasts/<int:broadcast_id>/delete", action="send_broadcast", methods=["POST"])
def broadcast_delete(broadcast_id: int) -> Response:
    item = _item(broadcast_id)
    before = _draft(item)
    try:
        broadcasts.delete_draft(db(), item.id)
    except broadcasts.BroadcastRefused as exc:
        return refused(f"未删除：{exc}", LIST)
    record("broadcast.delete", f"broadcast:{broadcast_id}", before, None)
    return done(f"群发草稿 {broadcast_id}“{before['title']}”已删除。", LIST)


@route("/broadcasts/<int:broadcast_id>/preview", action="send_broadcast", methods=["POST"])
def broadcast_preview(broadcast_id: int) -> Response:
    session = db()
    item = _item(broadcast_id)
    chosen = {int(v) for v in request.form.getlist("staff") if v.isdigit()}
    # Only members who bound their own WeChat (staff_wechat.py): never an openid typed into the form.
    members = [m for m in staff_wechat.preview_recipients(session) if m.id in chosen]
    if not members:
        return refused("未预览：请至少选择一位已绑定微信号的工作人员（在“我的账号”页绑定自己的微信号）。", LIST)
    try:
        rows = broadcasts.preview(session, item.id, [m.wechat_openid for m in members], now())
    except broadcasts.BroadcastRefused as exc:
        return refused(f"未预览：{exc}", LIST)
    record("broadcast.preview", f"broadcast:{item.id}", None, {"preview_to": [m.display_name for m in members]})
    return done(f"已排队发送 {len(rows)} 条预览（{'、'.join(m.display_name for m in members)}），结果见群发记录。", LIST)


def parse_at(text: str) -> dt.datetime | None:
    """A date and time as staff type it ("2021/6/2 20:00") in Asia/Shanghai; empty means now."""
    if not text.strip():
        return None
    moment = parse_moment(text)
    if moment is None:
        raise broadcasts.BroadcastRefused(moment_problem("定时")) from None
    return moment.replace(tzinfo=TZ)


@route("/broadcasts/<int:broadcast_id>/send", action="send_broadcast", methods=["POST"])
def broadcast_send(broadcast_id: int) -> Response:
    item = _item(broadcast_id)
    before = _summary(item)
    try:
        at = parse_at(request.form.get("at", ""))
        if at is not None and at < now():
            raise broadcasts.BroadcastRefused("定时发送的时间已经过去，请选择以后的时间，或留空立即发送")
        broadcasts.send(db(), current_bot().content, current_bot().config, item.id, now(), at)
    except broadcasts.BroadcastRefused as exc:
        # A refusal is worth a line in the log: someone tried to send and the quota said no.
        return refused(f"未发送：{exc}", LIST,
                       keep=partial(record, "broadcast.refused", f"broadcast:{broadcast_id}", note=str(exc)))
    record("broadcast.send", f"broadcast:{item.id}", before, _summary(item))
    when = "立即" if item.status == BroadcastStatus.QUEUED else f"于 {item.send_at.astimezone(TZ):%m月%d日 %H:%M}"
    return done(f"群发 {item.id} 已排队，将{when}发送。", LIST)


@route("/broadcasts/<int:broadcast_id>/cancel", action="send_broadcast", methods=["POST"])
def broadcast_cancel(broadcast_id: int) -> Response:
    item = _item(broadcast_id)
    before = _summary(item)
    count = broadcasts.cancel(db(), item.id, now())
    record("broadcast.cancel", f"broadcast:{item.id}", before, _summary(item) | {"cancelled": count})
    return done(f"已取消群发 {item.id}（{count} 条未发出的消息不再发送）。", LIST)


@route("/broadcasts/<int:broadcast_id>/progress", action="send_broadcast")
def broadcast_progress(broadcast_id: int) -> Response:
    return jsonify(progress_data(_item(broadcast_id)))
