"""The broadcasts page in Debian's chromium (issue 20): a status stays on one line (it wrapped one
character a line beside the draft's forms); a draft is edited and deleted through the page."""

from __future__ import annotations

import pytest

from bot.clock import shanghai
from tests.browser.test_console_browser import log_in
from tests.console_seed import ADMIN, seed

pytestmark = pytest.mark.browser

# How many lines the status's own text takes in its cell (the first text node, measured by a Range).
STATUS_LINES = """td => { const text = Array.from(td.childNodes).find(n => n.nodeType === 3 && n.textContent.trim());
  const range = document.createRange(); range.selectNodeContents(text);
  return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size; }"""


def test_statuses_keep_to_one_line_and_a_draft_is_edited_then_deleted(app, clock, live_server, page,
                                                                       screenshot) -> None:
    console = seed(app, clock)
    clock.set(shanghai(2021, 6, 2, 9, 0))  # a day without a push-plan item: the mass send goes out
    for title in ("防溺水提醒", "燃气安全提醒"):
        console.post("/console/broadcasts/compose", {"kind": "text", "title": title, "content": "请注意安全。",
                                                     "audience": "all"})
    console.post("/console/broadcasts/1/send", {"at": ""})
    page.set_viewport_size({"width": 1024, "height": 768})  # an office PC's screen
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, ADMIN)
    page.wait_for_url(f"{live_server}/console/")
    page.goto(f"{live_server}/console/broadcasts")
    cells = page.locator("td[data-field=status_name]")
    assert cells.count() == 2
    for n in range(cells.count()):
        assert cells.nth(n).evaluate(STATUS_LINES) == 1, cells.nth(n).inner_text()
    screenshot(page, "console-broadcasts")

    page.click("[data-edit-draft='2']")
    page.wait_for_selector("#compose[data-editing='2']")
    assert page.input_value("#compose input[name=title]") == "燃气安全提醒"
    page.fill("#compose input[name=title]", "燃气安全提醒（修改）")
    page.click("#compose button[type=submit]")
    page.wait_for_selector("text=群发草稿 2 已修改")
    assert "燃气安全提醒（修改）" in page.locator("tr[data-broadcast='2']").inner_text()
    page.click("[data-delete-draft='2']")
    page.wait_for_selector("text=已删除")
    assert page.locator("tr[data-broadcast='2']").count() == 0
    assert page.locator("tr[data-broadcast='1']").count() == 1  # the queued one stays, with no delete button
    assert page.locator("[data-delete-draft='1']").count() == 0
    screenshot(page, "console-broadcasts-after-delete")
