"""The scheduler's jobs: one line each. A job is `function(bot) -> None`, run by the one active scheduler.

Add a line for your feature's job; the trigger is APScheduler's (interval/cron/date) with its
arguments, in Asia/Shanghai. Jobs must be idempotent: after a crash or a leader change a run may
repeat (use outbox keys, unique constraints, "already done" checks).
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Job:
    id: str
    trigger: str                 # "interval" | "cron" | "date"
    trigger_args: dict[str, Any]
    target: str                  # "module:function", called with the Bot


JOBS: list[Job] = [
    Job("push_plan", "interval", {"minutes": 1}, "bot.services.pushplan:run_job"),
    # Other features add theirs here, e.g.:
    # Job("event_reminders", "interval", {"minutes": 5}, "bot.services.events:remind_job"),
    # Job("overdue_reports", "cron", {"hour": 8, "minute": 30}, "bot.services.reports:overdue_job"),
    # Job("expiring_claims", "cron", {"hour": 9}, "bot.services.prizes:expiring_job"),
    # Job("photo_downloads", "interval", {"minutes": 1}, "bot.services.photos:download_job"),
]
