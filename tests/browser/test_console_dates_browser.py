"""The console's date and time inputs in Debian's chromium (issue 20): plain text boxes with a Chinese
hint, never the browser's own pickers, whose placeholder ("mm/dd/yyyy", "--:-- --") and segment order
follow the browser's language, not the bureau's; a time typed as staff type it (2021/6/2 9:30) is saved
and shown back as 2021-06-02 09:30."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.clock import shanghai
from bot.models import Broadcast
from tests.browser.test_console_browser import log_in
from tests.console import ConsoleClient, add_staff

pytestmark = pytest.mark.browser

# Every form with a date or a time, and the inputs it has for them.
DATE_FIELDS = {
    "/console/broadcasts": ("at",),                      # 定时 of a draft
    "/console/quiz/draws": ("start", "end"),             # the draw's window
    "/console/reports": ("since", "until"),              # the report filter
    "/console/audit": ("since", "until"),                # the audit filter
    "/console/calendar/new": ("start_day", "start_time", "end_day", "end_time"),
    "/console/plan/new": ("when_day", "when_time"),
}
NATIVE = {"date", "datetime-local", "time", "month", "week"}  # the types chromium draws its own widget for
# What the browser renders of each input: its effective type (an unknown type falls back to text), its
# placeholder, and the text of any <datalist> it offers.
DESCRIBE = """el => ({type: el.type, placeholder: el.placeholder,
  list: el.list ? Array.from(el.list.options).map(o => o.value + ' ' + o.label).join(' ') : ''})"""


def draft(app: Any) -> None:
    console = ConsoleClient(app.test_client())
    assert console.login("boss").status_code == 302
    response = console.post("/console/broadcasts/compose", {"kind": "text", "title": "防溺水提醒",
                                                            "content": "暑期将至，请看护好孩子。", "audience": "all"})
    assert response.status_code == 302


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_date_inputs_are_text_with_a_chinese_hint(app, clock, live_server, browser, locale: str,
                                                  screenshot) -> None:
    """Whatever language the office PC's browser is in: on an English one the old pickers read mm/dd/yyyy."""
    clock.set(shanghai(2021, 5, 31, 10, 0))
    add_staff(app, "boss", "admin")
    draft(app)
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        log_in(page, live_server, "boss")
        page.wait_for_url(f"{live_server}/console/")
        for path, names in DATE_FIELDS.items():
            page.goto(f"{live_server}{path}")
            for name in names:
                field = page.locator(f"input[name={name}]")
                assert field.count() == 1, (path, name)
                shown = field.evaluate(DESCRIBE)
                assert shown["type"] == "text", (path, name, shown)
                assert re.search(r"[0-9]", shown["placeholder"]), (path, name, shown)  # a hint like 2021-06-01
                assert not re.search(r"[A-Za-z]", shown["placeholder"] + shown["list"]), (path, name, shown)
            # No other input on the page is a native date or time widget either.
            types = page.locator("input").evaluate_all("els => els.map(e => e.getAttribute('type') || 'text')")
            assert NATIVE.isdisjoint(types), (path, types)
        screenshot(page, f"console-dates-plan-form-{locale}")
    finally:
        context.close()


def test_a_time_typed_by_keyboard_is_saved_and_shown_back(app, clock, live_server, page, screenshot) -> None:
    # June 1 (the subscription account's one mass send that day is the push plan's launch) is over.
    clock.set(shanghai(2021, 6, 1, 10, 0))
    add_staff(app, "boss", "admin")
    draft(app)
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "boss")
    page.wait_for_url(f"{live_server}/console/")
    page.goto(f"{live_server}/console/broadcasts")
    field = page.locator("tr[data-broadcast='1'] input[name=at]")
    field.click()
    page.keyboard.type("2021/6/2 9:30")  # key by key, as staff type it
    assert field.input_value() == "2021/6/2 9:30"
    page.locator("tr[data-broadcast='1'] form[action$='/send'] button").click()
    page.wait_for_selector(".flash-success:has-text('已排队')")
    assert "06月02日 09:30" in page.locator(".flash-success").inner_text()
    row = page.locator("tr[data-broadcast='1']")
    assert row.locator("td[data-field=send_at]").inner_text() == "2021-06-02 09:30"
    assert row.locator("td[data-field=status_name]").inner_text() == "定时待发"
    screenshot(page, "console-dates-broadcast-scheduled")
    with app.extensions["bot"].db.session() as session:
        assert session.get(Broadcast, 1).send_at == shanghai(2021, 6, 2, 9, 30)
