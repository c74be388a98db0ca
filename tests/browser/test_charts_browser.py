"""The dashboard's charts in Debian's chromium (issue 20): no two texts of a chart overlap (measured
by their bounding boxes: category labels, day labels, values, legend), series on the same values stay
visible and toggle from the legend, and a one-day series is drawn as bars with their values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from bot.clock import shanghai
from bot.models import Citizen, Report
from tests.browser.test_console_browser import log_in
from tests.console_seed import ADMIN, seed

pytestmark = pytest.mark.browser

BOXES = """svg => Array.from(svg.querySelectorAll('text')).filter(t => t.getBBox().width > 0).map(t => {
  const r = t.getBoundingClientRect(); return {text: t.textContent, x: r.x, y: r.y, w: r.width, h: r.height};
})"""


def overlaps(boxes: list[dict[str, Any]], slack: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of texts whose rendered boxes intersect (more than `slack` px each way)."""
    found = []
    for n, a in enumerate(boxes):
        for b in boxes[n + 1:]:
            if (min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]) > slack
                    and min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]) > slack):
                found.append((a["text"], b["text"]))
    return found


def spread_over_the_month(app: Any) -> None:
    """A report in every category and followers on each of 30 days: long category names, a long x axis."""
    bot = app.extensions["bot"]
    with bot.db.session() as session:
        first = session.query(Report).first()
        categories = [c.id for c in bot.content.report_categories.items]
        session.execute(update(Report).where(Report.id == first.id).values(category=categories[-1]))
        for n, category in enumerate(categories):
            clone = Report(**{c.name: getattr(first, c.name) for c in Report.__table__.columns
                              if c.name not in ("id", "ticket", "category", "draft_key")},
                           ticket=f"YH20210602-ZZ{n:04d}", category=category, draft_key=f"month-{n}")
            session.add(clone)
        for day in range(30):
            moment = shanghai(2021, 6, 1, 9) + dt.timedelta(days=day)
            session.add(Citizen(openid=f"oMonth{day:02d}", first_seen_at=moment, subscribed_at=moment))
        session.commit()


def test_chart_texts_never_overlap(app, clock, live_server, page, screenshot) -> None:
    seed(app, clock)
    spread_over_the_month(app)
    clock.set(shanghai(2021, 6, 30, 18, 0))
    log_in(page, live_server, ADMIN)
    page.wait_for_url(f"{live_server}/console/")
    charts = page.locator("svg.chart")
    assert charts.count() >= 5
    for n in range(charts.count()):
        chart = charts.nth(n)
        chart.scroll_into_view_if_needed()
        boxes = chart.evaluate(BOXES)
        assert len(boxes) > 3
        assert overlaps(boxes) == [], chart.get_attribute("aria-label")
    categories = page.locator("[data-panel=reports_categories] svg.chart")
    assert categories.locator("[data-role=label]").count() == len(app.extensions["bot"].content.report_categories.items)
    screenshot(page, "console-charts")


def test_series_on_the_same_values_stay_visible_and_toggle(app, clock, live_server, page, screenshot) -> None:
    seed(app, clock)  # nobody unfollows: 取消关注 is 0 every day, on the axis under nothing else
    log_in(page, live_server, ADMIN)
    page.wait_for_url(f"{live_server}/console/")
    chart = page.locator("[data-panel=followers] svg.chart")
    lines = chart.locator("polyline")
    assert lines.count() == 3
    # Each series its own dash and marker shape, so one drawn over another still shows.
    assert len({lines.nth(n).get_attribute("stroke-dasharray") for n in range(3)}) == 3
    shapes = {chart.locator(f"[data-series='{n}'] > :not(polyline)").first.evaluate(
        "e => e.tagName + (e.getAttribute('points') || '').split(' ').length") for n in range(3)}
    assert len(shapes) == 3, shapes  # circle, square, triangle
    series = chart.locator("[data-series='1']")
    assert series.is_visible()
    chart.locator("[data-series-toggle='1']").click()
    assert not series.is_visible() and chart.locator("[data-series='0']").is_visible()
    screenshot(page, "console-chart-toggled")
    chart.locator("[data-series-toggle='1']").click()
    assert series.is_visible()


def test_a_single_day_shows_bars_with_values(app, clock, live_server, page, screenshot) -> None:
    console = seed(app, clock)
    del console
    clock.set(shanghai(2021, 6, 1, 18, 0))  # the campaign's first day: one day on the x axis
    log_in(page, live_server, ADMIN)
    page.wait_for_url(f"{live_server}/console/")
    chart = page.locator("[data-panel=followers] svg.chart")
    bars = chart.locator(".series rect")
    assert bars.count() == 3
    assert [t.strip() for t in chart.locator("[data-role=value]").all_text_contents()] == ["3", "0", "3"]
    heights = [bars.nth(n).bounding_box()["height"] for n in range(3)]
    assert heights[0] > 20 and heights[1] == 0 and heights[2] == heights[0]
    screenshot(page, "console-chart-one-day")
