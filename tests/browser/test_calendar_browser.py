"""The event form in Debian's chromium: an editor moves a lecture, first into the past (the error
is shown in red beside the time, in Chinese, nothing overflows the card), then to a new venue, and a
citizen in the simulator is answered with the new venue at once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.pixels import rgb_pixels, share_of
from tests.browser.test_console_browser import log_in
from tests.browser.test_simulator_browser import last_reply, say, sim_app, sim_url  # noqa: F401 - fixtures
from tests.console import add_staff

pytestmark = pytest.mark.browser

LECTURE = "lecture-chengguan-units"


def reddish(pixel: tuple[int, int, int]) -> bool:
    r, g, b = pixel
    return r > 140 and g < 90 and b < 90  # the error colour #b3261e, anti-aliased


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (inner["x"] >= outer["x"] - 1 and inner["y"] >= outer["y"] - 1
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1)


def test_an_editor_moves_a_lecture_and_a_citizen_sees_it(sim_app, sim_url, page, new_page, screenshot) -> None:  # noqa: F811
    add_staff(sim_app, "ed", "editor")
    log_in(page, sim_url, "ed")
    page.click("nav.nav >> text=活动日历")
    page.click(f"a[data-edit={LECTURE}]")
    page.fill("input[name=start_day]", "2021-05-31")
    page.fill("input[name=end_day]", "2021-05-31")
    page.click("#event-form button[type=submit]")

    error = page.locator("[data-error=start]")
    error.wait_for()
    assert error.inner_text() == "开始时间：不能把活动安排到已经过去的时间"
    assert page.locator("#form-errors li").all_inner_texts() == ["开始时间：不能把活动安排到已经过去的时间",
                                                                 "结束时间：结束时间已经过去"]
    screenshot(page, "console-event-form-error")
    # The message sits in the time's own box, drawn in red, and is not clipped.
    assert inside(error.bounding_box(), page.locator("#event-form fieldset").bounding_box())
    assert share_of(rgb_pixels(error.screenshot()), reddish) > 0.02
    card = page.locator("#event-form").bounding_box()
    for field in page.locator("#event-form input:visible, #event-form select, #event-form textarea").all():
        box = field.bounding_box()
        assert box["x"] + box["width"] <= card["x"] + card["width"] + 1, field.get_attribute("name")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    visible = page.locator("main").inner_text()
    assert not re.findall(r"\b[A-Za-z]{3,}\b", visible), "English on the form"
    shown = page.eval_on_selector_all("#event-form input:not([type=hidden])", "els => els.map(e => e.value)")
    assert "15:00" in shown and not re.search(r"[A-Za-z]{2,}", " ".join(shown)), shown  # 24-hour time, no AM/PM

    page.fill("input[name=start_day]", "2021-06-02")
    page.fill("input[name=end_day]", "2021-06-02")
    page.fill("input[name=place]", "县应急管理局三楼报告厅")
    page.click("#event-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "已保存修改" in page.locator(".flash-success").inner_text()
    assert "县应急管理局三楼报告厅" in page.locator(f"tr[data-event={LECTURE}]").inner_text()
    screenshot(page, "console-events")
    # Every column heading on one line (a long placeholder in the last column once squeezed 提醒 into one
    # character a line).
    lines = page.eval_on_selector_all("#events thead th", """els => els.map(e => {
        const r = document.createRange(); r.selectNodeContents(e);
        return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; })""")
    assert lines == [1] * len(lines), lines

    chat: Any = new_page()
    chat.goto(f"{sim_url}/simulator/")
    say(chat, "宣讲")
    assert "县应急管理局三楼报告厅" in last_reply(chat) and "县政府二楼会议室" not in last_reply(chat)
    screenshot(chat, "simulator-edited-event")


def test_an_editor_is_told_the_quota_in_the_push_form(sim_app, sim_url, page, screenshot) -> None:  # noqa: F811
    add_staff(sim_app, "ed", "editor")
    log_in(page, sim_url, "ed")
    page.click("nav.nav >> text=推送内容")
    page.click("a[data-edit=case-confined-space]")
    assert page.locator("select[name=cover] option:checked").inner_text() == "案例警示"  # covers by what they show
    page.fill("input[name=when_day]", "2021-06-05")  # calligraphy-1 goes out that day
    page.click("#push-form button[type=submit]")
    error = page.locator("[data-error=when]")
    error.wait_for()
    assert error.inner_text() == "推送时间：这一天已有别的群发：订阅号每天只能群发一次，请换一天"
    screenshot(page, "console-push-form-error")
    assert inside(error.bounding_box(), page.locator("#push-form fieldset").bounding_box())
    assert share_of(rgb_pixels(error.screenshot()), reddish) > 0.02
    assert not re.findall(r"\b[A-Za-z]{3,}\b", page.locator("main").inner_text()), "English on the form"
    page.fill("input[name=when_day]", "2021-06-04")
    page.click("#push-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "06-04 20:00" in page.locator("tr[data-push=case-confined-space]").inner_text()
