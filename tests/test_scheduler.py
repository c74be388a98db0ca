"""The push plan, the content check's quota rule, the job registry and the leader lock."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.background.jobs import JOBS, Job
from bot.background.jobs.pushes import queue_plan
from bot.background.scheduler import LEADER_KEY, JobRunner, LeaderLock, SchedulerService, run_job
from bot.cli.content import check_content
from bot.clock import shanghai
from bot.models import Delivery
from tests.settings import make_config

ROOT = Path(__file__).resolve().parent.parent


def plan_rows(bot) -> list[Delivery]:
    with bot.db.session() as s:
        return list(s.scalars(select(Delivery).where(Delivery.purpose == "push_plan").order_by(Delivery.id)))


def test_plan_items_are_queued_when_due_and_only_once(bot, clock) -> None:
    clock.set(shanghai(2021, 6, 1, 19, 29))
    queue_plan(bot)
    assert plan_rows(bot) == []
    clock.set(shanghai(2021, 6, 1, 19, 30))
    queue_plan(bot)
    queue_plan(bot)
    [row] = plan_rows(bot)
    assert row.key == "plan:2021-launch" and row.audience == {"all": True}
    assert row.not_before == shanghai(2021, 6, 1, 19, 30)
    assert "落实安全责任" in row.payload["articles"][0]["description"]


def test_a_township_item_goes_to_that_township(bot, clock) -> None:
    clock.set(shanghai(2021, 6, 8, 21, 0))
    queue_plan(bot)
    [row] = plan_rows(bot)
    assert row.audience == {"township": "chengguan"}


def test_an_item_missed_on_its_day_is_not_sent_the_next_day(bot, clock) -> None:
    clock.set(shanghai(2021, 6, 4, 8, 0))  # the scheduler was down all evening on June 3
    queue_plan(bot)
    assert plan_rows(bot) == []


def test_every_plan_item_fits_a_subscription_account(bot) -> None:
    days = [item.when.date() for item in bot.content.pushes.items]
    assert len(days) == len(set(days))
    assert all(d.year == 2021 and d.month == 6 for d in days)


def copy_content(tmp_path: Path, extra: str) -> Path:
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    with (target / "pushes.toml").open("a", encoding="utf-8") as f:
        f.write(extra)
    return target


SECOND_ON_JUNE_3 = """
[[push]]
id = "extra"
when = 2021-06-03T12:00:00
audience = "all"
kind = "video"
title = "第二条"
digest = "同一天的第二次群发"
body = "正文"
cover = "covers/video.jpg"
"""


def plan_problems(cfg) -> list[str]:
    """The push plan's problems (the menu's keys are checked, and tested, by the menu's own tests)."""
    return [p for p in check_content(cfg) if "menu.toml" not in p]


def test_content_check_flags_two_mass_sends_on_one_day(tmp_path, database_url) -> None:
    cfg = make_config(database_url, content={"dir": str(copy_content(tmp_path, SECOND_ON_JUNE_3))})
    problems = plan_problems(cfg)
    assert problems == ["content/pushes.toml: 2021-06-03: 2 mass sends on one day (extra, case-confined-space); "
                        "a subscription account may mass-send once a day"]


def test_content_check_flags_a_service_account_over_four_a_month(tmp_path, database_url) -> None:
    cfg = make_config(database_url, wechat={"account_type": "service"})
    [problem] = plan_problems(cfg)
    assert "at most 4 a month" in problem and "2021-06" in problem


def test_content_check_names_an_unknown_township(tmp_path, database_url) -> None:
    extra = SECOND_ON_JUNE_3.replace('"all"', '"township:atlantis"').replace("06-03", "06-04")
    cfg = make_config(database_url, content={"dir": str(copy_content(tmp_path, extra))})
    assert plan_problems(cfg) == ["content/pushes.toml: extra: audience: unknown township 'atlantis'"]


def test_registry_targets_exist() -> None:
    import importlib

    for job in JOBS:
        module, _, name = job.target.partition(":")
        assert callable(getattr(importlib.import_module(module), name)), job.id
    assert len({j.id for j in JOBS}) == len(JOBS)


# --- leader lock ----------------------------------------------------------------------------

def test_one_leader_and_a_takeover_when_it_dies(store) -> None:
    a = LeaderLock(store, ttl=30, owner="a")
    b = LeaderLock(store, ttl=30, owner="b")
    assert a.acquire() and not b.acquire()
    assert a.renew() and not b.renew()
    store.delete(LEADER_KEY)  # a died: its lease ran out
    assert b.acquire()
    assert not a.renew() and not a.held
    b.release()
    assert store.get(LEADER_KEY) is None


def test_schedulers_elect_exactly_one_and_hand_over(bot) -> None:
    first = SchedulerService(bot, owner="first", jobs=JOBS)
    second = SchedulerService(bot, owner="second", jobs=JOBS)
    try:
        assert first.step() is True
        assert second.step() is False
        with bot.db.engine.connect() as conn:
            ids = set(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
        assert ids == {j.id for j in JOBS}
        bot.store.delete(LEADER_KEY)  # the first leader froze past its lease
        assert second.step() is True
        assert first.step() is False  # it notices and stops its jobs
        assert first.scheduler is None
    finally:
        first.close()
        second.close()



def _stored_jobs(bot) -> dict[str, str]:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlalchemy import MetaData

    store = SQLAlchemyJobStore(engine=bot.db.engine, tablename="apscheduler_jobs", metadata=MetaData())
    return {job.id: job.func_ref for job in store.get_all_jobs()}


def test_a_job_row_stored_before_the_layout_move_still_runs_and_is_renamed_at_start(bot) -> None:
    """0.6.0 stored `bot.scheduler:run_job` in APScheduler's table; bot/scheduler.py keeps that name
    resolving, and the first start writes the new name."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.util import ref_to_obj

    from bot.background import scheduler as background_scheduler

    old = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=bot.db.engine,
                                                                        tablename="apscheduler_jobs")})
    old.add_job("bot.scheduler:run_job", "interval", minutes=1, args=["push_plan"], id="push_plan")
    old.start(paused=True)
    old.shutdown(wait=False)
    assert _stored_jobs(bot) == {"push_plan": "bot.scheduler:run_job"}
    assert ref_to_obj("bot.scheduler:run_job") is background_scheduler.run_job

    service = SchedulerService(bot, owner="new", jobs=JOBS)
    try:
        assert service.step() is True
        assert _stored_jobs(bot)["push_plan"] == "bot.background.scheduler:run_job"
    finally:
        service.close()


CALLS: list = []


def probe(bot) -> None:
    CALLS.append(bot)


def test_jobs_run_through_the_registry_with_the_bot(bot) -> None:
    """The job store holds only `run_job` and a job's id; the scheduler of this process looks the
    function up in its registry (bot/background/jobs/__init__.py by default) when it runs."""
    CALLS.clear()
    service = SchedulerService(bot, owner="x", jobs=[Job("probe", "interval", {"minutes": 1}, "tests.test_scheduler:probe")])
    try:
        run_job("probe")
        run_job("no-such-job")  # a job removed from the registry is skipped, not an error
    finally:
        service.close()
    run_job("probe")  # no scheduler in this process any more: skipped
    assert CALLS == [bot]


def test_a_runner_calls_its_own_registry_without_a_scheduler(bot) -> None:
    CALLS.clear()
    JobRunner(bot, [Job("probe", "interval", {"minutes": 1}, "tests.test_scheduler:probe")]).run("probe")
    JobRunner(bot, []).run("probe")
    assert CALLS == [bot]


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.id)
def test_every_job_runs_on_an_empty_database(bot, clock, job) -> None:
    import importlib

    module, _, name = job.target.partition(":")
    getattr(importlib.import_module(module), name)(bot)


@pytest.mark.slow
def test_the_scheduler_command_leads_and_stops_on_sigterm(database_url, tmp_path) -> None:
    import signal
    import subprocess
    import sys
    import time

    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
[server]
today = "2021-06-01"
[wechat]
app_id = "wxsched"
token = "t"
api_base_url = "http://127.0.0.1:9/cgi-bin/"
[database]
url = "{database_url}"
""", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(cfg), "scheduler"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    engine = __import__("sqlalchemy").create_engine(database_url)
    try:
        deadline = time.monotonic() + 30
        while True:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar() == len(JOBS):
                    break
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        engine.dispose()
    log = proc.stderr.read()
    proc.stderr.close()
    assert "is now the scheduler leader" in log and "sender" in log
