"""The push plan: scheduled jobs (bot/background/jobs/__init__.py) and the warning-education items (content/pushes.toml),
with their next run, pause / resume, and "run now" for jobs. Every action is audited.

Pauses are rows of `job_pauses` (bot/services/job_pauses.py), honoured by the scheduler at each run.
"Run now" runs the job in this request: every job is idempotent, so a run that overlaps the
scheduler's own does no harm.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.background.jobs import JOBS, Job
from bot.clock import TZ
from bot.console import current_bot, db, labels, now
from bot.console.audit import ACTION_NAMES, record
from bot.console.registry import page, route
from bot.models import Delivery
from bot.services import broadcasts, job_pauses, notices
from bot.services.pushplan import KINDS

log = logging.getLogger(__name__)

ACTION_NAMES.update({"schedule.pause": "暂停计划任务", "schedule.resume": "恢复计划任务",
                     "schedule.run": "立即运行任务"})
JOB_NAMES = labels.JOBS
DELIVERY_NAMES = labels.DELIVERY_STATUSES


def trigger_text(job: Job) -> str:
    args = job.trigger_args
    if job.trigger == "interval":
        units = {"seconds": "秒", "minutes": "分钟", "hours": "小时", "days": "天"}
        return "每 " + "".join(f"{v} {units.get(k, k)}" for k, v in args.items())
    if job.trigger == "cron":
        return f"每天 {int(args.get('hour', 0)):02d}:{int(args.get('minute', 0)):02d}" if set(args) <= {
            "hour", "minute"} else "定时：" + "，".join(f"{k}={v}" for k, v in args.items())
    return f"一次：{args.get('run_date', '')}"


@page("/schedule", "推送计划", action="edit_push_plan", order=50)
def push_plan() -> str:
    session = db()
    moment = now()
    pauses = job_pauses.paused(session)
    stored = job_pauses.stored_next_runs(session)
    # The scheduler's store keeps wall-clock times; the page (and its header) speak the campaign clock,
    # which the demo runs from another day: shift by the difference so 下次运行 reads on that clock.
    shift = moment - dt.datetime.now(TZ)
    jobs = []
    for job in JOBS:
        if job.id in stored:
            next_run, exact = (stored[job.id] + shift if stored[job.id] else None), True
        else:
            next_run, exact = job.next_run(moment)
        jobs.append({"job": job, "name": JOB_NAMES.get(job.id, job.id), "trigger": trigger_text(job),
                     "next": next_run, "exact": exact, "pause": pauses.get(job_pauses.job_key(job.id))})
    plan = current_bot().content.pushes
    found = session.execute(select(Delivery.key, Delivery.status, Delivery.last_error, Delivery.last_errcode).where(
        Delivery.key.in_([i.key for i in plan.items]))).all()
    queued = {key: status for key, status, _, _ in found}
    reasons = {key: notices.error_text(error, code) for key, status, error, code in found
               if status == "failed" and (error or code)}
    content = current_bot().content
    items = [{"item": i, "kind": KINDS.get(i.kind, i.kind), "pause": pauses.get(i.key),
              "audience": broadcasts.describe_audience(i.audience, content),
              "delivery": DELIVERY_NAMES.get(queued[i.key], queued[i.key]) if i.key in queued else None,
              "reason": reasons.get(i.key),
              "past": i.when < moment} for i in plan.items]
    return render_template("console/pushplan.html", jobs=jobs, items=items, moment=moment,
                           from_store=bool(stored))


def _named(key: str) -> str:
    """A pause key ("job:<id>" / "plan:<id>") as staff read it: “定时任务：…” / “推送计划项：<title>”."""
    return f"“{labels.target(key, plan_titles=plan_titles())}”"


def plan_titles() -> dict[str, str]:
    return {i.id: i.title for i in current_bot().content.pushes.items}


def _target(kind: str, ident: str) -> str:
    if kind == "job" and any(j.id == ident for j in JOBS):
        return job_pauses.job_key(ident)
    if kind == "plan" and any(i.id == ident for i in current_bot().content.pushes.items):
        return job_pauses.plan_key(ident)
    abort(404)


@route("/schedule/<kind>/<ident>/pause", action="edit_push_plan", methods=["POST"])
def schedule_pause(kind: str, ident: str) -> Response:
    from flask_login import current_user

    key = _target(kind, ident)
    session = db()
    reason = request.form.get("reason", "")
    if job_pauses.pause(session, key, actor=current_user.username, now=now(), reason=reason):
        record("schedule.pause", key, {"paused": False}, {"paused": True}, note=reason.strip() or None)
        flash(f"已暂停{_named(key)}，恢复前不会运行。", "success")
    else:
        flash(f"{_named(key)}本来就已暂停。", "info")
    session.commit()
    return redirect(url_for("console.push_plan"))


@route("/schedule/<kind>/<ident>/resume", action="edit_push_plan", methods=["POST"])
def schedule_resume(kind: str, ident: str) -> Response:
    key = _target(kind, ident)
    session = db()
    if job_pauses.resume(session, key):
        record("schedule.resume", key, {"paused": True}, {"paused": False})
        flash(f"已恢复{_named(key)}。", "success")
    else:
        flash(f"{_named(key)}并未暂停。", "info")
    session.commit()
    return redirect(url_for("console.push_plan"))


@route("/schedule/job/<ident>/run", action="edit_push_plan", methods=["POST"])
def schedule_run(ident: str) -> Response:
    job = next((j for j in JOBS if j.id == ident), None)
    if job is None:
        abort(404)
    module, _, name = job.target.partition(":")
    db().commit()  # end the request's transaction: the job writes in its own sessions (SQLite locks)
    try:
        getattr(importlib.import_module(module), name)(current_bot())
    except Exception:
        log.exception("job %s run from the console failed", job.id)
        record("schedule.run", job_pauses.job_key(job.id), after={"ok": False}, note="运行出错，详情见服务日志")
        db().commit()
        flash(f"任务 {JOB_NAMES.get(job.id, job.id)} 运行出错，详情见日志。", "error")
        return redirect(url_for("console.push_plan"))
    record("schedule.run", job_pauses.job_key(job.id), after={"ok": True})
    db().commit()
    flash(f"任务 {JOB_NAMES.get(job.id, job.id)} 已运行完毕。", "success")
    return redirect(url_for("console.push_plan"))
