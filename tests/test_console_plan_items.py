"""Editing the push plan's items in the console: the scheduler's job sends what was edited; content
check's rules (draft-box limits, mass-send quota) answer in Chinese by field; past and queued items
stay as they are. The test clock is 2021-06-01 10:00; the plan has case-confined-space on June 3
at 20:00 and calligraphy-1 on June 5 (a subscription account: one mass send a day)."""

from __future__ import annotations

from sqlalchemy import select

from bot.background.jobs.pushes import queue_plan
from bot.clock import shanghai
from bot.models import Delivery
from tests.test_console_calendar import audits, form_of, logged_in
from tests.test_content_edits import second_worker  # noqa: F401 - fixture

CASE = "case-confined-space"


def queued_keys(bot) -> dict[str, str]:
    with bot.db.session() as session:
        return {d.key: d.payload["articles"][0]["title"] for d in session.scalars(
            select(Delivery).where(Delivery.purpose == "push_plan"))}


def test_a_moved_item_goes_out_at_its_new_time_from_another_process(app, second_worker, clock) -> None:  # noqa: F811
    scheduler_bot = second_worker.extensions["bot"]
    scheduler_bot.live_content.interval = 0.1
    assert scheduler_bot.content.pushes  # it has built its content before the edit
    console = logged_in(app)
    form = form_of(console, f"/console/plan/{CASE}/edit")
    assert form["when_day"] == "2021-06-03" and form["when_time"] == "20:00" and form["cover"] == "covers/case.jpg"
    response = console.post(f"/console/plan/{CASE}/edit", form | {"when_day": "2021-06-04", "when_time": "20:30",
                                                                 "title": "有限空间作业：先通风、再检测"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "已保存修改" in console.get("/console/plan").get_data(as_text=True)
    clock.set(shanghai(2021, 6, 3, 20, 5))
    queue_plan(scheduler_bot)
    assert f"plan:{CASE}" not in queued_keys(scheduler_bot)
    clock.set(shanghai(2021, 6, 4, 20, 31))
    queue_plan(scheduler_bot)
    assert queued_keys(scheduler_bot)[f"plan:{CASE}"] == "【事故案例】有限空间作业：先通风、再检测"
    [(action, target, before, after)] = audits(app, "push_item.")
    assert (action, target, before["when"], after["when"]) == ("push_item.edit", f"pushes:{CASE}", "2021-06-03T20:00",
                                                               "2021-06-04T20:30")


def test_quota_draft_box_and_time_rules_answer_by_field(app) -> None:
    console = logged_in(app)
    form = form_of(console, f"/console/plan/{CASE}/edit")
    cases = [
        ({"when_day": "2021-06-05"}, "推送时间：这一天已有别的群发：订阅号每天只能群发一次，请换一天"),
        ({"when_day": "2021-05-31"}, "推送时间：不能把推送安排到已经过去的时间"),
        ({"when_time": ""}, "推送时间：请同时填写推送的时刻"),
        ({"title": "有限空间作业中毒窒息事故的惨痛教训一定要牢牢记在心间切莫大意"}, "标题：标题最多 32 字"),
        ({"digest": ""}, "摘要：不能为空"),
        ({"source": "ftp://example.org"}, "原文链接：原文链接须以 http:// 或 https:// 开头"),
        ({"cover": "../config.toml"}, "封面图片：请从列表中选择封面图片"),
        ({"audience": "township:atlantis"}, "推送对象：没有这个乡镇，请从列表中选择"),
        ({"audience": "tag", "tag": "abc"}, "推送对象：请填写标签号"),
    ]
    for change, message in cases:
        response = console.post(f"/console/plan/{CASE}/edit", form | change)
        assert response.status_code == 400 and message in response.get_data(as_text=True), (change, message)
    assert audits(app, "push_item.") == []


def test_past_and_queued_items_cannot_be_edited_or_cancelled(app, bot, clock) -> None:
    clock.set(shanghai(2021, 6, 1, 19, 31))  # the launch article (19:30) is due ...
    queue_plan(bot)  # ... and queued
    console = logged_in(app)
    page = console.get("/console/plan").get_data(as_text=True)
    assert 'data-push="2021-launch" data-locked="1"' in page and "已进入发送队列，不能修改" in page
    form = form_of(console, "/console/plan/2021-launch/edit")
    html = console.post("/console/plan/2021-launch/edit", form | {"when_day": "2021-06-02"}).get_data(as_text=True)
    assert "推送时间：推送时间已过或已进入发送队列，不能再修改或取消" in html
    console.post("/console/plan/2021-launch/cancel", {"base": "0"})
    assert "未能取消" in console.get("/console/plan").get_data(as_text=True)
    assert audits(app, "push_item.") == []


def test_a_cancelled_item_is_not_sent_and_its_id_is_not_given_again(app, bot, clock) -> None:
    console = logged_in(app)
    assert console.post(f"/console/plan/{CASE}/cancel", {"base": "0"}).status_code == 302
    page = console.get("/console/plan").get_data(as_text=True)
    assert "已取消推送" in page and f'data-push="{CASE}"' not in page and f'data-cancelled="{CASE}"' in page
    clock.set(shanghai(2021, 6, 3, 20, 1))
    console = logged_in(app, username="ed2")
    queue_plan(bot)
    assert f"plan:{CASE}" not in queued_keys(bot)
    new = {"id": CASE, "when_day": "2021-06-04", "when_time": "20:00", "audience": "all", "kind": "case",
           "title": "新案例", "digest": "摘要", "body": "正文第一段。", "cover": "covers/case.jpg"}
    assert "编号：这个编号已用过" in console.post("/console/plan/new", new).get_data(as_text=True)
    assert console.post("/console/plan/new", new | {"id": "case-new"}).status_code == 302
    clock.set(shanghai(2021, 6, 4, 20, 1))
    queue_plan(bot)
    assert queued_keys(bot)["plan:case-new"] == "【事故案例】新案例"
    assert [a[0] for a in audits(app, "push_item.")] == ["push_item.cancel", "push_item.add"]


# Who may do what on the calendar and plan pages: editors edit, reviewers read, admins everything.
READS = ("/console/calendar", "/console/plan")
EDITS = (("GET", "/console/calendar/new"), ("GET", "/console/calendar/lecture-beipo/edit"),
         ("POST", "/console/calendar/lecture-beipo/edit"), ("POST", "/console/calendar/lecture-beipo/cancel"),
         ("GET", "/console/plan/new"), ("GET", f"/console/plan/{CASE}/edit"), ("POST", f"/console/plan/{CASE}/edit"),
         ("POST", f"/console/plan/{CASE}/cancel"))


def test_role_matrix_of_the_calendar_and_plan_pages(app, bot) -> None:
    for role, may_edit in (("admin", True), ("editor", True), ("reviewer", False)):
        console = logged_in(app, role, username=f"{role}1")
        for path in READS:
            response = console.get(path)
            assert response.status_code == 200, (role, path)
            html = response.get_data(as_text=True)
            assert ('data-edit="' in html) == may_edit and ("新增" in html) == may_edit, (role, path)
        for method, path in EDITS:
            response = console.get(path) if method == "GET" else console.post(path, {"base": "0"})
            assert (response.status_code == 403) != may_edit, (role, method, path, response.status_code)
            if not may_edit:
                assert "没有权限" in response.get_data(as_text=True)
    # The admin cancelled both first (the editor then found them gone: 404); the reviewer was refused.
    assert [a[0] for a in audits(app, "") if a[0].endswith(".cancel")] == ["event.cancel", "push_item.cancel"]
