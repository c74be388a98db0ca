"""Every page of the console's navigation in Debian's chromium, as an admin over seeded data (issue 20):
the text the browser renders (scripts run: the broadcast preview, progress bars) has no internal names
or English, by the rule of tests/test_console_chinese.py; each page is screenshotted."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_console_browser import log_in
from tests.console_seed import ADMIN, OPENIDS, act, seed
from tests.test_console_chinese import content_words, internal_words, seeded_words

pytestmark = pytest.mark.browser


def test_every_navigation_page_reads_in_chinese(app, clock, live_server, page, screenshot) -> None:
    console = seed(app, clock)
    answers = act(console)
    passwords = set(re.findall(r'id="new-password">([^<]+)<', "".join(answers)))
    data = seeded_words(set(OPENIDS) | {ADMIN, "wang", "test", "poster"} | passwords) | content_words()
    log_in(page, live_server, ADMIN)
    page.wait_for_url(f"{live_server}/console/")
    links = page.locator("nav.nav a")
    targets = [(links.nth(n).get_attribute("data-nav"), links.nth(n).get_attribute("href"))
               for n in range(links.count())]
    assert len(targets) >= 10
    leaks = {}
    for name, href in targets:
        page.goto(f"{live_server}{href}")
        page.wait_for_load_state("networkidle")
        # innerText is what the browser renders; <title> elements of the charts' SVG are tooltips.
        text = page.evaluate("() => document.body.innerText + ' ' + Array.from(document.querySelectorAll("
                             "'svg title, [title], [placeholder], [aria-label]')).map(e => e.textContent + ' ' + "
                             "(e.getAttribute('title') || '') + ' ' + (e.getAttribute('placeholder') || '') + ' ' + "
                             "(e.getAttribute('aria-label') || '')).join(' ')")
        words = sorted(set(internal_words(f"<p>{text.replace('<', ' ')}</p>", data)))
        if words:
            leaks[name] = words
        if name != "console.content_page":  # the whole content is too tall for one screenshot
            screenshot(page, f"console-chinese-{name.removeprefix('console.')}")
    assert leaks == {}
