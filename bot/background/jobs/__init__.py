"""The scheduler's jobs: one line each. A job is `function(bot) -> None`, run by the one active scheduler.

Add a line for your feature's job; the trigger is APScheduler's (interval/cron/date) with its
arguments, in Asia/Shanghai. Jobs must be idempotent: after a crash or a leader change a run may
repeat (use outbox keys, unique constraints, "already done" checks).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bot.clock import TZ


@dataclasses.dataclass(frozen=True)
class Job:
    id: str
    trigger: str                 # "interval" | "cron" | "date"
    trigger_args: dict[str, Any]
    target: str                  # "module:function", called with the Bot

    def next_run(self, now: dt.datetime) -> tuple[dt.datetime | None, bool]:
        """(next run, exact): cron and date triggers are exact; an interval's phase is known only to the store."""
        args: dict[str, Any] = dict(self.trigger_args)
        if self.trigger == "interval":
            return now + dt.timedelta(**args), False
        if self.trigger == "cron":
            from apscheduler.triggers.cron import CronTrigger

            return CronTrigger(timezone=TZ, **args).get_next_fire_time(None, now), True
        if self.trigger == "date":
            from apscheduler.triggers.date import DateTrigger

            moment = DateTrigger(timezone=TZ, **args).get_next_fire_time(None, now)
            return (moment if moment and moment >= now else None), True
        return None, False


JOBS: list[Job] = [
    Job("push_plan", "interval", {"minutes": 1}, "bot.background.jobs.pushes:queue_plan"),
    Job("photo_downloads", "interval", {"minutes": 1}, "bot.background.jobs.reports:download_photos"),
    Job("overdue_reports", "cron", {"hour": 8, "minute": 30}, "bot.background.jobs.reports:list_overdue"),
    Job("erase_report_contacts", "cron", {"hour": 3, "minute": 10}, "bot.background.jobs.reports:erase_contacts"),
    Job("forget_notice_recipients", "interval", {"hours": 1}, "bot.background.jobs.reports:forget_notice_recipients"),
    Job("close_idle_quiz_rounds", "interval", {"minutes": 5}, "bot.background.jobs.quiz:close_idle_rounds"),
    Job("expire_quiz_prizes", "cron", {"hour": 2, "minute": 40}, "bot.background.jobs.quiz:expire_prizes"),
    Job("purge_report_drafts", "interval", {"hours": 1}, "bot.background.jobs.reports:purge_drafts"),
    Job("event_reminders", "interval", {"minutes": 5}, "bot.background.jobs.events:queue_reminders"),
]
