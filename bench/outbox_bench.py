"""Outbox benchmark: customer-service deliveries to the fake WeChat API with injected latency.

    python -m bench.outbox_bench                      # PostgreSQL, 100,000 rows, 20 ms latency
    python -m bench.outbox_bench --database sqlite    # the embedded default, for comparison
    python -m bench.outbox_bench --rows 20000 --kill-rows 5000 --no-write   # a quick look

Two parts, each on a fresh database:
1. Throughput: a real sender process (`python -m bot outbox send --loop`) delivers --rows
   customer-service messages; the fake WeChat API (this process, loopback only) answers each after
   --latency seconds. Throughput = rows / (last delivery - first delivery) as the fake saw them.
2. Crash: another sender is SIGKILLed once --kill-at of --kill-rows have arrived, a new one is
   started, and the fake's record is compared with the outbox: lost, duplicated, in doubt. On a
   service account, --template-share of these rows are report-status notices to citizens outside
   the 48-hour window, so they go as template messages with client_msg_id: those the dead senders
   held are sent again (WeChat keeps one message per openid + client_msg_id for 10 minutes), so
   none of them may end `uncertain`.

Figures are printed and written to bench/RESULTS.md (section "Outbox") unless --no-write.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bot.clock import TZ
from bot.infra.migrate import upgrade
from bot.models import Citizen, Delivery, DeliveryStatus
from bot.services.outbox import notice_payload
from bot.wechat.fake import AsyncFakeServer, FakeWeChat

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "wxbench000000001"
SECRET = "bench-secret"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LEASE_SECONDS = 5


def fresh_database(kind: str, tmp: Path, name: str) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / (name + '.db')}"
    else:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url


def drop_database(kind: str, name: str) -> None:
    if kind == "sqlite":
        return
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


TEMPLATE_ID = "TPL_BENCH_REPORT"
TEMPLATE_KEYS = "ticket=character_string1 status=phrase2 note=thing3 time=time4"
NOTICE = notice_payload("【举报进度】您的举报 YH20210601-7KQ2MX 已受理，我们会尽快核查。", ticket="YH20210601-7KQ2MX",
                        status="已受理", note="我们会尽快核查", time="2021年6月1日 10:00")


def fill(url: str, fake: FakeWeChat, rows: int, prefix: str, template_every: int = 0) -> None:
    """`rows` citizens who wrote to the account a minute ago, and one customer-service push each;
    with `template_every` = n, every n-th citizen wrote three days ago instead (outside the window)
    and gets a report-status notice, which then goes as a template message."""
    now = dt.datetime.now(TZ)
    quiet_since = now - dt.timedelta(days=3)
    engine = sa.create_engine(url)
    citizens, deliveries = Citizen.__table__, Delivery.__table__
    batch = 5000
    with engine.begin() as conn:
        for start in range(0, rows, batch):
            numbers = range(start, min(rows, start + batch))
            notices = {f"{prefix}{n:07d}" for n in numbers if template_every and n % template_every == 0}
            openids = [f"{prefix}{n:07d}" for n in numbers]
            conn.execute(citizens.insert(), [
                {"openid": o, "first_seen_at": now, "last_interaction_at": quiet_since if o in notices else now}
                for o in openids])
            conn.execute(deliveries.insert(), [
                {"key": f"bench:{o}", "openid": o, "purpose": "report_status" if o in notices else "bench",
                 "status": DeliveryStatus.PENDING,
                 "payload": NOTICE if o in notices else {"type": "text", "content": "今晚八点，县防汛应急演练，请勿惊慌。"},
                 "attempts": 0, "created_at": now, "not_before": now} for o in openids])
            for openid in openids:
                if openid in notices:
                    fake.add_user(openid)  # follows, but the 48-hour window is closed
                else:
                    fake.record_interaction(openid)
    engine.dispose()


def write_config(path: Path, url: str, base_url: str, concurrency: int, rate: float, service: bool = False) -> None:
    templates = f'''
report_status_template = "{TEMPLATE_ID}"
report_status_template_keys = "{TEMPLATE_KEYS}"''' if service else ""
    path.write_text(f"""
[server]
mode = "dev"
secret_key = "bench"
[wechat]
app_id = "{APP_ID}"
app_secret = "{SECRET}"
token = "bench"
encoding_aes_key = ""
api_base_url = "{base_url}"
account_type = "{'service' if service else 'subscription'}"
request_timeout_seconds = 5.0
[database]
url = "{url}"
[redis]
url = ""
[push]
sender_concurrency = {concurrency}
rate_per_second = {rate}
lease_seconds = {LEASE_SECONDS}{templates}
""", encoding="utf-8")


def start_sender(config: Path, log: Path) -> subprocess.Popen:
    profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    return subprocess.Popen([sys.executable, *profile, "-m", "bot", "--config", str(config), "outbox", "send", "--loop"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def unfinished(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')")).scalar()


def statuses(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT openid, status FROM deliveries")).all())


def notice_rows(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT openid FROM deliveries WHERE purpose = 'report_status'")).scalars())


def wait_done(engine: sa.Engine, procs: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while unfinished(engine):
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a sender exited early (see its log)")
        if time.monotonic() > deadline:
            raise SystemExit("the sender did not finish in time")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def throughput_run(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    fake = FakeWeChat(APP_ID, SECRET, latency=args.latency)
    server = AsyncFakeServer(fake).start()
    name = "smb_bench_throughput"
    url = fresh_database(args.database, tmp, name)
    try:
        fill(url, fake, args.rows, "t")
        config = tmp / "throughput.toml"
        write_config(config, url, server.base_url, args.concurrency, args.rate)
        engine = sa.create_engine(url)
        load_start = os.getloadavg()[0]
        started = time.monotonic()
        children, me = cpu(resource.RUSAGE_CHILDREN), cpu(resource.RUSAGE_SELF)
        procs = [start_sender(config, tmp / "sender.log") for _ in range(args.senders)]
        wait_done(engine, procs, timeout=args.rows / 50 + 120)
        wall = time.monotonic() - started
        for proc in procs:
            stop(proc)
        sender_cpu, fake_cpu = cpu(resource.RUSAGE_CHILDREN) - children, cpu(resource.RUSAGE_SELF) - me
        delivered = fake.delivered()
        first, last = delivered[0].at, delivered[-1].at
        span = (last - first).total_seconds()
        counts = fake.delivery_counts()
        final = statuses(engine)
        engine.dispose()
        return {"rows": args.rows, "delivered": len(delivered), "duplicated": sum(1 for n in counts.values() if n > 1),
                "sent": sum(1 for v in final.values() if v == DeliveryStatus.SENT),
                "span": span, "rate": len(delivered) / span if span else 0.0, "wall": wall,
                "sender_cpu": sender_cpu, "fake_cpu": fake_cpu, "load": (load_start, os.getloadavg()[0])}
    finally:
        server.stop()
        drop_database(args.database, name)


def crash_run(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    service = args.template_share > 0
    fake = FakeWeChat(APP_ID, SECRET, latency=args.latency, account_type="service" if service else "subscription")
    server = AsyncFakeServer(fake).start()
    name = "smb_bench_crash"
    url = fresh_database(args.database, tmp, name)
    try:
        fill(url, fake, args.kill_rows, "k", template_every=round(1 / args.template_share) if service else 0)
        config = tmp / "crash.toml"
        write_config(config, url, server.base_url, args.concurrency, args.rate, service=service)
        engine = sa.create_engine(url)
        load_start = os.getloadavg()[0]
        first = [start_sender(config, tmp / "sender.log") for _ in range(args.senders)]
        target = int(args.kill_rows * args.kill_at)
        while len(fake.delivered()) < target:
            if any(p.poll() is not None for p in first):
                raise SystemExit("a sender exited early")
            time.sleep(0.002)
        for proc in first:  # every sender dies at once: the worst case
            proc.send_signal(signal.SIGKILL)
        for proc in first:
            proc.wait()
        at_kill = len(fake.delivered())
        held = {o for o, v in statuses(engine).items() if v == DeliveryStatus.SENDING}
        notices = notice_rows(engine)
        time.sleep(LEASE_SECONDS + 0.5)  # the dead sender's lease runs out
        second = [start_sender(config, tmp / "sender.log") for _ in range(args.senders)]
        wait_done(engine, second, timeout=args.kill_rows / 50 + 120)
        for proc in second:
            stop(proc)
        final = statuses(engine)
        engine.dispose()
        counts = fake.delivery_counts()
        channels = collections.Counter(d.channel for d in fake.delivered())
        uncertain = {o for o, v in final.items() if v == DeliveryStatus.UNCERTAIN}
        lost = [o for o, v in final.items() if counts.get(o, 0) == 0 and v != DeliveryStatus.UNCERTAIN]
        return {"rows": args.kill_rows, "at_kill": at_kill, "held_at_kill": len(held),
                "load": (load_start, os.getloadavg()[0]),
                "template_rows": len(notices), "template_held": len(held & notices),
                "template_delivered": channels["template"], "template_uncertain": len(uncertain & notices),
                "template_duplicated": sum(1 for o in notices if counts.get(o, 0) > 1),
                "delivered": len(fake.delivered()), "duplicated": sum(1 for n in counts.values() if n > 1),
                "lost": len(lost), "uncertain": len(uncertain),
                "uncertain_arrived": sum(1 for o in uncertain if counts.get(o, 0) == 1),
                "uncertain_outside_held": len(uncertain - held),
                "sent_but_missing": sum(1 for o, v in final.items() if v == DeliveryStatus.SENT and counts.get(o) != 1)}
    finally:
        server.stop()
        drop_database(args.database, name)


def database_version(kind: str) -> str:
    if kind == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    engine = sa.create_engine(PG_ADMIN)
    with engine.connect() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar()
    engine.dispose()
    return f"PostgreSQL {version}"


def report(args: argparse.Namespace, tp: dict[str, float] | None, crash: dict[str, float] | None) -> str:
    lines = [f"### {args.database}: {database_version(args.database)}, {os.cpu_count()} CPUs, "
             f"Python {platform.python_version()}, {dt.date.today().isoformat()}", "",
             f"Command: `{' '.join(['python -m bench.outbox_bench', *sys.argv[1:]])}`", "",
             f"Settings: latency {args.latency * 1000:.0f} ms per call, sender_concurrency {args.concurrency}, "
             f"rate cap {args.rate:.0f}/s per sender, {args.senders} sender process(es); the fake WeChat API runs in the benchmark process.", ""]
    loads = [f"{name} run {run['load'][0]:.1f} → {run['load'][1]:.1f}" for name, run in (("throughput", tp), ("crash", crash))
             if run]
    lines += [f"Machine load (1-minute load average at the start → end of each run, {os.cpu_count()} CPUs; the "
              f"benchmark's own processes count in it): {'; '.join(loads)}. Well above the CPU count, other work "
              f"shared the machine and the throughput is lower than on a quiet one.", ""]
    if tp:
        lines += ["| throughput run | value |", "|---|---|",
                  f"| rows | {tp['rows']:,} |", f"| delivered (fake's record) | {tp['delivered']:,} |",
                  f"| marked sent | {tp['sent']:,} |", f"| duplicated | {tp['duplicated']} |",
                  f"| first→last delivery | {tp['span']:.1f} s |",
                  f"| **throughput** | **{tp['rate']:,.0f} deliveries/s** |",
                  f"| wall time incl. start-up and polling | {tp['wall']:.1f} s |",
                  f"| CPU: sender process / fake + polling | {tp['sender_cpu']:.1f} s / {tp['fake_cpu']:.1f} s |", ""]
    if crash:
        lines += ["| crash run (SIGKILL every sender, then start new ones) | value |", "|---|---|",
                  f"| rows | {crash['rows']:,} |", f"| delivered when killed | {crash['at_kill']:,} |",
                  f"| rows the dead senders held (`sending`) | {crash['held_at_kill']} |",
                  f"| **lost** (never delivered, not flagged) | **{crash['lost']}** |",
                  f"| **duplicated** | **{crash['duplicated']}** |",
                  f"| in doubt → `uncertain`, not resent | {crash['uncertain']} "
                  f"(of which reached the fake: {crash['uncertain_arrived']}) |",
                  f"| `uncertain` rows the dead senders did not hold | {crash['uncertain_outside_held']} |",
                  f"| marked sent but not delivered | {crash['sent_but_missing']} |"]
        if crash["template_rows"]:
            lines += [f"| of the rows: report notices outside the window (template messages with `client_msg_id`) "
                      f"| {crash['template_rows']:,} |",
                      f"| template rows the dead senders held | {crash['template_held']} |",
                      f"| template messages delivered (fake's record) | {crash['template_delivered']:,} |",
                      f"| **template rows `uncertain`** | **{crash['template_uncertain']}** |",
                      f"| template rows duplicated | {crash['template_duplicated']} |"]
        lines.append("")
    return "\n".join(lines)


def write_results(text: str, database: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    existing = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    header = "## Outbox"
    intro = (f"{header}\n\n`bench/outbox_bench.py`: customer-service deliveries through the real sender to the "
             "fake WeChat API with injected latency, on loopback. Guarantee tested by the crash run: "
             "nothing lost, nothing sent twice; rows the killed sender held become `uncertain` "
             "(never resent automatically; `python -m bot outbox uncertain` lists them). Honest reading: "
             "`uncertain` is at-most-once, so the rows in it that had not yet left when the process died "
             "(the table shows how many reached the fake) reach the citizen only if staff requeue them; "
             "\"lost\" counts rows that are neither delivered nor flagged.\n")
    if header not in existing:
        existing = existing.rstrip("\n") + "\n\n" + intro
    # Replace this database's previous figures, keep the others.
    start = existing.index(header)
    end_match = re.search(r"^## ", existing[start + len(header):], re.M)
    end = start + len(header) + end_match.start() if end_match else len(existing)
    section = existing[start:end]
    section = re.sub(rf"### {database}:.*?(?=^### |\Z)", "", section, flags=re.S | re.M).rstrip("\n")
    section = section + "\n\n" + text.rstrip("\n") + "\n"
    path.write_text(existing[:start] + section + ("\n" + existing[end:] if end < len(existing) else ""),
                    encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--kill-rows", type=int, default=20_000)
    parser.add_argument("--kill-at", type=float, default=0.4, help="kill when this share has been delivered")
    parser.add_argument("--latency", type=float, default=0.020)
    parser.add_argument("--concurrency", type=int, default=None, help="default: [push] sender_concurrency")
    parser.add_argument("--rate", type=float, default=None, help="default: [push] rate_per_second")
    parser.add_argument("--senders", type=int, default=2, help="sender processes (they share the outbox)")
    parser.add_argument("--template-share", type=float, default=0.25,
                        help="share of the crash run's rows sent as template messages (0: none)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-crash", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from bot.config import load_config

    push = load_config(ROOT / "config.toml", environ={}).push
    args.concurrency = args.concurrency or push.sender_concurrency
    args.rate = push.rate_per_second if args.rate is None else args.rate
    with tempfile.TemporaryDirectory(prefix="outbox-bench-") as name:
        tmp = Path(name)
        tp = None if args.skip_throughput else throughput_run(args, tmp)
        if tp:
            print(f"throughput: {tp['rate']:,.0f}/s ({tp['delivered']:,} delivered, {tp['duplicated']} duplicated; "
                  f"CPU sender {tp['sender_cpu']:.1f} s, fake {tp['fake_cpu']:.1f} s, wall {tp['wall']:.1f} s)")
        crash = None if args.skip_crash else crash_run(args, tmp)
        if crash:
            print(f"crash: lost {crash['lost']}, duplicated {crash['duplicated']}, uncertain {crash['uncertain']} "
                  f"(template rows {crash['template_rows']}: uncertain {crash['template_uncertain']}, "
                  f"held {crash['template_held']})")
        text = report(args, tp, crash)
    print(text)
    if not args.no_write:
        write_results(text, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
