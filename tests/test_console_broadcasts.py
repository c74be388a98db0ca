"""The console's broadcasts page: compose, preview, send now or later, quota refusals in Chinese,
cancel, and the progress endpoint the page polls, with the sender delivering to the fake WeChat API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.background.sender import Sender
from bot.clock import shanghai
from bot.models import AuditEntry, Broadcast, Delivery, StaffUser
from tests.console import ConsoleClient, add_staff
from tests.test_console_preview import bind


@pytest.fixture
def config(api_config):
    return api_config


def logged_in(app, role: str = "editor", username: str = "ed") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def compose(console: ConsoleClient, **fields: str) -> None:
    form = {"kind": "text", "title": "防汛提醒", "content": "明天有暴雨，请远离河道。", "audience": "all"} | fields
    assert console.post("/console/broadcasts/compose", form).status_code == 302


def latest(app) -> Broadcast:
    with app.extensions["bot"].db.session() as session:
        return session.scalars(select(Broadcast).order_by(Broadcast.id.desc())).first()


def audits(app, prefix: str = "broadcast.") -> list[AuditEntry]:
    with app.extensions["bot"].db.session() as session:
        return [a for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id)) if a.action.startswith(prefix)]


def test_compose_preview_send_and_progress_to_done(app, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))  # June 1's quota belongs to the push plan's launch item
    for openid in ("tester", "a", "b"):
        fake_wechat.add_user(openid)
    console = logged_in(app)
    compose(console, kind="news", title="安全生产月启动", description="6月1日咨询日", url="https://example.org/a",
            body="今天是宣传咨询日。", cover="covers/notice.jpg", audience="township:chengguan")
    item = latest(app)
    assert item.status == "draft" and item.audience == {"township": "chengguan"}
    assert item.payload["articles"][0]["url"] == "https://example.org/a"
    html = console.get("/console/broadcasts").get_data(as_text=True)
    assert "安全生产月启动" in html and "城关镇的关注者" in html and "broadcasts.js" in html
    bind(app, console, "tester", clock)  # the member's own WeChat (issue 20), not a typed openid
    with app.extensions["bot"].db.session() as session:
        ed_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "ed"))
    console.post(f"/console/broadcasts/{item.id}/preview", {"staff": str(ed_id)})
    Sender.from_bot(app.extensions["bot"]).drain()
    assert [d.channel for d in fake_wechat.sent_to("tester")] == ["preview"]
    assert console.get(f"/console/broadcasts/{item.id}/progress").get_json()["total"] == 0

    console.post(f"/console/broadcasts/{item.id}/send", {"at": ""})
    assert latest(app).status == "queued"
    progress = console.get(f"/console/broadcasts/{item.id}/progress").get_json()
    assert (progress["pending"], progress["percent"], progress["done"]) == (1, 0, False)
    assert f'data-progress-url="/console/broadcasts/{item.id}/progress"' in console.get(
        "/console/broadcasts").get_data(as_text=True)
    Sender.from_bot(app.extensions["bot"]).drain()
    progress = console.get(f"/console/broadcasts/{item.id}/progress").get_json()
    assert (progress["sent"], progress["pending"], progress["percent"], progress["done"]) == (1, 0, 100, True)
    assert [(a.action, (a.before or {}).get("status"), (a.after or {}).get("status")) for a in audits(app)] == [
        ("broadcast.compose", None, None), ("broadcast.preview", None, None), ("broadcast.send", "draft", "queued")]


def test_quota_refusal_is_shown_in_chinese_and_audited(app, clock) -> None:
    console = logged_in(app)
    compose(console)
    item = latest(app)
    console.post(f"/console/broadcasts/{item.id}/send", {"at": ""})  # June 1: the plan's launch push took it
    html = console.get("/console/broadcasts").get_data(as_text=True)
    assert "未发送：" in html and "订阅号每天只能群发 1 次" in html
    assert latest(app).status == "draft"
    with app.extensions["bot"].db.session() as session:
        assert session.scalars(select(Delivery).where(Delivery.purpose == "broadcast")).all() == []
    [refused] = audits(app, "broadcast.refused")
    assert "订阅号每天只能群发" in refused.note


def test_schedule_then_cancel(app, clock) -> None:
    console = logged_in(app)
    compose(console)
    item = latest(app)
    console.post(f"/console/broadcasts/{item.id}/send", {"at": "2021-06-01T09:00"})
    assert "时间已经过去" in console.get("/console/broadcasts").get_data(as_text=True)
    console.post(f"/console/broadcasts/{item.id}/send", {"at": "2021/6/4 20:00"})  # as staff type it
    scheduled = latest(app)
    assert scheduled.status == "scheduled" and scheduled.send_at == shanghai(2021, 6, 4, 20, 0)
    console.post(f"/console/broadcasts/{item.id}/cancel")
    progress = console.get(f"/console/broadcasts/{item.id}/progress").get_json()
    assert progress["status"] == "cancelled" and progress["status_name"] == "已取消" and progress["other"] == {"已取消": 1} and progress["done"]
    assert audits(app)[-1].after["cancelled"] == 1


def test_bad_input_is_refused_and_nothing_saved(app) -> None:
    console = logged_in(app)
    article = {"kind": "news", "body": "正文", "cover": "covers/lesson.jpg"}
    for fields, message in (({"title": " "}, "请填写标题"), ({"content": ""}, "文字内容不能为空"),
                            ({"content": "安" * 301}, "群发文字最多 300 字，这条有 301 字"),
                            ({"content": '详情<a href="https://example.org">点此</a>'}, "群发文字不能带外部链接"),
                            (article | {"url": "javascript:alert(1)"}, "原文链接须以 http:// 或 https:// 开头"),
                            (article | {"cover": "../config.toml"}, "请选择封面图片"),
                            (article | {"body": ""}, "正文不能为空"),
                            (article | {"title": "安" * 33}, "标题最多 32 字"),
                            ({"audience": "township:atlantis"}, "没有这个乡镇"),
                            ({"audience": "tag", "tag": "abc"}, "发送对象无效")):
        compose(console, **fields)
        html = console.get("/console/broadcasts").get_data(as_text=True)
        assert "未保存：" in html and message in html, fields
    assert latest(app) is None and audits(app) == []


def test_active_audience_and_escaping(app, clock) -> None:
    from bot.models import Citizen

    with app.extensions["bot"].db.session() as session:
        session.add(Citizen(openid="o_act", first_seen_at=clock.now(), last_interaction_at=clock.now()))
        session.commit()
    console = logged_in(app)
    compose(console, title="<img src=x onerror=alert(1)>", audience="active")
    item = latest(app)
    console.post(f"/console/broadcasts/{item.id}/send")
    assert latest(app).recipients == 1 and latest(app).status == "queued"
    html = console.get("/console/broadcasts").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "48小时内互动过的用户" in html


def test_reviewer_may_not_broadcast(app) -> None:
    console = logged_in(app, "reviewer", "li")
    assert console.get("/console/broadcasts").status_code == 403
    assert console.post("/console/broadcasts/compose", {"title": "x", "content": "y", "audience": "all"}).status_code \
        == 403


def test_a_draft_is_edited_and_deleted_but_a_queued_one_is_not(app, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    console = logged_in(app)
    compose(console)
    item = latest(app)
    page = console.get(f"/console/broadcasts/{item.id}/edit").get_data(as_text=True)
    assert f'data-editing="{item.id}"' in page and 'value="防汛提醒"' in page and "明天有暴雨，请远离河道。</textarea>" in page
    console.post(f"/console/broadcasts/{item.id}/update", {"kind": "news", "title": "防汛须知", "description": "汛期",
                                                           "body": "远离河道。", "cover": "covers/notice.jpg",
                                                           "audience": "township:chengguan"})
    edited = latest(app)
    assert (edited.id, edited.title, edited.payload["type"], edited.audience) == (
        item.id, "防汛须知", "news", {"township": "chengguan"})
    page = console.get(f"/console/broadcasts/{item.id}/edit").get_data(as_text=True)
    assert 'value="news" checked' in page and 'value="township:chengguan" selected' in page
    console.post(f"/console/broadcasts/{item.id}/update", {"kind": "text", "title": "", "content": "x", "audience": "all"})
    assert "未保存：请填写标题" in console.get(f"/console/broadcasts/{item.id}/edit").get_data(as_text=True)
    assert latest(app).title == "防汛须知"
    console.post(f"/console/broadcasts/{item.id}/delete")
    assert latest(app) is None
    assert "群发草稿 1“防汛须知”已删除" in console.get("/console/broadcasts").get_data(as_text=True)
    compose(console)
    queued = latest(app)
    console.post(f"/console/broadcasts/{queued.id}/send", {"at": ""})
    assert latest(app).status == "queued"
    console.post(f"/console/broadcasts/{queued.id}/delete")
    assert "未删除：只有草稿可以删除" in console.get("/console/broadcasts").get_data(as_text=True)
    console.post(f"/console/broadcasts/{queued.id}/update", {"kind": "text", "title": "改", "content": "x",
                                                             "audience": "all"})
    assert latest(app).title == "防汛提醒"
    assert [a.action for a in audits(app)][:4] == ["broadcast.compose", "broadcast.update", "broadcast.delete",
                                                   "broadcast.compose"]
