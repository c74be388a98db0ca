"""Nothing undeliverable hidden from staff: a notice's real state on the report's page, in Chinese,
the flash after the action, the dashboard's count and the list behind it, and how the reporter can
still learn the news. Through the fake WeChat API and the real sender."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.background.sender import Sender
from bot.models import Delivery, DeliveryStatus
from bot.services import notices
from tests.console import ConsoleClient, add_staff, figures
from tests.reports_helpers import file_report
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer


@pytest.fixture
def config(database_url: str, fake_wechat, tmp_path: Path):
    return make_config(database_url, wechat={"api_base_url": fake_wechat.base_url},
                       reports={"photo_dir": str(tmp_path / "photos")})


def reporter(app, clock, fake, openid: str = "o_rep") -> str:
    """A citizen files a report (WeChat sees their messages: the fake learns of them too)."""
    citizen = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), openid)
    ticket, _ = file_report(citizen)
    fake.record_interaction(openid)
    return ticket


def logged_in(app, role: str = "reviewer", username: str = "li") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def notice_cells(page: str) -> list[tuple[str, str]]:
    """(state, reason) of each notice in the report's history."""
    return re.findall(r'data-notice-state="([a-z]+)">[^<]*</span>(?:<br><small class="notice-reason">([^<]*)</small>)?',
                      page)


def test_a_reply_outside_the_window_shows_undeliverable_and_why_on_the_report_page(app, clock, fake_wechat) -> None:
    ticket = reporter(app, clock, fake_wechat)
    clock.advance(hours=49)
    console = logged_in(app)
    answer = console.post(f"/console/reports/{ticket}/reply", {"text": "已转交消防大队核查"})
    page = console.get(answer.headers["Location"]).get_data(as_text=True)
    # Before the sender tries: the flash says it cannot arrive, why, and how the reporter can still learn it.
    assert "给举报人的通知无法送达" in page and "已超过 48 小时" in page and f"查询 {ticket}" in page
    assert "已排队发送" not in page
    Sender.from_bot(app.extensions["bot"]).drain()
    page = console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    [(state, reason)] = notice_cells(page)
    assert state == "undeliverable" and "无法送达" in page
    assert "已超过 48 小时" in reason and "没有配置模板消息" in reason
    assert not re.search(r"[A-Za-z]{3,}", reason)  # in Chinese, never the sender's English
    unreachable = page[page.index('id="unreachable"'):]
    assert f"查询 {ticket}" in unreachable and "模板消息或订阅通知" in unreachable
    assert fake_wechat.sent_to("o_rep") == []


def test_inside_the_window_a_notice_shows_pending_then_delivered(app, clock, fake_wechat) -> None:
    ticket = reporter(app, clock, fake_wechat)
    console = logged_in(app)
    answer = console.post(f"/console/reports/{ticket}/status", {"to": "accepted", "note": "请保持电话畅通"})
    page = console.get(answer.headers["Location"]).get_data(as_text=True)
    assert "给举报人的通知待发送" in page and "已通知举报人" not in page
    assert notice_cells(page) == [("pending", "等待发送")] and 'id="unreachable"' not in page
    Sender.from_bot(app.extensions["bot"]).drain()
    page = console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    [(state, reason)] = notice_cells(page)
    assert state == "sent" and reason.startswith("以客服消息送达")
    # The staff's note reaches the reporter in the notice itself, not only under 查询.
    [sent] = fake_wechat.sent_to("o_rep")
    assert "已受理" in sent.message["text"]["content"] and "请保持电话畅通" in sent.message["text"]["content"]


def test_the_dashboard_counts_undelivered_notices_and_links_to_their_list(app, clock, fake_wechat) -> None:
    ticket = reporter(app, clock, fake_wechat)
    fake_wechat.unfollow("o_rep")
    clock.advance(hours=50)
    console = logged_in(app)
    console.post(f"/console/reports/{ticket}/reply", {"text": "回复一"})
    console.post(f"/console/reports/{ticket}/status", {"to": "accepted"})
    Sender.from_bot(app.extensions["bot"]).drain()
    bot = app.extensions["bot"]
    with bot.db.session() as s:
        expected = s.scalar(select(func.count(Delivery.id)).where(
            Delivery.openid.is_not(None), Delivery.status.in_([DeliveryStatus.UNDELIVERABLE, DeliveryStatus.FAILED])))
    assert expected == 2
    dashboard = console.get("/console/").get_data(as_text=True)
    assert figures(dashboard)["notices.undelivered"] == "2"
    assert 'href="/console/notices/undelivered"' in dashboard
    listing = console.get("/console/notices/undelivered").get_data(as_text=True)
    assert listing.count('data-notice-state="undeliverable"') == 2
    assert f'href="/console/reports/{ticket}"' in listing and "举报进度通知" in listing


def test_an_editor_sees_the_list_without_links_to_reports(app, clock, fake_wechat) -> None:
    ticket = reporter(app, clock, fake_wechat)
    clock.advance(hours=50)
    reviewer = logged_in(app)
    reviewer.post(f"/console/reports/{ticket}/reply", {"text": "回复"})
    Sender.from_bot(app.extensions["bot"]).drain()
    editor = logged_in(app, "editor", "ed")
    listing = editor.get("/console/notices/undelivered").get_data(as_text=True)
    assert 'data-notice-state="undeliverable"' in listing and f'href="/console/reports/{ticket}"' not in listing


@pytest.mark.parametrize("status, errcode, error, expected", [
    (DeliveryStatus.UNDELIVERABLE, None, "the citizen unfollowed the account", "对方已取消关注公众号"),
    (DeliveryStatus.FAILED, 43101, "43101 user refuse to accept the msg", "对方没有同意接收这条订阅通知"),
    (DeliveryStatus.FAILED, 40037, "40037 invalid template_id", "模板 ID 无效"),
    (DeliveryStatus.FAILED, 12345, "12345 something new", "微信返回错误码 12345"),
    (DeliveryStatus.FAILED, -1, "gave up after 5 attempts: -1 system error", "微信系统繁忙"),
    (DeliveryStatus.UNCERTAIN, -1002, "no answer from WeChat; it may have arrived", "微信没有应答"),
])
def test_reasons_are_always_in_chinese(status, errcode, error, expected) -> None:
    row = Delivery(key="k", purpose="report_status", payload={}, status=status, last_errcode=errcode, last_error=error)
    said = notices.reason(row)
    assert expected in said and not re.search(r"[A-Za-z]{3,}", said)


@pytest.mark.parametrize("errcode, error, expected", [
    (-1, "gave up after 5 attempts: -1 system error", "多次重试仍未成功（微信系统繁忙，错误码 -1）"),
    (-1, "the sender stopped while this was at WeChat; it may have arrived", "发送时程序中断，可能已送达，未自动重发"
                                                                             "（微信系统繁忙，错误码 -1）"),
    (45015, "requeued by staff", "工作人员已安排重发（已超出 48 小时客服消息时限，错误码 45015）"),
    (43004, "the citizen does not follow the account (43004 user not follow)",
     "对方没有关注公众号（对方已取消关注公众号，错误码 43004）"),
    (-1002, "no answer from WeChat; it may have arrived", "微信没有应答，可能已送达，未自动重发（错误码 -1002）"),
    (40007, "invalid media_id hint: [aBcD0123]", "微信里已找不到这个文件（媒体编号无效或已过期）（错误码 40007）"),
], ids=["gave-up", "sender-stopped", "requeued", "not-following", "no-answer", "code-only"])
def test_the_senders_own_phrase_comes_first_and_the_code_is_still_read(errcode, error, expected) -> None:
    """The sender's phrase says what it concluded (可能已送达, gave up, staff requeued); WeChat's code,
    often left from an earlier attempt, says what WeChat answered. Both are shown, the phrase first."""
    assert notices.error_text(error, errcode) == expected
