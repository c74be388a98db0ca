"""Editing the event calendar in the console: add, edit, cancel, as staff do it (login, CSRF, forms),
checked with content check's rules, audited, seen by citizens at once; reminders follow.

The test clock is 2021-06-01 10:00 (Beijing): the launch ceremony (09:00–10:30) is under way, the
online consultation (19:30) and the lecture of June 2 are still ahead.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.models import AuditEntry, ContentEdit, Delivery
from bot.models.events import EventReminder, ReminderStatus
from tests.console import ConsoleClient, add_staff

LECTURE = "lecture-chengguan-units"  # 2021-06-02 15:00 at 县政府二楼会议室


def logged_in(app, role: str = "editor", username: str = "ed") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def form_of(console: ConsoleClient, path: str) -> dict[str, str]:
    """The form's current values as the browser would post them (text inputs, selects, textareas)."""
    return form_values(console.get(path).get_data(as_text=True))


def form_values(html: str) -> dict[str, str]:
    values = {name: value for name, value in re.findall(r'<input (?:type="(?:date|time|hidden)" )?name="(\w+)" '
                                                        r'value="([^"]*)"', html) if name != "csrf_token"}
    values |= dict(re.findall(r'<textarea name="(\w+)"[^>]*>([^<]*)</textarea>', html))
    for name, options in re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        values[name] = chosen.group(1) if chosen else ""
    return {k: v.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&") for k, v in values.items()}


def audits(app, prefix: str = "event.") -> list[tuple[str, str, dict | None, dict | None]]:
    with app.extensions["bot"].db.session() as session:
        return [(a.action, a.target, a.before, a.after) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like(prefix + "%")).order_by(AuditEntry.id))]


def test_moving_an_event_is_saved_audited_and_answered_to_citizens(app, citizen) -> None:
    assert "县政府二楼会议室" in citizen.says("宣讲")
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    assert form["place"] == "县政府二楼会议室" and form["start_day"] == "2021-06-02" and form["start_time"] == "15:00"
    response = console.post(f"/console/calendar/{LECTURE}/edit",
                            form | {"place": "县应急管理局三楼报告厅", "start_time": "16:00", "end_time": "17:30"})
    assert response.status_code == 302
    page = console.get("/console/calendar").get_data(as_text=True)
    assert "已保存修改" in page and "县应急管理局三楼报告厅" in page and "控制台修改" in page
    reply = citizen.says("宣讲")
    assert "县应急管理局三楼报告厅" in reply and "16:00" in reply and "县政府二楼会议室" not in reply
    [(action, target, before, after)] = audits(app)
    assert (action, target) == ("event.edit", f"events:{LECTURE}")
    assert before["place"] == "县政府二楼会议室" and before["start"] == "2021-06-02T15:00"
    assert after["place"] == "县应急管理局三楼报告厅" and after["start"] == "2021-06-02T16:00"


def test_a_new_event_is_listed_to_citizens(app, citizen) -> None:
    console = logged_in(app)
    response = console.post("/console/calendar/new", {
        "id": "drill-fire-market", "title": "农贸市场消防疏散演练", "kind": "drill", "start_day": "2021-06-07",
        "start_time": "09:00", "end_time": "10:00", "place": "城关镇农贸市场", "township": "chengguan",
        "description": "市场商户和顾客参加的消防疏散演练。"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "农贸市场消防疏散演练" in citizen.says("演练")
    assert audits(app)[0][:3] == ("event.add", "events:drill-fire-market", None)


def test_form_errors_name_the_field_in_chinese_and_nothing_is_saved(app) -> None:
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    cases = [
        ({"start_day": "2021-05-31", "end_day": "2021-05-31"}, "开始时间：不能把活动安排到已经过去的时间"),
        ({"start_day": "2021-08-03", "end_day": "2021-08-03"}, "开始时间：活动须在安全生产月 6月1日—6月30日 之内"),
        ({"end_time": "14:00"}, "结束时间：不能早于开始时间"),
        ({"link": "ftp://example.org/x"}, "详情链接：须是以 http:// 或 https:// 开头的网址"),
        ({"place": "  "}, "地点：不能为空"),
        ({"kind": "party"}, "活动类别：请从列表中选择"),
        ({"township": "atlantis"}, "乡镇：请从列表中选择乡镇"),
        ({"start_time": ""}, "结束时间：开始和结束要么都填时刻，要么都不填（全天活动）"),
        ({"start_day": "6月2日"}, "开始时间：日期格式应为 2021-06-01"),
    ]
    for change, message in cases:
        response = console.post(f"/console/calendar/{LECTURE}/edit", form | change)
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and message in html, (change, message)
        assert not re.search(r"[A-Za-z]{4,} [a-z]{3,}", re.sub(r"<[^>]+>|&\w+;|\{[^}]*\}", " ", html.split("<main")[1])
                             .split("修改记录")[0].replace("content check", "").replace("content/events.toml", "")), change
    with app.extensions["bot"].db.session() as session:
        assert session.scalars(select(ContentEdit)).all() == []
    assert audits(app) == []


def test_the_lecture_extension_of_the_file_is_honoured(app) -> None:
    """content/events.toml extends lectures to July 31 ([[extension]]): the same rule as content check."""
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    assert console.post(f"/console/calendar/{LECTURE}/edit",
                        form | {"start_day": "2021-07-30", "end_day": "2021-07-30"}).status_code == 302


def test_started_and_ended_events_are_not_moved(app, clock) -> None:
    console = logged_in(app)
    form = form_of(console, "/console/calendar/launch-ceremony/edit")  # 09:00–10:30, now 10:00
    html = console.post("/console/calendar/launch-ceremony/edit", form | {"start_time": "11:00", "end_time": "12:00"}
                        ).get_data(as_text=True)
    assert "开始时间：活动已经开始，开始时间不能再改" in html
    # Staff may still correct what is under way (the place), keeping its start.
    assert console.post("/console/calendar/launch-ceremony/edit", form | {"place": "县人民广场东侧"}).status_code == 302
    clock.advance(minutes=29)
    console.get("/console/calendar")  # (a request before the idle logout)
    clock.advance(minutes=2)  # 10:31: it is over
    html = console.post("/console/calendar/launch-ceremony/edit",
                        form_of(console, "/console/calendar/launch-ceremony/edit") | {"place": "别处"}).get_data(as_text=True)
    assert "活动已经结束，不能再修改或取消" in html
    assert 'data-event="launch-ceremony" data-ended="1"' in console.get("/console/calendar").get_data(as_text=True)


def test_a_new_id_is_never_one_already_used(app) -> None:
    console = logged_in(app)
    base = {"title": "演练", "kind": "drill", "start_day": "2021-06-07", "place": "某地", "description": "简介"}
    assert "编号：这个编号已用过" in console.post("/console/calendar/new", base | {"id": LECTURE}).get_data(as_text=True)
    assert "编号：只能用小写英文字母" in console.post("/console/calendar/new", base | {"id": "消防"}).get_data(as_text=True)


def test_an_edit_on_a_stale_form_does_not_overwrite_another(app) -> None:
    first, second = logged_in(app, username="ed1"), logged_in(app, username="ed2")
    form_one = form_of(first, f"/console/calendar/{LECTURE}/edit")
    form_two = form_of(second, f"/console/calendar/{LECTURE}/edit")
    assert first.post(f"/console/calendar/{LECTURE}/edit", form_one | {"place": "甲地"}).status_code == 302
    second.post(f"/console/calendar/{LECTURE}/edit", form_two | {"place": "乙地"})
    assert "已被别人修改过" in second.get("/console/calendar").get_data(as_text=True)
    assert app.extensions["bot"].content.events.get(LECTURE).place == "甲地"


def test_reminders_follow_a_moved_event(app, citizen, bot) -> None:
    citizen.dialog([("宣讲", "县政府二楼会议室"), ("提醒 1", "已订阅")])
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    console.post(f"/console/calendar/{LECTURE}/edit", form | {"start_day": "2021-06-03", "end_day": "2021-06-03"})
    from bot.background.jobs.events import queue_reminders

    queue_reminders(bot)
    with bot.db.session() as session:
        row = session.scalar(select(EventReminder))
        assert row.event_start.isoformat() == "2021-06-03T15:00:00+08:00"
        assert row.remind_at.isoformat() == "2021-06-02T15:00:00+08:00"


def test_cancelling_tells_those_who_asked_for_a_reminder(app, citizens, bot, clock) -> None:
    recent, silent = citizens("o_recent"), citizens("o_silent")
    silent.dialog([("宣讲", "县政府二楼会议室"), ("提醒 1", "已订阅")])
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    assert console.post(f"/console/calendar/{LECTURE}/edit",
                        form | {"start_day": "2021-06-05", "end_day": "2021-06-05"}).status_code == 302
    clock.advance(hours=49)  # June 3, 11:00: the silent citizen last wrote 49 hours ago
    recent.dialog([("宣讲", "6月5日"), ("提醒 1", "已订阅")])
    console = logged_in(app, username="ed2")  # the first session ended while idle
    page = console.get("/console/calendar").get_data(as_text=True)
    assert re.search(rf'data-event="{LECTURE}".*?data-field="reminders">2<', page, re.S)
    base = form_of(console, f"/console/calendar/{LECTURE}/edit")["base"]
    response = console.post(f"/console/calendar/{LECTURE}/cancel", {"base": base, "reason": "场地维修"})
    assert response.status_code == 302
    page = console.get("/console/calendar").get_data(as_text=True)
    assert "已为订阅提醒的 2 位市民安排取消通知" in page
    assert "其中 1 位超过 48 小时没有给公众号发消息" in page
    assert f'data-event="{LECTURE}"' not in page and f'data-cancelled="{LECTURE}"' in page
    with bot.db.session() as session:
        notices = {d.openid: d for d in session.scalars(select(Delivery).where(Delivery.purpose == "event_cancelled"))}
        assert set(notices) == {"o_recent", "o_silent"}
        text = notices["o_recent"].payload["content"]
        assert "已取消" in text and "原因：场地维修" in text and "6月5日" in text
        assert {r.status for r in session.scalars(select(EventReminder))} == {ReminderStatus.WITHDRAWN}
    assert "县政府二楼会议室" not in recent.says("宣讲")
    # The citizen the notice cannot reach learns it when they look at their reminders.
    assert "以下您订阅过提醒的活动已取消：\n· 巡回宣讲" in silent.says("我的提醒")
    assert [a[0] for a in audits(app)] == ["event.edit", "event.cancel"]
    assert audits(app)[1][3] is None


def test_a_new_time_and_venue_tell_those_who_asked_for_a_reminder_and_move_it(app, citizens, bot,
                                                                               clock) -> None:
    recent, silent = citizens("o_recent"), citizens("o_silent")
    silent.dialog([("宣讲", "县政府二楼会议室"), ("提醒 1", "已订阅")])
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    assert console.post(f"/console/calendar/{LECTURE}/edit",
                        form | {"start_day": "2021-06-05", "end_day": "2021-06-05"}).status_code == 302
    assert "已为订阅提醒的 1 位市民安排变更通知。" in console.get("/console/calendar").get_data(as_text=True)
    clock.advance(hours=49)  # June 3, 11:00: the silent citizen last wrote 49 hours ago
    recent.dialog([("宣讲", "6月5日"), ("提醒 1", "已订阅")])
    console = logged_in(app, username="ed2")
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    response = console.post(f"/console/calendar/{LECTURE}/edit", form | {
        "start_day": "2021-06-06", "end_day": "2021-06-06", "start_time": "16:00", "end_time": "17:30",
        "place": "县应急管理局三楼报告厅"})
    assert response.status_code == 302
    page = console.get("/console/calendar").get_data(as_text=True)
    assert "已为订阅提醒的 2 位市民安排变更通知；其中 1 位超过 48 小时没有给公众号发消息" in page
    with bot.db.session() as session:
        notices = list(session.scalars(select(Delivery).where(Delivery.purpose == "event_changed")
                                       .order_by(Delivery.id)))
        assert [d.openid for d in notices] == ["o_silent", "o_silent", "o_recent"]  # the first move, then the second
        text = notices[-1].payload["content"]
        assert "【活动变更】" in text and "时间由6月5日（周六）15:00" in text and "改为6月6日（周日）16:00—17:30" in text
        assert "地点由县政府二楼会议室改为县应急管理局三楼报告厅" in text and "提醒将在6月5日16:00按新的安排发送" in text
        reminders = list(session.scalars(select(EventReminder)))
        assert {(r.status, r.event_start.isoformat(), r.remind_at.isoformat(), r.place) for r in reminders} == {
            (ReminderStatus.WAITING, "2021-06-06T16:00:00+08:00", "2021-06-05T16:00:00+08:00", "县应急管理局三楼报告厅")}
    assert "时间：6月6日（周日）16:00—17:30\n   提醒：6月5日（周六）16:00" in recent.says("我的提醒")
    edits = [a for a in audits(app) if a[0] == "event.edit"]
    assert len(edits) == 2 and edits[1][3]["place"] == "县应急管理局三楼报告厅"
    with bot.db.session() as session:
        notes = list(session.scalars(select(AuditEntry.note).where(AuditEntry.action == "event.edit")
                                     .order_by(AuditEntry.id)))
    assert notes[1].startswith("已为订阅提醒的 2 位市民安排变更通知")
    # A new title alone changes neither time nor venue: no notice.
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    console.post(f"/console/calendar/{LECTURE}/edit", form | {"title": "安全生产巡回宣讲（城关镇）"})
    with bot.db.session() as session:
        assert len(list(session.scalars(select(Delivery).where(Delivery.purpose == "event_changed")))) == 3


def test_the_audit_log_shows_an_edit_as_changed_fields_in_chinese(app) -> None:
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    console.post(f"/console/calendar/{LECTURE}/edit", form | {"place": "县应急管理局三楼报告厅", "start_time": "16:00",
                                                              "end_time": "17:30"})
    form = form_of(console, "/console/plan/case-confined-space/edit")
    console.post("/console/plan/case-confined-space/edit", form | {"audience": "township:beipo"})
    admin = logged_in(app, "admin", username="boss")
    html = admin.get("/console/audit").get_data(as_text=True)
    assert "修改活动" in html and "活动日历中的活动：巡回宣讲" in html
    assert "县政府二楼会议室" in html and "县应急管理局三楼报告厅" in html and "2021-06-02 16:00" in html
    assert "修改推送" in html and "全部关注者" in html and "北坡镇的关注者" in html
