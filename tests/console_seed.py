"""A console with something on every page, seeded the way the campaign fills it: citizens who follow,
answer the quiz and file a report through the webhook; pushes of every purpose, some failed with
WeChat's English error text; a broadcast draft and a refused send; a draw; paused and failed jobs.
Used by the test that crawls every console page for internal names, and by the browser tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from bot.clock import shanghai
from bot.models import Delivery
from bot.services.outbox import enqueue, text_payload
from tests.console import ConsoleClient, add_staff
from tests.reports_helpers import file_report
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

# The values this seed puts in the database: data staff may see as it is, not internal names.
OPENIDS = ("oSeedFollowerA1234567890ab", "oSeedFollowerB1234567890ab", "oSeedReporter01234567890ab")
ADMIN = "boss"

# What the outbox holds, by purpose and state; failures carry the text WeChat (or the sender) left.
DELIVERIES = (
    ("broadcast", "sent", None, None),
    ("report_status", "failed", "outside the 48-hour window and no template configured", None),
    ("report_reply", "undeliverable", "user unsubscribed", 43004),
    ("quiz_prize", "pending", None, None),
    ("event_reminder", "sent", None, None),
    ("township_tag", "failed", "tag api error 45157", 45157),
    ("broadcast_preview", "failed", "invalid openid hint: [xyz]", 40003),
)


def seed(app: Any, clock: Any) -> ConsoleClient:
    """Fill the console and return an admin logged in on June 3, 09:00."""
    from tests.test_console_quiz import add_round

    bot = app.extensions["bot"]
    server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)
    clock.set(shanghai(2021, 6, 1, 10, 0))
    for openid in OPENIDS:
        Citizen(server, openid).follow("poster")
    clock.set(shanghai(2021, 6, 2, 11, 0))
    file_report(Citizen(server, OPENIDS[2]))
    with bot.db.session() as session:
        for openid in OPENIDS[:2]:
            add_round(session, openid, dt.date(2021, 6, 1))
        add_round(session, OPENIDS[2], dt.date(2021, 6, 1), flagged=True)
        for n, (purpose, status, error, errcode) in enumerate(DELIVERIES):
            row = enqueue(session, key=f"seed:{n}", purpose=purpose, payload=text_payload("安全生产月"),
                          now=clock.now(), openid=OPENIDS[n % 2])
            session.execute(update(Delivery).where(Delivery.id == row.id).values(
                status=status, last_error=error, last_errcode=errcode))
        session.commit()
    clock.set(shanghai(2021, 6, 3, 9, 0))
    add_staff(app, ADMIN, "admin")
    console = ConsoleClient(app.test_client())
    assert console.login(ADMIN).status_code == 302
    return console


def act(console: ConsoleClient) -> list[str]:
    """What staff do on a campaign day, so the audit log, flashes and histories have entries; returns
    the pages each action answered with (its flash included)."""
    pages = []

    def post(path: str, data: dict[str, str] | None = None) -> None:
        response = console.post(path, data)
        assert response.status_code in (200, 302), (path, response.status_code)
        target = response.headers.get("Location") if response.status_code == 302 else None
        pages.append(console.get(target).get_data(as_text=True) if target else response.get_data(as_text=True))

    for title in ("防溺水提醒", "燃气安全提醒"):
        post("/console/broadcasts/compose", {"kind": "text", "title": title, "content": "暑期将至，请看护好孩子。",
                                             "audience": "all"})
    post("/console/broadcasts/1/send", {"at": ""})
    post("/console/broadcasts/2/send", {"at": ""})  # the day's one mass send is taken: refused
    post("/console/schedule/job/push_plan/pause", {"reason": "核对推送内容"})
    post("/console/schedule/job/overdue_reports/run")
    post("/console/quiz/draws/create", {"title": "第一周答题抽奖", "prize": "家用灭火器一具", "winners": "1",
                                        "start": "2021-06-01", "end": "2021-06-02"})
    post("/console/quiz/draws/1/reveal", {"beacon": "20210603 上证综指收盘 3584.18"})
    post("/console/schedule/plan/case-hazchem/pause", {"reason": "等待审核"})
    post("/console/staff/add", {"username": "wang", "role": "editor"})
    return pages


def triage(console: ConsoleClient, ticket: str) -> list[str]:
    """A report accepted, noted and replied to: its history names staff and the citizen."""
    pages = []
    for path, data in ((f"/console/reports/{ticket}/status", {"to": "accepted"}),
                       (f"/console/reports/{ticket}/note", {"text": "已电话联系物业"}),
                       (f"/console/reports/{ticket}/reply", {"text": "已转交城关镇核查，谢谢您的举报。"})):
        response = console.post(path, data)
        assert response.status_code == 302, (path, response.status_code)
        pages.append(console.get(response.headers["Location"]).get_data(as_text=True))
    return pages
