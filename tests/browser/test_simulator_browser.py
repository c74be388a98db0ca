"""The simulator in Debian's chromium: a citizen's whole report with a location and a photo, and
the status notice a staff change sends, arriving in the same chat."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import create_app
from bot.config import Config
from tests.browser.conftest import serve

pytestmark = pytest.mark.browser

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + b"\x00" * 64 + bytes.fromhex("ffd9")


@pytest.fixture
def sim_app(api_config: Config, clock, store, fake_wechat, tmp_path: Path) -> Iterator[Any]:
    config = api_config.replace(reports={"photo_dir": str(tmp_path / "photos")})
    app = create_app(config, clock=clock, store=store)
    app.extensions["fake_wechat"] = fake_wechat  # the simulator reads pushes from, and uploads photos to, the fake
    yield app
    app.extensions["bot"].close()


@pytest.fixture
def sim_url(sim_app) -> Iterator[str]:
    yield from serve(sim_app)


def say(page: Any, text: str) -> None:
    before = page.locator(".msg.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.locator(".msg.bot").nth(before).wait_for()


def last_reply(page: Any) -> str:
    return page.locator(".msg.bot .bubble").last.inner_text()


def test_report_with_location_and_photo_then_a_status_notice(sim_app, sim_url, page, new_page, screenshot,
                                                           tmp_path: Path) -> None:
    from bot.background.sender import Sender
    from tests.browser.test_console_browser import log_in
    from tests.console import add_staff

    page.goto(f"{sim_url}/simulator/")
    page.click("#follow")
    page.locator(".msg.bot").first.wait_for()
    assert "安全生产月" in last_reply(page)
    say(page, "举报")
    assert "请选择隐患类别" in last_reply(page)
    say(page, "1")
    say(page, "幸福小区3号楼楼道里堆满纸箱，消防通道被堵死了")
    assert "请发送隐患位置" in last_reply(page)
    page.click("#toggle-extras")
    before = page.locator(".msg.bot").count()
    page.click("button.place[data-label='城关镇']")
    page.locator(".msg.bot").nth(before).wait_for()
    assert "已记下位置" in last_reply(page) and "请上传现场照片" in last_reply(page)
    photo = tmp_path / "hazard.jpg"
    photo.write_bytes(JPEG)
    before = page.locator(".msg.bot").count()
    page.set_input_files("#photo", str(photo))
    page.locator(".msg.bot").nth(before).wait_for()
    assert "已收到第1张" in last_reply(page)
    say(page, "完成")
    say(page, "张三 13800138000")
    assert "照片：1 张" in last_reply(page)
    say(page, "确认")
    reply = last_reply(page)
    ticket = re.search(r"YH\d{8}-[A-Z0-9]{6}", reply).group(0)
    assert "<Encrypt>" in page.inner_text("#raw-body")  # AES on: the webhook got an encrypted push
    screenshot(page, "simulator-report")

    # A reviewer accepts the report in the console, in another browser context.
    bot = sim_app.extensions["bot"]
    add_staff(sim_app, "li", "reviewer")
    console = new_page()
    console.on("dialog", lambda dialog: dialog.accept())
    log_in(console, sim_url, "li")
    console.wait_for_url(f"{sim_url}/console/")
    console.goto(f"{sim_url}/console/reports")
    console.click(f"text={ticket}")
    console.locator("form[data-action='accepted'] button").click()
    console.wait_for_load_state()
    assert console.locator("#report-status").get_attribute("data-status") == "accepted"
    Sender.from_bot(bot).drain()
    page.wait_for_selector(".msg.push", timeout=10_000)
    assert ticket in page.locator(".msg.push .bubble").last.inner_text()
    assert "已受理" in page.locator(".msg.push .bubble").last.inner_text()
    screenshot(page, "simulator-status-notice")


def test_a_quiz_round_and_an_events_query_in_the_simulator(sim_url, page, screenshot) -> None:
    page.goto(f"{sim_url}/simulator/")
    say(page, "答题")
    assert "第1/5题" in last_reply(page)
    for number in range(2, 7):
        reply = last_reply(page)
        answer = "对" if "判断题" in reply else ("AB" if "多选题" in reply else "A")
        say(page, answer)
        if number <= 5:
            assert f"第{number}/5题" in last_reply(page)
    assert "本轮结束：答对" in last_reply(page)
    screenshot(page, "simulator-quiz")
    say(page, "6月1日有什么活动")
    assert "6月1日" in last_reply(page)
    screenshot(page, "simulator-events")


def test_the_push_plans_first_item_arrives_as_an_article_card(sim_app, sim_url, page, screenshot, clock) -> None:
    """A follower's chat shows the mass-sent article as WeChat does: cover, title, digest, 阅读原文."""
    from bot.background.jobs.pushes import queue_plan
    from bot.background.sender import Sender
    from bot.clock import shanghai

    page.goto(f"{sim_url}/simulator/")
    page.click("#follow")
    page.locator(".msg.bot").first.wait_for()  # (a string predicate is eval, which the page's CSP refuses)
    bot = sim_app.extensions["bot"]
    clock.set(shanghai(2021, 6, 1, 19, 31))
    queue_plan(bot)
    Sender.from_bot(bot).drain()
    card = page.locator(".msg.push .card.article")
    card.wait_for(timeout=10_000)
    item = bot.content.pushes.items[0]
    assert card.locator(".title").inner_text() == "【活动通知】第20个安全生产月今天启动"
    assert card.locator(".desc").inner_text() == item.digest
    assert card.locator("a.read-more").inner_text() == "阅读原文"
    assert card.locator("a.read-more").get_attribute("href") == item.source
    cover = card.locator("img.cover")
    for _ in range(50):  # (polled from here: the page's CSP forbids the evaluated predicates of wait_for_function)
        if cover.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        page.wait_for_timeout(100)
    assert cover.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [900, 383]  # the file in content/
    screenshot(page, "simulator-article")


def test_accepting_subscribe_notices_lets_a_status_notice_arrive_as_one(database_url, fake_wechat, clock, store,
                                                                         page, screenshot) -> None:
    from bot.background.sender import Sender
    from bot.services.outbox import enqueue, notice_payload
    from tests.settings import make_config

    fake_wechat.account_type = "service"
    config = make_config(database_url, wechat={"api_base_url": fake_wechat.base_url, "account_type": "service"},
                         push={"report_status_subscribe": "SUB_REPORT",
                               "report_status_subscribe_keys": "ticket=character_string1 status=phrase2"})
    app = create_app(config, clock=clock, store=store)
    app.extensions["fake_wechat"] = fake_wechat
    try:
        for url in serve(app):
            page.goto(f"{url}/simulator/")
            page.click("#accept-subscribe")
            page.get_by_text("你在弹窗中同意接收订阅通知").wait_for()
            bot = app.extensions["bot"]
            with bot.db.session() as s:
                enqueue(s, key="report:sim-sub", purpose="report_status", openid="o_sim_zhangsan",
                        payload=notice_payload("您的举报已受理", ticket="YH20210601-7KQ2MX", status="已受理"),
                        now=clock.now())
                s.commit()
            Sender.from_bot(bot).drain()
            page.get_by_text("【订阅通知】").wait_for()
            assert "YH20210601-7KQ2MX" in page.locator(".msg .bubble").last.inner_text()
            screenshot(page, "simulator-subscribe-notice")
    finally:
        app.extensions["bot"].close()
