"""`python -m bot reports ...`: the staff service layer from the command line.

    reports list [--status S] [--category C] [--township T] [--overdue] [--since D] [--until D]
    reports show TICKET
    reports status TICKET STATUS --actor NAME [--role reviewer] [--note TEXT]
    reports assign TICKET TOWNSHIP_ID --actor NAME
    reports reply TICKET TEXT --actor NAME
    reports reward TICKET (--amount YUAN | --not-eligible) --actor NAME
    reports overdue
    reports export --format csv|xlsx --out FILE [filters] [--with-identity --actor NAME --role admin]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from bot.cli.base import Commands
from bot.config import Config
from bot.content import load_content
from bot.infra.db import Database
from bot.runtime import content_dir, default_clock
from bot.services.reports import deadlines, evidence, lifecycle, triage
from bot.services.reports.evidence import PHOTO_STATUS
from bot.services.reports.identity import vault_for

commands = Commands()


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", help="submitted|accepted|rejected|verifying|rectified|unfounded|closed, or 已受理 ...")
    p.add_argument("--category", help="category id, e.g. fire")
    p.add_argument("--township", help="township id, e.g. chengguan")
    p.add_argument("--overdue", action="store_true", help="only reports past their stage's deadline")
    p.add_argument("--since", type=dt.date.fromisoformat, help="submitted on or after YYYY-MM-DD")
    p.add_argument("--until", type=dt.date.fromisoformat, help="submitted on or before YYYY-MM-DD")


def _staff(p: argparse.ArgumentParser, role: str = "reviewer") -> None:
    p.add_argument("--actor", required=True, help="who does this (recorded in the history)")
    p.add_argument("--role", default=role, choices=["admin", "reviewer", "editor"])


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _filters(sub.add_parser("list", help="list reports (filters)"))
    sub.add_parser("show", help="one report with its history").add_argument("ticket")
    s = sub.add_parser("status", help="change a report's status (the reporter is notified)")
    s.add_argument("ticket")
    s.add_argument("status")
    s.add_argument("--note", default="", help="reason / note (required for 不予受理 and 情况不属实)")
    _staff(s)
    a = sub.add_parser("assign", help="assign a report to a township")
    a.add_argument("ticket")
    a.add_argument("township")
    _staff(a)
    r = sub.add_parser("reply", help="reply to the reporter (sent through the outbox)")
    r.add_argument("ticket")
    r.add_argument("text")
    _staff(r)
    w = sub.add_parser("reward", help="mark reward eligibility and amount")
    w.add_argument("ticket")
    group = w.add_mutually_exclusive_group(required=True)
    group.add_argument("--amount", type=int, help="reward in yuan (eligible)")
    group.add_argument("--not-eligible", action="store_true")
    w.add_argument("--note", default="")
    _staff(w)
    sub.add_parser("overdue", help="reports past their deadline (the daily staff list)")
    e = sub.add_parser("export", help="export the ledger as CSV or XLSX")
    e.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
    e.add_argument("--out", required=True, type=Path)
    e.add_argument("--with-identity", action="store_true", help="include names and phones (admin only, audited)")
    e.add_argument("--actor", default="cli")
    e.add_argument("--role", default="reviewer", choices=["admin", "reviewer", "editor"])
    _filters(e)


def _status_code(text: str) -> str:
    by_label = {label: code for code, label in lifecycle.LABELS.items()}
    return by_label.get(text, text)


def _filter(args: argparse.Namespace) -> triage.ReportFilter:
    return triage.ReportFilter(status=_status_code(args.status) if args.status else None, category=args.category,
                              township=args.township, overdue=args.overdue, since=args.since, until=args.until)


def _line(report, now: dt.datetime) -> str:
    flag = " 超期" if deadlines.is_overdue(report, now) else ""
    due = f" 截止{report.due_at:%m-%d}" if report.due_at else ""
    return (f"{report.ticket}  {report.submitted_at:%Y-%m-%d %H:%M}  {report.category:<12} "
            f"{lifecycle.label(report.status)}{due}{flag}  {report.township or '-'}")


@commands.add("reports", "hazard reports: list, show, status, assign, reply, reward, overdue, export", _configure)
def reports(args: argparse.Namespace, config: Config) -> int:
    db = Database(config.database.url)
    content = load_content(content_dir(config))
    vault = vault_for(config)
    now = default_clock(config).now()
    out = sys.stdout
    try:
        with db.transaction() as session:
            if args.action == "list":
                for report in triage.list_reports(session, _filter(args), now):
                    out.write(_line(report, now) + "\n")
            elif args.action == "overdue":
                for report in deadlines.overdue_reports(session, now):
                    out.write(_line(report, now) + "\n")
            elif args.action == "show":
                d = triage.detail(session, args.ticket, now)
                r = d.report
                out.write(f"{r.ticket}  {lifecycle.label(r.status)}{'  超期' if d.overdue else ''}\n"
                          f"类别 {r.category}  部门 {r.department}  乡镇 {r.township or '-'}\n"
                          f"地址 {r.address or '-'}  坐标 {r.latitude},{r.longitude}\n描述 {r.description}\n"
                          f"匿名 {'是' if r.anonymous else '否'}  奖励 {r.reward_eligible} {r.reward_amount or ''}\n")
                for e in d.events:
                    out.write(f"  {e.at:%Y-%m-%d %H:%M} {e.actor} {lifecycle.EVENT_KINDS.get(e.kind, e.kind)} "
                              f"{lifecycle.label(e.to_status) if e.to_status else ''} {e.note or ''}\n")
                for p in d.photos:
                    out.write(f"  照片 {p.id} {PHOTO_STATUS.get(p.status, p.status)} 尝试 {p.attempts} 次 "
                              f"{p.path or evidence.error_text(p)}\n")
                for other in d.linked:
                    out.write(f"  疑似重复：{other.ticket}\n")
            elif args.action == "status":
                triage.change_status(session, vault, args.ticket, _status_code(args.status), actor=args.actor,
                                    role=args.role, now=now, settings=config.reports, note=args.note)
            elif args.action == "assign":
                triage.assign_township(session, args.ticket, args.township, actor=args.actor, role=args.role, now=now,
                                      townships=content.townships)
            elif args.action == "reply":
                triage.reply_to_reporter(session, vault, args.ticket, args.text, actor=args.actor, role=args.role,
                                        now=now)
            elif args.action == "reward":
                triage.mark_reward(session, vault, args.ticket, eligible=not args.not_eligible, amount=args.amount,
                                  actor=args.actor, role=args.role, now=now, settings=config.reports, note=args.note)
            elif args.action == "export":
                try:
                    header, rows = triage.export_rows(
                        session, vault, _filter(args), actor=args.actor, role=args.role, now=now,
                        include_identity=args.with_identity, categories=content.report_categories,
                        townships=content.townships)
                finally:
                    # A refused identity export is audited too: committed here, before PermissionDenied
                    # leaves the transaction (which would roll the audit row back).
                    session.commit()
                data = triage.to_csv(header, rows) if args.format == "csv" else triage.to_xlsx(header, rows)
                args.out.write_bytes(data)
                out.write(f"{len(rows)} reports written to {args.out}\n")
    except (triage.NotFound, triage.PermissionDenied, lifecycle.TransitionError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        db.dispose()
    return 0
