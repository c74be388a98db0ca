"""The scheduler: APScheduler 3 with a SQLAlchemy job store, Asia/Shanghai, and a leader lock.

However many processes run `python -m bot scheduler` (or the demo), exactly one runs the jobs:
the holder of the store key `scheduler:leader`. The leader renews its lease every `renew_every`
seconds; if it dies the key expires after `lock_ttl` and another process takes over. A leader
that finds the key gone or taken stops its scheduler at once. Two leaders can only overlap if
one is frozen for longer than the lease, which is why every job must be idempotent.
"""

from __future__ import annotations

import importlib
import logging
import threading
import uuid
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor as APThreadPool
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import MetaData

from bot.background.jobs import JOBS, Job
from bot.clock import TZ
from bot.infra.store import Store

log = logging.getLogger(__name__)

LEADER_KEY = "scheduler:leader"

# coalesce: if the scheduler was down across several runs of a job, run it once, not once per
# missed run: every job works from "now" (what is due), so catching up N times only repeats work.
# misfire_grace_time: a run up to an hour late still happens (a daily 08:30 list is still useful
# at 09:15 after a restart); later than that it is skipped and the next run takes over.
# max_instances: a slow run is never overlapped by the next one.
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1}


class LeaderLock:
    """A lease in the store: held by one owner at a time, renewed while alive."""

    def __init__(self, store: Store, ttl: float = 30.0, key: str = LEADER_KEY, owner: str | None = None) -> None:
        self.store, self.ttl, self.key = store, ttl, key
        self.owner = owner or f"scheduler-{uuid.uuid4().hex[:12]}"

    def acquire(self) -> bool:
        return self.store.set_nx(self.key, self.owner, self.ttl) or self.renew()

    def renew(self) -> bool:
        # get-then-set: the key cannot expire in between, since we renew at a third of the TTL.
        if self.store.get(self.key) != self.owner:
            return False
        self.store.set(self.key, self.owner, ttl=self.ttl)
        return True

    def release(self) -> None:
        self.store.delete_if_equals(self.key, self.owner)

    @property
    def held(self) -> bool:
        return self.store.get(self.key) == self.owner


class JobRunner:
    """Runs a job by its id: finds it in `jobs`, skips it while paused in the console, calls it with the bot."""

    def __init__(self, bot: Any, jobs: list[Job] | None = None) -> None:
        self.bot = bot
        self.jobs = JOBS if jobs is None else jobs

    def run(self, job_id: str) -> None:
        job = next((j for j in self.jobs if j.id == job_id), None)
        if job is None:
            log.warning("job %s has no registry entry; skipped", job_id)
            return
        if self._paused(job_id):
            log.info("job %s is paused in the console; skipped", job_id)
            return
        module, _, name = job.target.partition(":")
        try:
            getattr(importlib.import_module(module), name)(self.bot)
        except Exception:
            log.exception("job %s failed", job_id)

    def _paused(self, job_id: str) -> bool:
        from bot.services.job_pauses import is_paused, job_key

        try:
            with self.bot.db.session() as session:
                return is_paused(session, job_key(job_id))
        except Exception:
            # Cannot tell: run it (every job is idempotent), rather than silently stop all work.
            log.exception("cannot read pauses for job %s", job_id)
            return False


class _ProcessRunner:
    """The runner `run_job` hands a stored job to. A job row holds only `run_job` and the job's id,
    so the process's SchedulerService installs its JobRunner here, and removes it when it closes."""

    def __init__(self) -> None:
        self.runner: JobRunner | None = None

    def install(self, runner: JobRunner) -> None:
        self.runner = runner

    def remove(self, runner: JobRunner) -> None:
        if self.runner is runner:
            self.runner = None


PROCESS_RUNNER = _ProcessRunner()


def run_job(job_id: str) -> None:
    """What the job store holds for every job (as `bot.background.scheduler:run_job`, args=[job_id])."""
    runner = PROCESS_RUNNER.runner
    if runner is None:
        log.warning("job %s: no scheduler in this process; skipped", job_id)
        return
    runner.run(job_id)


def build_scheduler(bot: Any, jobs: list[Job] | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=bot.db.engine, tablename="apscheduler_jobs",
                                                 metadata=MetaData())},
        executors={"default": APThreadPool(4)},
        job_defaults=JOB_DEFAULTS, timezone=TZ)
    for job in JOBS if jobs is None else jobs:
        scheduler.add_job(run_job, job.trigger, args=[job.id], id=job.id, name=job.id,
                          replace_existing=True, **job.trigger_args)
    return scheduler


class SchedulerService:
    """Leader election around one BackgroundScheduler; `step()` is one round, `run()` loops."""

    def __init__(self, bot: Any, *, lock_ttl: float = 30.0, renew_every: float = 10.0,
                 jobs: list[Job] | None = None, owner: str | None = None) -> None:
        self.bot = bot
        self.lock = LeaderLock(bot.store, ttl=lock_ttl, owner=owner)
        self.renew_every = renew_every
        self.jobs = JOBS if jobs is None else jobs
        self.runner = JobRunner(bot, self.jobs)
        PROCESS_RUNNER.install(self.runner)
        self.scheduler: BackgroundScheduler | None = None

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    def step(self) -> bool:
        """Take or keep leadership; start or stop the scheduler to match. Returns whether leading."""
        try:
            holding = self.lock.renew() if self.leading else self.lock.acquire()
        except Exception:
            log.exception("leader lock: store unreachable")
            holding = False
        if holding and not self.leading:
            log.info("%s is now the scheduler leader", self.lock.owner)
            self.scheduler = build_scheduler(self.bot, self.jobs)
            self.scheduler.start()
        elif not holding and self.leading:
            log.warning("%s lost the scheduler lease; stopping its jobs", self.lock.owner)
            self._stop_scheduler()
        return self.leading

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.step()
                stop.wait(self.renew_every)
        finally:
            self.close()

    def close(self) -> None:
        self._stop_scheduler()
        self.lock.release()
        PROCESS_RUNNER.remove(self.runner)


class Workers:
    """The scheduler (leader-elected) and a sender loop in background threads of this process."""

    def __init__(self, bot: Any, *, with_sender: bool = True) -> None:
        from bot.background.sender import Sender

        self.stop_event = threading.Event()
        self.service = SchedulerService(bot)
        self.sender = Sender.from_bot(bot) if with_sender else None
        self.threads = [threading.Thread(target=self.service.run, args=(self.stop_event,), name="scheduler",
                                         daemon=True)]
        if self.sender is not None:
            self.threads.append(threading.Thread(target=self.sender.run, args=(self.stop_event,), name="sender",
                                                 daemon=True))

    def start(self) -> Workers:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=timeout)
