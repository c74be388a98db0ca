"""The simulator at a phone's width, 390 × 844 (issue 20): the phone frame fills the screen instead of
collapsing to its 20 px border beside the developer panel, and a citizen can chat in it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_simulator_browser import last_reply, say, sim_app, sim_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_the_simulator_fits_a_phone_screen(browser, sim_url, screenshot) -> None:  # noqa: F811
    context = browser.new_context(locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    try:
        page: Any = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{sim_url}/simulator/")
        phone = page.locator(".phone").bounding_box()
        screenshot(page, "simulator-390")
        # The old layout left the phone 20 px wide (two 10 px borders) beside a 360 px panel.
        assert phone["width"] >= PHONE["width"] - 2 and phone["height"] >= 600, phone
        box = page.locator("#text").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["width"] >= 200, box
        assert box["y"] + box["height"] <= PHONE["height"], box  # the composer is on the first screen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
        say(page, "帮助")
        assert "您可以发送下面的文字" in last_reply(page)
        bubble = page.locator(".msg.bot .bubble").last.bounding_box()
        assert bubble["width"] >= 150 and bubble["x"] + bubble["width"] <= PHONE["width"], bubble
    finally:
        context.close()
