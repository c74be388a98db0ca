"""The push plan: scheduled jobs (bot/jobs.py) and the warning-education items (content/pushes.toml),
with their next run, pause / resume, and "run now" for jobs. Every action is audited.

Pauses are rows of `job_pauses` (bot/services/schedule.py), honoured by the scheduler at each run.
"Run now" runs the job in this request: every job is idempotent, so a run that overlaps the
scheduler's own does no harm.
"""

from __future__ import annotations

import importlib
import logging

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.console import current_bot, db, now
from bot.console.audit import ACTION_NAMES, record
from bot.console.registry import page, route
from bot.jobs import JOBS, Job
from bot.models import Delivery
from bot.services import broadcasts, schedule
from bot.services.pushplan import KINDS

log = logging.getLogger(__name__)

ACTION_NAMES.update({"schedule.pause": "暂停计划任务", "schedule.resume": "恢复计划任务",
                     "schedule.run": "立即运行任务"})
JOB_NAMES = {"push_plan": "推送计划（到点群发警示教育内容）", "photo_downloads": "下载举报照片",
             "overdue_reports": "超期举报清单", "erase_report_contacts": "清除到期的举报人联系方式",
             "purge_report_drafts": "清理过期的举报草稿"}
DELIVERY_NAMES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败",
                  "undeliverable": "无法送达", "cancelled": "已取消"}


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
    pauses = schedule.paused(session)
    stored = schedule.stored_next_runs(session)
    jobs = []
    for job in JOBS:
        if job.id in stored:
            next_run, exact = stored[job.id], True
        else:
            next_run, exact = schedule.next_from_trigger(job, moment)
        jobs.append({"job": job, "name": JOB_NAMES.get(job.id, job.id), "trigger": trigger_text(job),
                     "next": next_run, "exact": exact, "pause": pauses.get(schedule.job_key(job.id))})
    plan = current_bot().content.pushes
    found = session.execute(select(Delivery.key, Delivery.status, Delivery.last_error).where(
        Delivery.key.in_([i.key for i in plan.items]))).all()
    queued = {key: status for key, status, _ in found}
    reasons = {key: error for key, status, error in found if status == "failed" and error}
    content = current_bot().content
    items = [{"item": i, "kind": KINDS.get(i.kind, i.kind), "pause": pauses.get(i.key),
              "audience": broadcasts.describe_audience(i.audience, content),
              "delivery": DELIVERY_NAMES.get(queued[i.key], queued[i.key]) if i.key in queued else None,
              "reason": reasons.get(i.key),
              "past": i.when < moment} for i in plan.items]
    return render_template("console/pushplan.html", jobs=jobs, items=items, moment=moment,
                           from_store=bool(stored))


def _target(kind: str, ident: str) -> str:
    if kind == "job" and any(j.id == ident for j in JOBS):
        return schedule.job_key(ident)
    if kind == "plan" and any(i.id == ident for i in current_bot().content.pushes.items):
        return schedule.plan_key(ident)
    abort(404)


@route("/schedule/<kind>/<ident>/pause", action="edit_push_plan", methods=["POST"])
def schedule_pause(kind: str, ident: str) -> Response:
    from flask_login import current_user

    key = _target(kind, ident)
    session = db()
    reason = request.form.get("reason", "")
    if schedule.pause(session, key, actor=current_user.username, now=now(), reason=reason):
        record("schedule.pause", key, {"paused": False}, {"paused": True}, note=reason.strip() or None)
        flash(f"已暂停 {key}，恢复前不会运行。", "success")
    else:
        flash(f"{key} 本来就已暂停。", "info")
    session.commit()
    return redirect(url_for("console.push_plan"))


@route("/schedule/<kind>/<ident>/resume", action="edit_push_plan", methods=["POST"])
def schedule_resume(kind: str, ident: str) -> Response:
    key = _target(kind, ident)
    session = db()
    if schedule.resume(session, key):
        record("schedule.resume", key, {"paused": True}, {"paused": False})
        flash(f"已恢复 {key}。", "success")
    else:
        flash(f"{key} 并未暂停。", "info")
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
    except Exception as exc:
        log.exception("job %s run from the console failed", job.id)
        record("schedule.run", schedule.job_key(job.id), after={"ok": False}, note=type(exc).__name__)
        db().commit()
        flash(f"任务 {JOB_NAMES.get(job.id, job.id)} 运行出错，详情见日志。", "error")
        return redirect(url_for("console.push_plan"))
    record("schedule.run", schedule.job_key(job.id), after={"ok": True})
    db().commit()
    flash(f"任务 {JOB_NAMES.get(job.id, job.id)} 已运行完毕。", "success")
    return redirect(url_for("console.push_plan"))
