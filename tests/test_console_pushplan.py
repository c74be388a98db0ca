"""The push-plan page: jobs and plan items with their next run, pause / resume honoured by the scheduler
and the push plan, run now; every action audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.background import scheduler
from bot.background.jobs import Job, pushes
from bot.models import AuditEntry, Delivery, JobPause
from bot.services import job_pauses
from tests.console import ConsoleClient, add_staff


def logged_in(app, role: str = "editor", username: str = "ed") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def audits(app) -> list[tuple[str, str, dict | None, dict | None]]:
    with app.extensions["bot"].db.session() as session:
        return [(a.action, a.target, a.before, a.after) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("schedule.%")).order_by(AuditEntry.id))]


def test_page_lists_jobs_with_next_runs_and_the_plan(app) -> None:
    html = logged_in(app).get("/console/schedule").get_data(as_text=True)
    assert 'data-job="push_plan"' in html and 'data-job="overdue_reports"' in html
    assert "06-02 08:30" in html  # the 08:30 cron after June 1 10:00 (the test clock)
    assert "约 06-01 10:01" in html  # an interval job: estimated without a job store
    assert 'data-plan="' in html and "06-01 19:30" in html and "待推送" in html


def test_next_run_comes_from_the_job_store_when_there_is_one(app, clock) -> None:
    bot = app.extensions["bot"]
    sched = scheduler.build_scheduler(bot, [Job("overdue_reports", "cron", {"hour": 8, "minute": 30}, "x:y")])
    sched.start(paused=True)  # writes the job store table, runs nothing
    try:
        with bot.db.session() as session:
            stored = job_pauses.stored_next_runs(session)
        assert set(stored) == {"overdue_reports"} and stored["overdue_reports"].strftime("%H:%M") == "08:30"
    finally:
        sched.shutdown(wait=False)
    html = logged_in(app).get("/console/schedule").get_data(as_text=True)
    assert "来自调度器的任务存储" in html


def test_pause_is_honoured_by_the_scheduler_and_resume_restores(app) -> None:
    bot = app.extensions["bot"]
    RAN.clear()
    runner = scheduler.JobRunner(bot, [Job("photo_downloads", "interval", {"minutes": 1},
                                           "tests.test_console_pushplan:remember")])
    console = logged_in(app)
    console.post("/console/schedule/job/photo_downloads/pause", {"reason": "微信接口维护"})
    runner.run("photo_downloads")
    assert RAN == []
    html = console.get("/console/schedule").get_data(as_text=True)
    assert 'data-job="photo_downloads" data-paused="1"' in html and "微信接口维护" in html
    console.post("/console/schedule/job/photo_downloads/pause")  # twice: nothing more
    console.post("/console/schedule/job/photo_downloads/resume")
    runner.run("photo_downloads")
    assert RAN == ["ran"]
    assert audits(app) == [("schedule.pause", "job:photo_downloads", {"paused": False}, {"paused": True}),
                           ("schedule.resume", "job:photo_downloads", {"paused": True}, {"paused": False})]
    assert console.post("/console/schedule/job/no_such_job/pause").status_code == 404


RAN: list[str] = []


def remember(bot) -> None:
    RAN.append("ran")


def test_paused_plan_item_is_held_until_resumed(app, clock) -> None:
    bot = app.extensions["bot"]
    first = bot.content.pushes.items[0]
    clock.set(first.when - dt.timedelta(hours=1))
    console = logged_in(app)
    console.post(f"/console/schedule/plan/{first.id}/pause")
    clock.set(first.when + dt.timedelta(minutes=1))
    pushes.queue_plan(bot)
    with bot.db.session() as session:
        assert session.scalar(select(Delivery).where(Delivery.key == first.key)) is None
        assert session.get(JobPause, first.key) is not None
    console = logged_in(app, username="ed2")  # the first session went idle meanwhile
    console.post(f"/console/schedule/plan/{first.id}/resume")
    pushes.queue_plan(bot)
    with bot.db.session() as session:
        assert session.scalar(select(Delivery).where(Delivery.key == first.key)).purpose == "push_plan"
    assert "待发送" in console.get("/console/schedule").get_data(as_text=True)


def test_run_now_runs_the_job_and_is_audited(app, clock) -> None:
    bot = app.extensions["bot"]
    first = bot.content.pushes.items[0]
    clock.set(first.when + dt.timedelta(minutes=5))
    console = logged_in(app)
    assert console.post("/console/schedule/job/push_plan/run").status_code == 302
    with bot.db.session() as session:
        assert session.scalar(select(Delivery).where(Delivery.key == first.key)) is not None
    assert "已运行完毕" in console.get("/console/schedule").get_data(as_text=True)
    assert audits(app) == [("schedule.run", "job:push_plan", None, {"ok": True})]


def test_a_failing_run_is_reported_not_raised(app, monkeypatch) -> None:
    def broken(bot) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pushes, "queue_plan", broken)
    console = logged_in(app)
    console.post("/console/schedule/job/push_plan/run")
    assert "运行出错" in console.get("/console/schedule").get_data(as_text=True)
    assert audits(app)[-1][3] == {"ok": False}


def test_reviewer_may_not_touch_the_plan(app) -> None:
    console = logged_in(app, "reviewer", "li")
    assert console.get("/console/schedule").status_code == 403
    assert console.post("/console/schedule/job/push_plan/pause").status_code == 403
