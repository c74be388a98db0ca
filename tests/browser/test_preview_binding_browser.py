"""Binding one's own WeChat and previewing a draft to it, in Debian's chromium (issue 20): 我的账号
shows a code; the member's WeChat sends `绑定 <code>` (through the real webhook); the broadcasts page
then lists the member to preview to, and the preview's result appears under the draft's status."""

from __future__ import annotations

import pytest

from bot.background.sender import Sender
from bot.clock import shanghai
from tests.browser.test_console_browser import log_in
from tests.console import add_staff
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

pytestmark = pytest.mark.browser


@pytest.fixture
def config(api_config):
    return api_config


def test_a_member_binds_their_wechat_and_previews_a_draft_to_it(app, clock, fake_wechat, live_server, page,
                                                                 screenshot) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("o_li_phone")
    add_staff(app, "li", "editor")
    log_in(page, live_server, "li")
    page.wait_for_url(f"{live_server}/console/")
    page.click("nav.nav >> text=我的账号")
    assert page.locator("#wechat-state").get_attribute("data-bound") == "0"
    page.click("#wechat button.primary")
    code = page.locator("#bind-code").get_attribute("data-code")
    screenshot(page, "console-account-bind-code")
    phone = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_li_phone")
    assert "已把这个微信号绑定到管理后台账号 li" in phone.says(f"绑定 {code}")
    page.reload()
    assert page.locator("#wechat-state").get_attribute("data-bound") == "1"

    page.click("nav.nav >> text=群发")
    page.fill("#compose input[name=title]", "防汛提醒")
    page.fill("#compose textarea[name=content]", "明天有暴雨，请远离河道。")
    page.click("#compose button[type=submit]")
    page.wait_for_selector("text=群发草稿 1 已保存")
    form = page.locator("[data-preview-form]")
    assert form.locator("input[name=staff]").count() == 1 and form.locator("input[name=staff]").is_checked()
    assert page.locator("input[name=openids]").count() == 0  # nobody types an openid
    form.locator("button").click()
    page.wait_for_selector("text=已排队发送 1 条预览（li）")
    Sender.from_bot(app.extensions["bot"]).drain()
    page.reload()
    assert "预览 → li：已送达" in page.locator("tr[data-broadcast='1'] td[data-field=status_name]").inner_text()
    assert [d.channel for d in fake_wechat.sent_to("o_li_phone")] == ["preview"]
    screenshot(page, "console-broadcast-previewed")


def test_an_admin_unbinds_a_members_wechat_on_the_staff_page(app, clock, fake_wechat, live_server, new_page,
                                                              screenshot) -> None:
    from tests.browser.test_broadcasts_browser import STATUS_LINES

    fake_wechat.add_user("o_li_phone")
    add_staff(app, "li", "editor")
    add_staff(app, "boss", "admin")
    member, admin = new_page(), new_page()
    log_in(member, live_server, "li")
    member.wait_for_url(f"{live_server}/console/")
    member.goto(f"{live_server}/console/account")
    member.click("#wechat button.primary")
    code = member.locator("#bind-code").get_attribute("data-code")
    phone = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_li_phone")
    phone.says(f"绑定 {code}")

    admin.set_viewport_size({"width": 1024, "height": 768})  # an office PC's screen
    admin.on("dialog", lambda dialog: dialog.accept())
    log_in(admin, live_server, "boss")
    admin.wait_for_url(f"{live_server}/console/")
    admin.goto(f"{live_server}/console/staff")
    cell = admin.locator("tr[data-username='li'] td[data-field=wechat]")
    assert cell.evaluate(STATUS_LINES) == 1, cell.inner_text()  # 已绑定 stays on one line beside its button
    screenshot(admin, "console-staff-wechat-bound")
    cell.locator("button", has_text="解除绑定").click()
    admin.wait_for_selector("text=已解除 li 绑定的微信号")
    assert admin.locator("tr[data-username='li'] td[data-field=wechat]").inner_text().strip() == "未绑定"
    assert admin.locator("tr[data-username='boss'] td[data-field=wechat] button").count() == 0

    member.reload()
    state = member.locator("#wechat-state")
    assert state.get_attribute("data-bound") == "0" and "管理员 boss 已于" in state.inner_text()
    screenshot(member, "console-account-unbound-by-admin")
