"""Console forms and pages that misled staff (issue 20): the draw form's default period never ends
before it starts; 下次运行 reads on the campaign clock the header shows (the scheduler's store keeps
wall-clock times); a push-plan item whose time has passed offers no 暂停."""

from __future__ import annotations

import re

from bot.background import scheduler
from bot.background.jobs import Job
from bot.clock import shanghai
from tests.console import ConsoleClient, add_staff


def logged_in(app, username: str = "boss") -> ConsoleClient:
    add_staff(app, username, "admin")
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def period(html: str) -> tuple[str, str]:
    start = re.search(r'name="start" value="([^"]+)"', html).group(1)
    end = re.search(r'name="end" value="([^"]+)"', html).group(1)
    return start, end


def test_the_draw_form_never_offers_an_end_before_its_start(app, clock) -> None:
    for n, (moment, expected) in enumerate((
            (shanghai(2021, 5, 20, 9), ("2021-06-01", "2021-06-01")),  # before the campaign
            (shanghai(2021, 6, 1, 9), ("2021-06-01", "2021-06-01")),  # its first day
            (shanghai(2021, 6, 5, 9), ("2021-06-01", "2021-06-04")))):  # the days over so far
        clock.set(moment)
        console = logged_in(app, f"boss{n}")  # a new login each day (idle logout)
        assert period(console.get("/console/quiz/draws").get_data(as_text=True)) == expected, moment


def job_row(html: str, job_id: str) -> str:
    return re.search(rf'<tr data-job="{job_id}".*?</tr>', html, re.S).group(0)


def test_next_run_is_on_the_campaign_clock_of_the_header(app, clock) -> None:
    # The test clock is June 1 2021, 10:00; the scheduler's store counts 90 s from the real now.
    sched = scheduler.build_scheduler(app.extensions["bot"], [Job("photo_downloads", "interval", {"seconds": 90},
                                                                  "x:y")])
    sched.start(paused=True)
    try:
        html = logged_in(app).get("/console/schedule").get_data(as_text=True)
    finally:
        sched.shutdown(wait=False)
    assert "截至 2021-06-01 10:00" in html
    cell = re.search(r'data-field="next">([^<]*)<', job_row(html, "photo_downloads")).group(1)
    assert cell == "06-01 10:01", cell


def plan_row(html: str, item_id: str) -> str:
    return re.search(rf'<tr data-plan="{item_id}".*?</tr>', html, re.S).group(0)


def test_a_past_plan_item_offers_no_pause_and_a_coming_one_does(app, clock) -> None:
    clock.set(shanghai(2021, 6, 3, 21, 0))  # case-confined-space was due at 20:00 and never queued here
    html = logged_in(app).get("/console/schedule").get_data(as_text=True)
    past, coming = plan_row(html, "case-confined-space"), plan_row(html, "case-hazchem")
    assert "未发出" in past and "暂停" not in past
    assert "<button type=\"submit\">暂停</button>" in coming
