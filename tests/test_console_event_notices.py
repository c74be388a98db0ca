"""An event's notices to citizens outside WeChat's 48-hour window go the way a report's progress
does: as the template message configured for them ([push] event_changed_template,
event_cancelled_template), with the event's fields, so staff's summary counts no one as unreachable.

The test clock is 2021-06-01 10:00 (Beijing); the lecture is on June 2 at 15:00.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.background.sender import Sender
from bot.models import Delivery, DeliveryStatus
from tests.settings import make_config
from tests.test_console_calendar import LECTURE, form_of, logged_in

KEYS = "event=thing1 time=time2 place=thing3 change=phrase4"


@pytest.fixture
def config(database_url, fake_wechat):
    fake_wechat.account_type = "service"
    return make_config(database_url, wechat={"api_base_url": fake_wechat.base_url, "account_type": "service"},
                       push={"event_changed_template": "TPL_EVENT_MOVED", "event_changed_template_keys": KEYS,
                             "event_cancelled_template": "TPL_EVENT_OFF", "event_cancelled_template_keys": KEYS})


def test_a_citizen_outside_the_window_is_told_by_template_of_a_move_and_a_cancellation(
        app, bot, citizens, fake_wechat, clock) -> None:
    silent = citizens("o_silent")
    fake_wechat.add_user("o_silent")
    silent.dialog([("宣讲", "县政府二楼会议室"), ("提醒 1", "已订阅")])
    clock.advance(hours=28)  # June 2, 14:00: an hour before the lecture, it is put off
    console = logged_in(app)
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    # Still within the window: moved once (a configured template is used inside the window too, as for reports).
    console.post(f"/console/calendar/{LECTURE}/edit", form | {"start_day": "2021-06-05", "end_day": "2021-06-05"})
    clock.advance(hours=21)  # 49 hours after the citizen last wrote
    console = logged_in(app, username="ed2")
    form = form_of(console, f"/console/calendar/{LECTURE}/edit")
    console.post(f"/console/calendar/{LECTURE}/edit", form | {"place": "县应急管理局三楼报告厅"})
    page = console.get("/console/calendar").get_data(as_text=True)
    assert "已为订阅提醒的 1 位市民安排变更通知。" in page and "超过 48 小时" not in page
    base = form_of(console, f"/console/calendar/{LECTURE}/edit")["base"]
    console.post(f"/console/calendar/{LECTURE}/cancel", {"base": base, "reason": "场地维修"})
    page = console.get("/console/calendar").get_data(as_text=True)
    assert "已为订阅提醒的 1 位市民安排取消通知。" in page and "超过 48 小时" not in page

    Sender.from_bot(bot).drain()
    with bot.db.session() as session:
        rows = list(session.scalars(select(Delivery).where(Delivery.openid == "o_silent",
                                                           Delivery.purpose.like("event_%")).order_by(Delivery.id)))
    assert [(r.purpose, r.status, r.channel) for r in rows] == [
        ("event_changed", DeliveryStatus.SENT, "template"), ("event_changed", DeliveryStatus.SENT, "template"),
        ("event_cancelled", DeliveryStatus.SENT, "template")]
    templates = [s.message for s in fake_wechat.sent_to("o_silent") if "template_id" in s.message]
    # The sender sends concurrently: in any order.
    assert sorted(((t["template_id"], t["data"]) for t in templates), key=str) == sorted([
        ("TPL_EVENT_MOVED", {"thing1": {"value": "巡回宣讲·县直机关专场"}, "time2": {"value": "2021年6月5日 15:00"},
                             "thing3": {"value": "县政府二楼会议室"}, "phrase4": {"value": "改时间"}}),
        ("TPL_EVENT_MOVED", {"thing1": {"value": "巡回宣讲·县直机关专场"}, "time2": {"value": "2021年6月5日 15:00"},
                             "thing3": {"value": "县应急管理局三楼报告厅"}, "phrase4": {"value": "改地点"}}),
        ("TPL_EVENT_OFF", {"thing1": {"value": "巡回宣讲·县直机关专场"}, "time2": {"value": "2021年6月5日 15:00"},
                           "thing3": {"value": "县应急管理局三楼报告厅"}, "phrase4": {"value": "已取消"}})], key=str)
