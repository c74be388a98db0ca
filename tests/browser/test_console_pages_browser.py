"""The reports, broadcasts and push-plan pages in Debian's chromium: triage a report filed through the
webhook end to end (the reporter's notices delivered by the sender to the fake WeChat API), export
XLSX, send a broadcast and watch its progress bar fill while the sender drains."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.background.sender import Sender
from bot.clock import shanghai
from bot.models import Delivery
from tests.browser.test_console_browser import log_in
from tests.console import add_staff
from tests.reports_helpers import file_report
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer

pytestmark = pytest.mark.browser


@pytest.fixture
def config(database_url: str, fake_wechat, tmp_path: Path):
    return make_config(database_url, wechat={"api_base_url": fake_wechat.base_url},
                       reports={"photo_dir": str(tmp_path / "photos")})


def accept_dialogs(page: Any) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def test_triage_a_report_end_to_end(app, live_server, page, screenshot, fake_wechat, clock) -> None:
    citizen = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_whistle")
    fake_wechat.add_user("o_whistle")
    fake_wechat.record_interaction("o_whistle")
    ticket, _ = file_report(citizen)
    add_staff(app, "li", "reviewer")
    accept_dialogs(page)
    log_in(page, live_server, "li")
    page.wait_for_url(f"{live_server}/console/")
    assert page.locator("[data-panel=reports] [data-figure='reports.waiting']").get_attribute("data-value") == "1"
    page.click("nav.nav >> text=隐患举报")
    page.wait_for_url(re.compile(r".*/console/reports$"))
    assert page.locator(f"tr[data-ticket='{ticket}'] td").last.inner_text() == "实名（已隐藏）"
    screenshot(page, "console-reports")
    page.click(f"text={ticket}")
    assert "张三" not in page.content()
    for to, note in (("accepted", ""), ("verifying", ""), ("rectified", "已清理楼道纸箱，禁止在楼道充电"),
                     ("closed", "")):
        form = page.locator(f"form[data-action='{to}']")
        if note:
            form.locator("input[name=note]").fill(note)
        form.locator("button").click()
        page.wait_for_load_state()
        assert page.locator("#report-status").get_attribute("data-status") == to
    assert "已清理楼道纸箱" in page.locator("#history").inner_text()
    screenshot(page, "console-report-detail")
    with app.extensions["bot"].db.session() as session:
        notices = session.scalars(select(Delivery).where(Delivery.purpose == "report_status")).all()
        assert len(notices) == 4 and {n.openid for n in notices} == {"o_whistle"}
    assert Sender.from_bot(app.extensions["bot"]).drain() == 4
    texts = [d.message["text"]["content"] for d in fake_wechat.sent_to("o_whistle")]
    # The sender works in parallel, so four notices queued in the same minute may arrive in any order.
    assert sorted(re.search(r"状态更新为：(\S+?)。", t).group(1) for t in texts) == sorted(
        ["已受理", "核查中", "已整改", "已办结"])


def test_admin_exports_xlsx_and_reveals_with_a_reason(app, live_server, page, screenshot, clock) -> None:
    citizen = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_x")
    ticket, _ = file_report(citizen)
    add_staff(app, "boss", "admin")
    accept_dialogs(page)
    log_in(page, live_server, "boss")
    page.goto(f"{live_server}/console/reports?category=fire")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    rows = list(book.active.values)
    assert rows[0][0] == "举报编号" and rows[1][0] == ticket and "手机号" not in rows[0]
    page.goto(f"{live_server}/console/reports/{ticket}")
    page.fill("#reveal-form input[name=reason]", "核实现场需要联系举报人")
    page.click("#reveal-form button")
    page.wait_for_selector("#identity")
    assert "13800138000" in page.locator("#identity").inner_text()
    screenshot(page, "console-report-revealed")


def test_broadcast_progress_bar_fills(app, live_server, page, screenshot, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))  # June 1's mass send belongs to the push plan
    for openid in ("a", "b", "c"):
        fake_wechat.add_user(openid)
    add_staff(app, "ed", "editor")
    accept_dialogs(page)
    log_in(page, live_server, "ed")
    page.goto(f"{live_server}/console/broadcasts")
    page.fill("#compose input[name=title]", "防汛提醒")
    page.fill("#compose textarea[name=content]", "明天有暴雨，请远离河道<注意安全>")
    assert page.locator("#preview-content").inner_text() == "明天有暴雨，请远离河道<注意安全>"
    page.check("#compose input[value=news]")
    page.fill("#compose input[name=url]", "https://example.org/flood")
    assert page.locator("#preview-url").inner_text() == "https://example.org/flood"
    assert page.locator("[data-preview=text]").is_hidden()
    page.check("#compose input[value=text]")
    screenshot(page, "console-broadcast-compose")
    page.click("#compose button[type=submit]")
    page.wait_for_selector("text=群发草稿")
    page.locator("tr[data-broadcast] form[action$='/send'] button").click()
    page.wait_for_selector("text=已排队")
    bar = page.locator("tr[data-broadcast] progress")
    assert bar.get_attribute("data-percent") == "0"
    assert Sender.from_bot(app.extensions["bot"]).drain() == 1
    # broadcasts.js polls the progress endpoint and updates the bar (no reload).
    page.wait_for_selector("tr[data-broadcast] progress[data-percent='100']")
    assert bar.evaluate("el => el.value") == 100
    assert "已发送 1" in page.locator("[data-field=counts]").inner_text()
    page.wait_for_selector("tr[data-broadcast] td[data-field=status_name]:has-text('已发完')")
    assert page.locator("tr[data-broadcast] form[action$='/cancel']").count() == 0
    screenshot(page, "console-broadcasts")
    assert {d.openid for d in fake_wechat.delivered() if d.channel == "mass"} == {"a", "b", "c"}


def test_push_plan_pause_and_resume(app, live_server, page, screenshot) -> None:
    add_staff(app, "ed", "editor")
    accept_dialogs(page)
    log_in(page, live_server, "ed")
    page.click("nav.nav >> text=推送计划")
    row = page.locator("tr[data-job=overdue_reports]")
    assert row.locator("[data-field=next]").inner_text() == "06-02 08:30"
    row.locator("input[name=reason]").fill("节假日")
    row.locator("button", has_text="暂停").click()
    page.wait_for_selector("tr[data-job=overdue_reports][data-paused='1']")
    screenshot(page, "console-push-plan")
    page.locator("tr[data-job=overdue_reports] button", has_text="恢复").click()
    page.wait_for_selector("tr[data-job=overdue_reports][data-paused='0']")


def test_a_reply_outside_the_window_shows_undeliverable_on_the_report_page(app, live_server, page, screenshot,
                                                                           fake_wechat, clock) -> None:
    citizen = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_late")
    ticket, _ = file_report(citizen)
    fake_wechat.record_interaction("o_late")
    clock.advance(hours=49)  # the reporter's 48 hours are over; no template is configured
    add_staff(app, "li", "reviewer")
    log_in(page, live_server, "li")
    page.goto(f"{live_server}/console/reports/{ticket}")
    page.fill("#reply-form textarea[name=text]", "已转交消防大队核查")
    page.click("#reply-form button")
    page.wait_for_selector(".flash-error:has-text('给举报人的通知无法送达')")
    assert f"查询 {ticket}" in page.locator(".flash-error").inner_text()
    assert Sender.from_bot(app.extensions["bot"]).drain() == 1
    page.reload()
    cell = page.locator("#history tr[data-kind=reply] td").last
    assert cell.locator("[data-notice-state=undeliverable]").inner_text() == "无法送达"
    assert "已超过 48 小时" in cell.inner_text() and "没有配置模板消息" in cell.inner_text()
    assert f"查询 {ticket}" in page.locator("#unreachable").inner_text()
    screenshot(page, "console-report-undeliverable")
    assert fake_wechat.sent_to("o_late") == []
