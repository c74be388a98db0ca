"""MASSSENDJOBFINISH (issue 16 item 3): WeChat reports each mass job's end with a Status — "send
success", "send fail", or err(code) for a job refused in review or, under API 群发保护, by the
account's administrator. The fake pushes that event to the webhook; a failed job makes its delivery
and its broadcast failed, and staff read why, in Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.background.jobs.pushes import queue_plan
from bot.background.sender import Sender
from bot.clock import shanghai
from bot.models import Broadcast, BroadcastStatus, Delivery, DeliveryStatus
from bot.services import broadcasts
from bot.services.outbox import text_payload
from tests.console import ConsoleClient, add_staff


@pytest.fixture
def config(api_config):
    return api_config


def broadcast_sent(bot, fake, clock) -> int:
    clock.set(shanghai(2021, 6, 2, 9, 0))  # no plan item on June 2
    for openid in ("a", "b"):
        fake.add_user(openid)
    with bot.db.session() as s:
        item = broadcasts.compose(s, title="防汛提醒", payload=text_payload("今晚有暴雨，请远离河道。"),
                                  audience={"all": True}, created_by="ed", now=clock.now())
        broadcasts.send(s, bot.content, bot.config, item.id, clock.now())
        s.commit()
        broadcast_id = item.id
    Sender.from_bot(bot).drain()
    return broadcast_id


def state(bot, broadcast_id: int) -> tuple[str, Delivery]:
    with bot.db.session() as s:
        delivery = s.scalar(select(Delivery).where(Delivery.key == f"broadcast:{broadcast_id}"))
        return s.get(Broadcast, broadcast_id).status, delivery


def test_the_fake_pushes_the_job_report_to_the_webhook(bot, fake_wechat, clock, wechat) -> None:
    fake_wechat.event_sink = wechat.push
    broadcast_id = broadcast_sent(bot, fake_wechat, clock)
    assert state(bot, broadcast_id)[0] == BroadcastStatus.QUEUED  # WeChat has not reported yet
    [xml] = fake_wechat.finish_mass_jobs()
    assert "<Status><![CDATA[send success]]></Status><TotalCount>2</TotalCount>" in xml
    assert fake_wechat.finish_mass_jobs() == []  # each job ends once
    status, delivery = state(bot, broadcast_id)
    assert (status, delivery.status) == (BroadcastStatus.SENT, DeliveryStatus.SENT)
    assert delivery.result == {"event": "masssendjobfinish", "status": "send success", "total": 2, "filter": 2,
                               "sent": 2, "error": 0}


@pytest.mark.parametrize(("status", "words"), [
    ("err(40001)", "管理员拒绝"), ("err(40002)", "30 分钟内没有确认"), ("err(10001)", "涉嫌广告"),
    ("send fail", "发送失败")])
def test_a_failed_job_fails_its_delivery_and_broadcast(bot, fake_wechat, clock, wechat, status: str,
                                                      words: str) -> None:
    fake_wechat.event_sink = wechat.push
    fake_wechat.fail_next_mass(status)
    broadcast_id = broadcast_sent(bot, fake_wechat, clock)
    assert fake_wechat.sent_to("a") == []  # a refused job reaches nobody
    [xml] = fake_wechat.finish_mass_jobs()
    assert f"<Status><![CDATA[{status}]]></Status>" in xml and "<SentCount>0</SentCount><ErrorCount>2</ErrorCount>" in xml
    broadcast_status, delivery = state(bot, broadcast_id)
    assert (broadcast_status, delivery.status) == (BroadcastStatus.FAILED, DeliveryStatus.FAILED)
    assert words in delivery.last_error and status in delivery.last_error
    with bot.db.session() as s:
        progress = broadcasts.progress(s, broadcast_id)
    assert (progress.sent, progress.failed) == (0, 1) and words in progress.reasons[0]


def test_a_failure_report_for_a_plan_item_shows_on_the_push_plan_page(app, bot, fake_wechat, clock, wechat) -> None:
    fake_wechat.add_user("a")
    clock.set(shanghai(2021, 6, 1, 19, 31))
    queue_plan(bot)
    Sender.from_bot(bot).drain()
    with bot.db.session() as s:
        msg_id = s.scalar(select(Delivery.wechat_msg_id).where(Delivery.key == "plan:2021-launch"))
    # The report as WeChat writes it (the status from the Batch Sends event list), not the fake's.
    wechat.push(f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[oV5Crjpx]]></FromUserName>"
                f"<CreateTime>{wechat.now()}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>"
                f"<Status><![CDATA[err(30003)]]></Status><TotalCount>0</TotalCount><FilterCount>0</FilterCount>"
                f"<SentCount>0</SentCount><ErrorCount>0</ErrorCount></xml>")
    with bot.db.session() as s:
        delivery = s.scalar(select(Delivery).where(Delivery.key == "plan:2021-launch"))
        assert delivery.status == DeliveryStatus.FAILED and "原创校验" in delivery.last_error
    add_staff(app, "ed", "editor")
    console = ConsoleClient(app.test_client())
    console.login("ed")
    html = console.get("/console/schedule").get_data(as_text=True)
    assert "失败" in html and "原创校验判定为转载" in html


def test_staff_see_the_outcome_in_chinese_on_the_broadcasts_page(app, bot, fake_wechat, clock, wechat) -> None:
    fake_wechat.event_sink = wechat.push
    fake_wechat.fail_next_mass("err(40001)")
    broadcast_id = broadcast_sent(bot, fake_wechat, clock)
    fake_wechat.finish_mass_jobs()
    add_staff(app, "ed", "editor")
    console = ConsoleClient(app.test_client())
    console.login("ed")
    data = console.get(f"/console/broadcasts/{broadcast_id}/progress").get_json()
    assert data["status_name"] == "群发失败" and data["failed"] == 1
    assert data["wechat"][0]["status_name"] == "公众号管理员拒绝了这次群发（API 群发保护）"
    assert "管理员拒绝" in data["reasons"][0]
    html = console.get("/console/broadcasts").get_data(as_text=True)
    assert "群发失败" in html and "公众号管理员拒绝了这次群发" in html


def test_status_names_cover_the_documented_values() -> None:
    assert broadcasts.describe_mass_status("send success") == "发送成功"
    assert broadcasts.describe_mass_status("err(20013)") == "审核未通过：涉嫌版权"
    assert broadcasts.describe_mass_status("ERR(40001)").startswith("公众号管理员拒绝")
    assert broadcasts.describe_mass_status("err(99999)") == "微信报告失败：err(99999)"


def test_the_simulator_shows_a_mass_sent_article_and_its_cover(api_app, fake_wechat, clock) -> None:
    from bot.dev.simulator import push_as_reply

    bot = api_app.extensions["bot"]
    api_app.extensions["fake_wechat"] = fake_wechat
    fake_wechat.add_user("o_sim_zhangsan")
    clock.set(shanghai(2021, 6, 1, 19, 31))
    queue_plan(bot)
    Sender.from_bot(bot).drain()
    [pushed] = api_app.test_client().get("/simulator/api/pushes?openid=o_sim_zhangsan").get_json()["pushes"]
    card = pushed["reply"]
    item = bot.content.pushes.items[0]
    assert (pushed["channel"], card["type"], card["digest"], card["source"]) == ("mass", "article", item.digest,
                                                                                 item.source)
    cover = api_app.test_client().get(card["cover"])  # served on the simulator's own origin (its CSP)
    assert cover.status_code == 200 and cover.mimetype == "image/jpeg"
    assert cover.data == (Path(__file__).resolve().parent.parent / "content" / item.cover).read_bytes()
    assert push_as_reply({"msgtype": "mpnews", "mpnews": {"media_id": "gone"}}, fake_wechat)["type"] == "text"
    assert api_app.test_client().get("/simulator/material/unknown").status_code == 404


def test_the_demo_posts_job_reports_signed_to_its_own_webhook(api_app, fake_wechat, clock) -> None:
    from bot.dev.simulator import post_to_webhook

    bot = api_app.extensions["bot"]
    fake_wechat.event_sink = lambda xml: post_to_webhook(api_app, xml)
    fake_wechat.add_user("a")
    fake_wechat.fail_next_mass("err(40002)")
    clock.set(shanghai(2021, 6, 1, 19, 31))
    queue_plan(bot)
    Sender.from_bot(bot).drain()
    fake_wechat.finish_mass_jobs()
    with bot.db.session() as s:
        delivery = s.scalar(select(Delivery).where(Delivery.key == "plan:2021-launch"))
    assert delivery.status == DeliveryStatus.FAILED and "30 分钟内没有确认" in delivery.last_error


def test_the_demo_may_start_at_a_moment() -> None:
    from bot.runtime import demo_start

    assert demo_start("2021-06-01") == shanghai(2021, 6, 1, 9, 0)
    assert demo_start("2021-06-01T19:29") == shanghai(2021, 6, 1, 19, 29)
