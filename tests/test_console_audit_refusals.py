"""Issue 17 item 13: refused looks at a reporter's identity are audited, a failed login writes down a
username only when it names an account, and a winner's full phone is not shown once the prize is delivered."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import AuditEntry, ReportAudit
from tests.console import ConsoleClient, add_staff
from tests.reports_helpers import file_report
from tests.test_console_quiz import entrants, revealed_with_a_claim  # noqa: F401 (entrants: a fixture)
from tests.test_console_reports import config, logged_in, person  # noqa: F401 (config: a fixture)


def console_audit(app: Any, action: str) -> list[AuditEntry]:
    with app.extensions["bot"].db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def identity_audit(app: Any) -> list[tuple[str, str, str | None]]:
    with app.extensions["bot"].db.session() as session:
        return [(a.actor, a.action, a.detail) for a in session.scalars(select(ReportAudit).order_by(ReportAudit.id))]


@pytest.mark.parametrize("role, name", [("reviewer", "li"), ("editor", "zhou")])
def test_a_refused_identity_reveal_is_audited(app, clock, role: str, name: str) -> None:
    ticket, _ = file_report(person(app, clock, "o_whistle"))
    snoop = logged_in(app, role, name)
    response = snoop.post(f"/console/reports/{ticket}/reveal", {"reason": "想看看是谁"})
    assert response.status_code == 403 and "张三" not in response.get_data(as_text=True)
    [entry] = console_audit(app, "report.reveal_denied")
    assert (entry.actor, entry.target, entry.note) == (name, ticket, "想看看是谁")
    assert identity_audit(app) == [(name, "reveal_identity_denied", "想看看是谁")]


def test_a_refused_identity_reveal_of_an_unknown_ticket_is_audited_too(app) -> None:
    snoop = logged_in(app, "reviewer", "li")
    assert snoop.post("/console/reports/R-NOPE/reveal", {"reason": "试试"}).status_code == 403
    [entry] = console_audit(app, "report.reveal_denied")
    assert (entry.actor, entry.target) == ("li", "R-NOPE")


@pytest.mark.parametrize("role, name", [("reviewer", "li"), ("editor", "zhou")])
def test_a_refused_identity_export_is_audited(app, clock, role: str, name: str) -> None:
    file_report(person(app, clock, "o_whistle"))
    snoop = logged_in(app, role, name)
    response = snoop.post("/console/reports/export/identity", {"format": "csv", "confirm": "1", "reason": "备份"})
    assert response.status_code == 403 and "13800138000" not in response.get_data(as_text=True)
    [entry] = console_audit(app, "report.export_identity_denied")
    assert (entry.actor, entry.note) == (name, "备份")
    assert identity_audit(app) == [(name, "export_identity_denied", None)]


def test_a_password_typed_as_the_username_is_not_written_down(app, caplog: pytest.LogCaptureFixture) -> None:
    add_staff(app, "wang", "reviewer")
    typed = "Wang-Secret-2021!"  # the password, typed into the username box
    caplog.set_level(logging.DEBUG)
    console = ConsoleClient(app.test_client())
    assert console.login(typed, "").status_code == 401
    assert console.login("wang", "not-the-password").status_code == 401
    rows = console_audit(app, "login.failed")
    assert [(r.actor, r.target) for r in rows] == [("-", None), ("wang", "wang")]
    assert all(typed not in f"{r.actor}{r.target}{r.note}" for r in rows)
    assert typed not in caplog.text and "wang" in caplog.text
    store = app.extensions["bot"].store
    if hasattr(store, "_values"):  # the in-process store: no key holds what was typed
        assert not [key for key in store._values if typed.lower() in key.lower()]
    boss = ConsoleClient(app.test_client())
    add_staff(app, "boss", "admin")
    boss.login("boss")
    page = boss.get("/console/audit").get_data(as_text=True)
    assert typed not in page and "未知用户名" in page


def test_an_editor_cannot_read_a_winners_full_phone_after_delivery(app, entrants, clock) -> None:  # noqa: F811
    editor = logged_in(app, "editor", "ed")
    draw_id, _, claimed = revealed_with_a_claim(app, editor, clock, winners=2, name="王芳")
    editor.post(f"/console/quiz/prizes/{claimed.id}/deliver")
    page = editor.get(f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    assert "139****5678" in page and f"/console/quiz/prizes/{claimed.id}/contact" not in page
    refused = editor.post(f"/console/quiz/prizes/{claimed.id}/contact")
    text = refused.get_data(as_text=True)
    assert "13912345678" not in text and "已发放" in text
    assert console_audit(app, "quiz.prize.contact") == []
    [denied] = console_audit(app, "quiz.prize.contact_denied")
    assert (denied.actor, denied.target) == ("ed", f"prize:{claimed.id}")
