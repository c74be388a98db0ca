"""The event calendar through the signed webhook (plain and AES), with the clock at 2021-06-01 10:00."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from bot.background.jobs.events import queue_reminders
from bot.clock import shanghai
from bot.models import Citizen as CitizenRow
from bot.models import Delivery, EventReminder
from bot.services.events import Events, due_reminders, enqueue_due_reminders, refresh_reminders
from tests.understanding import run_cases
from tests.wechat import Citizen

NUMBERED = re.compile(r"^(\d+)\. (.+?)(?:（(?:进行中|已结束)）)?$", re.M)
DAY = re.compile(r"时间：(\d+)月(\d+)日")


def titles(reply: str) -> list[str]:
    return [m.group(2) for m in NUMBERED.finditer(reply)]


def numbers(reply: str) -> list[int]:
    return [int(m.group(1)) for m in NUMBERED.finditer(reply)]


def days(reply: str) -> list[tuple[int, int]]:
    return [(int(m), int(d)) for m, d in DAY.findall(reply)]


# --- listing and paging -----------------------------------------------------------------------

def test_activity_lists_what_is_on_then_next_in_pages(citizen: Citizen, bot, clock) -> None:
    size = bot.config.events.page_size
    upcoming = [e.title for e in bot.content.events.upcoming(clock.now())]
    first = citizen.says("活动")
    assert first.startswith(f"近期的活动（共{len(upcoming)}项）")
    assert numbers(first) == list(range(1, size + 1))
    assert "（进行中）" in first  # the launch ceremony and the consultation day are on right now
    assert "回复 更多" in first and "提醒" in first
    seen, replies = titles(first), [first]
    while len(seen) < len(upcoming):
        reply = citizen.says("更多")
        assert f"第{len(replies) + 1}/" in reply
        assert numbers(reply)[0] == len(seen) + 1  # numbering runs on across pages
        seen += titles(reply)
        replies.append(reply)
    assert seen == upcoming
    all_days = [d for r in replies for d in days(r)]
    assert all_days == sorted(all_days)  # by time
    assert "回复 更多" not in replies[-1]
    assert "已经是最后一页" in citizen.says("更多")


def test_each_item_has_date_time_place_and_link(citizen: Citizen) -> None:
    reply = citizen.says("今天")
    launch = reply.split("1. ", 1)[1].split("\n2. ", 1)[0]
    assert "时间：6月1日（周二）09:00—10:30" in launch
    assert "地点：县人民广场主会场（城关镇）" in launch
    assert "详情：https://example.gov.cn/aqscy/2021/launch" in launch
    consultation = reply.split("\n2. ", 1)[1].split("\n3. ", 1)[0]
    assert "详情" not in consultation  # no link, no line


def test_more_without_a_list_is_not_the_calendars(citizen: Citizen) -> None:
    assert "没有理解" in citizen.says("更多")


# --- dates in every form ------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["6月1日", "6月1号", "6-1", "6/1", "六月一日", "6.1", "2021-06-01", "6月1日有什么活动",
                                  "六月一号有啥"])
def test_a_date_in_any_form(citizen: Citizen, text: str) -> None:
    reply = citizen.says(text)
    assert reply.startswith("6月1日（周二）的活动（共3项）")
    assert titles(reply) == ['第20个"安全生产月"活动启动仪式', "安全生产月宣传咨询日现场活动", "咨询日线上活动：在线访谈与网络公开课"]
    assert "同期进行：安全生产警示教育作品展播" in reply  # the month-long showcase is mentioned, not listed


@pytest.mark.parametrize(("text", "header", "title"), [
    ("今天", "今天 6月1日（周二）的活动", "安全生产月宣传咨询日现场活动"),
    ("明天", "明天 6月2日（周三）的活动", "巡回宣讲·县直机关专场"),
    ("后天有什么", "后天 6月3日（周四）的活动", '安全宣传"五进"·进企业'),
    ("本周", "本周（6月1日—6月6日）的活动（共7项）", '安全宣传"五进"·进企业'),
    ("这周有什么活动", "本周（6月1日—6月6日）的活动（共7项）", "巡回宣讲·县直机关专场"),
    ("下周", "下周（6月7日—6月13日）的活动", "巡回宣讲·北坡镇专场"),
    ("周六", "6月5日（周六）的活动", '安全宣传"五进"·进社区'),
])
def test_relative_days(citizen: Citizen, text: str, header: str, title: str) -> None:
    reply = citizen.says(text)
    assert reply.startswith(header)
    assert title in titles(reply)


def test_voice_questions_work_like_typed_ones(citizen: Citizen) -> None:
    assert citizen.voice("明天有演练吗。").text.startswith("明天 6月2日（周三）的应急演练没有安排。")


def test_saturday_on_a_saturday_is_today_and_on_sunday_the_next(citizen: Citizen, clock) -> None:
    clock.set(shanghai(2021, 6, 5, 8, 0))
    assert citizen.says("周六").startswith("6月5日（周六）")
    clock.set(shanghai(2021, 6, 6, 8, 0))
    assert citizen.says("周六").startswith("6月12日（周六）")


# --- kinds, places and combinations --------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "count"), [
    ("演练", "应急演练", 4), ("宣讲", "巡回宣讲", 12), ("讲座", "巡回宣讲", 12), ("培训", "巡回宣讲", 12),
    ("咨询日", "宣传咨询日", 2), ("五进", '安全宣传"五进"', 5), ("展播", "警示教育展播", 1),
])
def test_kinds_and_their_synonyms(citizen: Citizen, text: str, kind: str, count: int) -> None:
    reply = citizen.text(text)
    if count == 1:  # one event with a page of its own: a news card
        assert reply.articles[0]["Url"] == "https://example.gov.cn/aqscy/2021/showcase"
        return
    assert reply.text.startswith(f"近期的{kind}（共{count}项）")


def test_launch_ceremony_is_a_news_card_with_date_place_and_link(citizen: Citizen) -> None:
    article = citizen.text("启动仪式在哪里").articles[0]
    assert article["Title"].startswith('第20个"安全生产月"活动启动仪式')
    assert "6月1日（周二）09:00—10:30" in article["Description"]
    assert "县人民广场主会场" in article["Description"]
    assert article["Url"] == "https://example.gov.cn/aqscy/2021/launch"


@pytest.mark.parametrize(("text", "header", "expected"), [
    ("城关镇 宣讲", "城关镇的巡回宣讲（共2项）", ["巡回宣讲·县直机关专场", "巡回宣讲·城关镇社区专场"]),
    ("城关有什么培训", "城关镇的巡回宣讲（共2项）", ["巡回宣讲·县直机关专场", "巡回宣讲·城关镇社区专场"]),
    ("下周 演练", "下周（6月7日—6月13日）的应急演练（共1项）", ["县级煤矿抢险应急演练"]),
    ("6月1号在哪里有咨询", "6月1日（周二）的宣传咨询日（共2项）",
     ["安全生产月宣传咨询日现场活动", "咨询日线上活动：在线访谈与网络公开课"]),
    ("南河镇 演练", "南河镇的应急演练（共1项）", ["县级防汛应急演练"]),
    ("人民广场有什么活动", "人民广场的活动（共2项）", ['第20个"安全生产月"活动启动仪式', "安全生产月宣传咨询日现场活动"]),
    ("本周五进", "本周（6月1日—6月6日）的安全宣传\"五进\"（共2项）",
     ['安全宣传"五进"·进企业', '安全宣传"五进"·进社区']),
])
def test_combinations(citizen: Citizen, text: str, header: str, expected: list[str]) -> None:
    reply = citizen.says(text)
    assert reply.startswith(header)
    assert titles(reply) == expected


def test_a_topic_narrows_a_kind(citizen: Citizen) -> None:
    reply = citizen.says("煤矿演练什么时候")
    assert reply.startswith("煤矿的应急演练（共1项）")
    assert "6月11日（周五）09:00—12:00" in reply and "石桥镇某煤矿" in reply
    assert titles(citizen.says("危化品演练在哪")) == ["县级危险化学品事故应急演练"]  # a common short form


@pytest.mark.parametrize("text", ["燃气泄漏怎么办", "明天会下雨吗", "火灾逃生演练怎么做", "我想咨询一下燃气泄漏怎么办",
                                  "电动车能在楼道充电吗？", "答题活动", "我要举报隐患", "你好", "提醒大家注意安全"])
def test_not_every_message_is_an_event_question(app, text: str) -> None:
    """Safety questions and other features' words pass the calendar by (to knowledge, reports, help)."""
    outcome = run_cases(app, [(text, "not events")])[0]
    assert outcome.status == 200 and outcome.reply
    assert outcome.got != "events", outcome


# --- nothing on ----------------------------------------------------------------------------------

def test_a_day_with_nothing_of_that_kind_offers_the_next_ones(citizen: Citizen) -> None:
    reply = citizen.says("明天有演练吗")
    assert reply.startswith("明天 6月2日（周三）的应急演练没有安排。\n接下来的应急演练：")
    assert titles(reply)[0] == "县级防汛应急演练"
    assert "提醒 1" in reply
    assert "已订阅「县级防汛应急演练」" in citizen.says("提醒 1")


def test_a_day_with_nothing_at_all_offers_the_next_events(citizen: Citizen) -> None:
    reply = citizen.says("7月1日")
    assert reply.startswith("7月1日（周四）的活动没有安排。\n接下来的活动：")
    assert titles(reply)[0] == "巡回宣讲·柳林乡专场"


def test_after_the_campaign_activity_says_so_and_lists_the_events(citizen: Citizen, clock) -> None:
    clock.set(shanghai(2021, 8, 1, 9, 0))
    reply = citizen.says("活动")
    assert reply.startswith('本次"安全生产月"活动已全部结束')
    for line in ("启动仪式：6月1日", "宣传咨询日：6月1日（共2场）", "巡回宣讲：6月2日—7月27日（共12场）",
                 "应急演练：6月4日、6月11日、6月22日、6月25日（共4场）", "警示教育展播：6月1日—6月30日"):
        assert line in reply
    assert "没有安排" not in reply
    dated = citizen.says("明天 演练")
    assert dated.startswith("明天 8月2日（周一）的应急演练没有安排。")
    assert "已全部结束" in dated
    assert "没有理解" in citizen.says("更多")  # nothing numbered was shown


def test_asking_for_a_kind_that_is_over_shows_when_it_was(citizen: Citizen, clock) -> None:
    clock.set(shanghai(2021, 6, 15, 9, 0))
    reply = citizen.says("咨询日在哪里")
    assert reply.startswith("近期的宣传咨询日均已结束")
    assert "安全生产月宣传咨询日现场活动（已结束）" in reply and "县人民广场" in reply


# --- near me -------------------------------------------------------------------------------------

def test_near_me_uses_the_citizens_township(citizen: Citizen, bot) -> None:
    assert "请告诉我您所在的乡镇" in citizen.says("附近有演练吗")
    with bot.db.session() as s:
        s.execute(update(CitizenRow).where(CitizenRow.openid == citizen.openid).values(township="shiqiao"))
        s.commit()
    reply = citizen.says("附近有演练吗")
    assert reply.startswith("石桥镇的应急演练（共1项）") and "县级煤矿抢险应急演练" in reply


# --- menu clicks ---------------------------------------------------------------------------------

def test_menu_events_and_events_today(citizen: Citizen) -> None:
    assert citizen.click("EVENTS").text.startswith("近期的活动（共")
    assert "（共25项，第2/5页）" in citizen.says("更多")  # the menu's list pages like a typed one
    today = citizen.click("EVENTS_TODAY").text
    assert today.startswith("今天 6月1日（周二）的活动（共3项）")


def test_help_lists_the_calendar(citizen: Citizen) -> None:
    reply = citizen.says("帮助")
    assert "活动 — " in reply and "我的提醒" in reply


def test_help_while_paging_a_list_claims_no_operation_and_keeps_the_list(citizen: Citizen) -> None:
    citizen.says("活动")
    reply = citizen.says("帮助")
    assert "活动 — " in reply and "操作在进行中" not in reply
    assert "第2/" in citizen.says("更多")


def test_cancel_just_forgets_the_list(citizen: Citizen) -> None:
    citizen.says("活动")
    assert "当前没有进行中的操作" in citizen.says("取消")
    assert "没有理解" in citizen.says("更多")


def test_an_old_list_expires_without_a_timeout_notice(citizen: Citizen, clock) -> None:
    citizen.says("活动")
    clock.advance(days=4)
    reply = citizen.says("活动")
    assert "超时" not in reply and reply.startswith("近期的活动")


# --- reminders -----------------------------------------------------------------------------------

def reminder_rows(bot) -> list[EventReminder]:
    with bot.db.session() as s:
        return list(s.scalars(select(EventReminder).order_by(EventReminder.id)))


def test_subscribe_by_number_once_even_when_retried_or_repeated(citizen: Citizen, bot) -> None:
    listing = citizen.says("活动")
    assert titles(listing)[4] == "巡回宣讲·县直机关专场"
    reply = citizen.text("提醒 5")
    assert "已订阅「巡回宣讲·县直机关专场」的提醒" in reply.text
    assert "6月1日（周二）15:00" in reply.text  # 24 hours before 6月2日 15:00
    assert citizen.resend_last().text == reply.text  # WeChat's retry: same answer, nothing new
    assert "已订阅过" in citizen.says("提醒5")
    rows = reminder_rows(bot)
    assert [(r.openid, r.event_id) for r in rows] == [(citizen.openid, "lecture-chengguan-units")]
    assert rows[0].remind_at == shanghai(2021, 6, 1, 15, 0)


def test_subscribe_by_name_and_choose_among_several(citizen: Citizen, bot) -> None:
    assert "已订阅「县级防汛应急演练」" in citizen.says("提醒 防汛演练")
    several = citizen.says("提醒我 城关镇 宣讲")
    assert several.startswith("找到2个活动，请回复 提醒+序号 选择")
    assert "已订阅「巡回宣讲·城关镇社区专场」" in citizen.says("提醒 2")
    assert {r.event_id for r in reminder_rows(bot)} == {"drill-flood", "lecture-chengguan-community"}


@pytest.mark.parametrize(("steps", "expected"), [
    (["提醒 3"], "请先发送 活动"),
    (["活动", "提醒 99"], "没有第99项"),
    (["活动", "提醒 2"], "已经开始了"),                      # the launch ceremony is on now
    (["提醒"], "请回复 提醒+序号"),
    (["提醒 7月31日"], "没有找到要提醒的活动"),
])
def test_reminder_reasks(citizen: Citizen, bot, steps: list[str], expected: str) -> None:
    for text in steps[:-1]:
        citizen.says(text)
    assert expected in citizen.says(steps[-1])
    assert reminder_rows(bot) == []


def test_list_and_cancel_reminders(citizen: Citizen, bot) -> None:
    assert "还没有订阅" in citizen.says("我的提醒")
    citizen.says("提醒 防汛演练")
    citizen.says("提醒 煤矿演练")
    mine = citizen.says("我的提醒")
    assert titles(mine) == ["县级防汛应急演练", "县级煤矿抢险应急演练"]
    assert "提醒：6月3日（周四）09:00" in mine
    assert "没有第3项" in citizen.says("取消提醒 3")
    assert citizen.says("取消提醒 2") == "已取消「县级煤矿抢险应急演练」的提醒。"
    assert [r.event_id for r in reminder_rows(bot)] == ["drill-flood"]
    assert citizen.says("取消提醒") == "已取消「县级防汛应急演练」的提醒。"  # the only one left
    assert reminder_rows(bot) == []
    assert "还没有订阅" in citizen.says("取消提醒 1")


def test_cancel_by_the_number_in_an_event_list(citizen: Citizen, bot) -> None:
    citizen.says("演练")
    citizen.says("提醒 2")
    citizen.says("提醒 3")
    citizen.says("演练")
    assert "已取消「县级危险化学品事故应急演练」" in citizen.says("取消提醒 3")
    assert "您没有订阅「县级尾矿库应急演练」" in citizen.says("取消提醒 4")
    assert [r.event_id for r in reminder_rows(bot)] == ["drill-coal-mine"]


# --- due reminders go to the outbox exactly once (the scheduler's job) ----------------------------

def deliveries(bot) -> list[Delivery]:
    with bot.db.session() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


def run_job(bot, clock) -> int:
    with bot.db.session() as s:
        queued = enqueue_due_reminders(s, clock.now(), bot.content.events)
        s.commit()
    return queued


def test_due_reminders_are_enqueued_exactly_once(citizen: Citizen, citizens, bot, clock) -> None:
    citizen.says("提醒 巡回宣讲·县直机关专场")   # 6月2日 15:00 -> due 6月1日 15:00
    citizen.says("提醒 防汛演练")               # 6月4日 09:00 -> due 6月3日 09:00
    citizens("o_citizen_2").says("提醒 防汛演练")
    assert run_job(bot, clock) == 0
    with bot.db.session() as s:
        assert due_reminders(s, clock.now()) == []
    clock.set(shanghai(2021, 6, 1, 15, 0))
    with bot.db.session() as s:
        assert [r.event_id for r in due_reminders(s, clock.now())] == ["lecture-chengguan-units"]
    assert run_job(bot, clock) == 1
    assert run_job(bot, clock) == 0  # the same moment again: nothing twice
    clock.set(shanghai(2021, 6, 3, 9, 30))
    queue_reminders(bot)             # the scheduler's job
    assert len(deliveries(bot)) == 3
    queue_reminders(bot)
    rows = deliveries(bot)
    assert len(rows) == 3
    reminders = {r.id: r for r in reminder_rows(bot)}
    assert [(d.key, d.purpose, d.openid) for d in rows] == [
        (f"event-reminder:{r.id}", "event_reminder", r.openid) for r in reminders.values()]
    lecture = rows[0].payload
    assert lecture["type"] == "text"
    assert "【活动提醒】巡回宣讲·县直机关专场" in lecture["content"]
    assert "时间：6月2日（周三）15:00—17:00" in lecture["content"] and "地点：县政府二楼会议室" in lecture["content"]
    assert rows[0].not_before == shanghai(2021, 6, 1, 15, 0)
    assert all(r.status == "queued" for r in reminders.values())
    assert "提醒：已发出" in citizen.says("我的提醒")


def test_a_reminder_whose_event_started_is_missed_not_sent(citizen: Citizen, bot, clock) -> None:
    citizen.says("提醒 防汛演练")
    clock.set(shanghai(2021, 6, 4, 9, 5))  # the scheduler was down until after the start
    assert run_job(bot, clock) == 0
    assert deliveries(bot) == []
    assert [r.status for r in reminder_rows(bot)] == ["missed"]


def test_subscribing_late_reminds_at_the_next_run(citizen: Citizen, bot, clock) -> None:
    clock.set(shanghai(2021, 6, 3, 20, 0))
    assert "提醒会在几分钟内发给您" in citizen.says("提醒 防汛演练")
    assert run_job(bot, clock) == 1


def test_moved_or_removed_events_update_waiting_reminders(citizen: Citizen, bot, clock) -> None:
    citizen.says("提醒 防汛演练")
    citizen.says("提醒 煤矿演练")
    flood = bot.content.events.get("drill-flood")
    moved = dataclasses.replace(flood, start=shanghai(2021, 6, 8, 9, 0), end=shanghai(2021, 6, 8, 11, 0))
    edited = Events((moved,))  # the coal-mine drill is gone
    with bot.db.session() as s:
        assert refresh_reminders(s, edited, 24) == 2
        s.commit()
    by_event = {r.event_id: r for r in reminder_rows(bot)}
    assert by_event["drill-flood"].remind_at == shanghai(2021, 6, 7, 9, 0)
    assert by_event["drill-coal-mine"].status == "withdrawn"


def test_near_me_after_setting_the_township_in_the_chat(citizen: Citizen) -> None:
    citizen.says("设置乡镇 南河镇")
    reply = citizen.says("我们这附近有什么演练")
    assert reply.startswith("南河镇的应急演练（共1项）") and "县级防汛应急演练" in reply


def test_a_remembered_question_is_read_again_for_another_day(bot) -> None:
    from bot.services.events import parse_query

    events, townships = bot.content.events, bot.content.townships
    first = parse_query("明天有什么活动", events, townships, dt.date(2021, 6, 1))
    assert parse_query("明天有什么活动", events, townships, dt.date(2021, 6, 1)) is first  # remembered
    next_day = parse_query("明天有什么活动", events, townships, dt.date(2021, 6, 2))
    assert (first.first, next_day.first) == (dt.date(2021, 6, 2), dt.date(2021, 6, 3))
    assert parse_query("燃气泄漏怎么办", events, townships, dt.date(2021, 6, 1)) is None
