"""The console's hazard-report pages: dashboard figures equal SQL, the list and its filters, a report's
page and every action on it (audited, the reporter told through the outbox), photos, identity reveal,
exports. Reports are filed through the signed webhook."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from bot.models import AuditEntry, Delivery, Report, ReportAudit, ReportPhoto
from bot.models.reports import PhotoStatus
from tests.console import ConsoleClient, add_staff, figures
from tests.reports_helpers import file_report
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer

JPEG = b"\xff\xd8\xff\xe0console-test-jpeg"


@pytest.fixture
def config(database_url: str, tmp_path: Path):
    return make_config(database_url, reports={"photo_dir": str(tmp_path / "photos")})


def person(app, clock, openid: str) -> Citizen:
    return Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), openid)


def logged_in(app, role: str = "admin", username: str = "boss") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def report(app, ticket: str) -> Report:
    with app.extensions["bot"].db.session() as session:
        return session.scalar(select(Report).where(Report.ticket == ticket))


def report_figure_sql(session, key: str, now: dt.datetime) -> int:
    """What a reports.* figure claims, counted in plain SQL."""
    count = lambda sql, **p: session.execute(text(sql), p).scalar_one()  # noqa: E731
    parts = key.split(".")
    if key == "reports.total":
        return count("SELECT count(*) FROM reports")
    if key == "reports.waiting":
        return count("SELECT count(*) FROM reports WHERE status = 'submitted'")
    if key == "reports.overdue":
        return count("SELECT count(*) FROM reports WHERE status NOT IN ('closed', 'rejected') "
                     "AND due_at IS NOT NULL AND due_at < :now", now=now.astimezone(dt.UTC))
    if parts[1] == "status":
        return count("SELECT count(*) FROM reports WHERE status = :s", s=parts[2])
    if parts[1] == "category":
        return count("SELECT count(*) FROM reports WHERE category = :c", c=parts[2])
    if key == "reports.township.none":
        return count("SELECT count(*) FROM reports WHERE township IS NULL")
    if parts[1] == "township":
        return count("SELECT count(*) FROM reports WHERE township = :t", t=parts[2])
    raise AssertionError(f"figure {key} has no independent count")


def file_several(app, clock) -> list[str]:
    """Five reports: two categories, three townships or none; returns their tickets."""
    tickets = []
    cases = [("1", (36.195, 113.116, "城关镇人民路12号")), ("1", None), ("3", (36.195, 113.116, "人民路12号")),
             ("2", None), ("3", None)]
    for n, (category, location) in enumerate(cases):
        ticket, _ = file_report(person(app, clock, f"o_rep_{n}"), category=category, location=location,
                                description=f"第{n}号：楼道里堆满纸箱，消防通道被堵死了。")
        tickets.append(ticket)
        clock.advance(minutes=5)
    return tickets


def test_report_panels_match_sql(app, clock) -> None:
    tickets = file_several(app, clock)
    console = logged_in(app)
    console.post(f"/console/reports/{tickets[0]}/status", {"to": "accepted"})
    console.post(f"/console/reports/{tickets[1]}/status", {"to": "rejected", "note": "不属于安全生产范围"})
    console.post(f"/console/reports/{tickets[2]}/township", {"township": "nanhe"})
    clock.advance(days=2)  # the still-submitted ones are now past their one-day acceptance deadline
    console.login("boss")  # the idle timeout ended the session meanwhile
    shown = {k: v for k, v in figures(console.get("/console/").get_data(as_text=True)).items()
             if k.startswith("reports.")}
    with app.extensions["bot"].db.session() as session:
        for key, value in shown.items():
            assert int(value) == report_figure_sql(session, key, clock.now()), key
    assert shown["reports.total"] == "5" and shown["reports.overdue"] == "3"
    assert shown["reports.status.accepted"] == "1" and shown["reports.status.rejected"] == "1"
    assert shown["reports.township.nanhe"] == "1" and int(shown["reports.township.none"]) >= 1
    assert {"reports.category.fire", "reports.category.hazchem"} <= set(shown)
    assert "reports.status.closed" in shown  # every status is shown, also at zero


def test_editor_sees_no_report_panels(app) -> None:
    html = logged_in(app, "editor", "ed").get("/console/").get_data(as_text=True)
    assert "reports." not in "".join(figures(html)) and 'data-panel="reports"' not in html


def test_list_filters_pages_and_hides_identity(app, clock) -> None:
    tickets = file_several(app, clock)
    console = logged_in(app, "reviewer", "li")
    html = console.get("/console/reports").get_data(as_text=True)
    assert all(t in html for t in tickets)
    assert "张三" not in html and "13800138000" not in html and "实名（已隐藏）" in html
    gas = console.get("/console/reports?category=hazchem").get_data(as_text=True)
    assert tickets[3] in gas and tickets[0] not in gas
    console.post(f"/console/reports/{tickets[4]}/status", {"to": "accepted"})
    accepted = console.get("/console/reports?status=accepted").get_data(as_text=True)
    assert tickets[4] in accepted and tickets[3] not in accepted
    town = report(app, tickets[0]).township
    assert town and tickets[0] in console.get(f"/console/reports?township={town}").get_data(as_text=True)
    assert tickets[0] not in console.get("/console/reports?since=2021-06-02").get_data(as_text=True)
    assert tickets[0] in console.get("/console/reports?since=2021-06-01&until=2021-06-01").get_data(as_text=True)
    clock.advance(days=2)
    console.login("li")
    overdue = console.get("/console/reports?overdue=1").get_data(as_text=True)
    assert tickets[3] in overdue and tickets[4] not in overdue  # accepted: 60 days to verify
    app.config["CONSOLE_REPORTS_PAGE_SIZE"] = 2
    first = console.get("/console/reports").get_data(as_text=True)
    assert "下一页" in first and first.count("data-ticket=") == 2
    last = console.get("/console/reports?page=3").get_data(as_text=True)
    assert last.count("data-ticket=") == 1 and "下一页" not in last and "上一页" in last


def test_triage_end_to_end_notifies_and_audits(app, clock) -> None:
    ticket, _ = file_report(person(app, clock, "o_whistle"))
    console = logged_in(app, "reviewer", "li")
    for to, note in (("accepted", ""), ("verifying", ""), ("rectified", "已清理纸箱"), ("closed", "")):
        response = console.post(f"/console/reports/{ticket}/status", {"to": to, "note": note})
        assert response.status_code == 302
        assert report(app, ticket).status == to
    page = console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    assert "已办结" in page and "已清理纸箱" in page and "本件已是最终状态" in page
    with app.extensions["bot"].db.session() as session:
        notices = session.scalars(select(Delivery).where(Delivery.purpose == "report_status")
                                  .order_by(Delivery.id)).all()
        assert [n.openid for n in notices] == ["o_whistle"] * 4
        assert "已办结" in notices[-1].payload["content"]
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "report.status")
                                 .order_by(AuditEntry.id)).all()
        assert [(a.before["status"], a.after["status"]) for a in audits] == [
            ("submitted", "accepted"), ("accepted", "verifying"), ("verifying", "rectified"), ("rectified", "closed")]
        assert all(a.actor == "li" and a.target == ticket for a in audits)


def test_wrong_actions_change_nothing_and_say_why(app, clock) -> None:
    ticket, _ = file_report(person(app, clock, "o_w"))
    console = logged_in(app)
    console.post(f"/console/reports/{ticket}/status", {"to": "rejected", "note": " "})
    assert "必须写明理由" in console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    console.post(f"/console/reports/{ticket}/status", {"to": "closed"})
    assert "不能改为" in console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    console.post(f"/console/reports/{ticket}/reward", {"eligible": "1", "amount": "200"})
    assert "核查为“已整改”或“已办结”后才能认定奖励" in console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    console.post(f"/console/reports/{ticket}/township", {"township": "atlantis"})
    assert "请选择乡镇" in console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    assert report(app, ticket).status == "submitted"
    with app.extensions["bot"].db.session() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action.like("report.%"))).all() == []
    assert console.get("/console/reports/YH00000000-NOSUCH").status_code == 404


def test_reply_note_assign_and_reward(app, clock) -> None:
    ticket, _ = file_report(person(app, clock, "o_r"))
    console = logged_in(app)
    console.post(f"/console/reports/{ticket}/reply", {"text": "感谢，我们已安排人员<核查>"})
    console.post(f"/console/reports/{ticket}/note", {"text": "内部：与消防大队联系"})
    console.post(f"/console/reports/{ticket}/township", {"township": "xiling"})
    for to in ("accepted", "verifying", "rectified"):
        console.post(f"/console/reports/{ticket}/status", {"to": to})
    console.post(f"/console/reports/{ticket}/reward", {"eligible": "1", "amount": "300", "note": "线索准确"})
    page = console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    assert "感谢，我们已安排人员&lt;核查&gt;" in page and "内部：与消防大队联系" in page
    assert "西岭乡" in page and "符合，300 元" in page
    done = report(app, ticket)
    assert (done.township, done.township_source, done.reward_amount) == ("xiling", "staff", 300)
    with app.extensions["bot"].db.session() as session:
        texts = [d.payload["content"] for d in session.scalars(
            select(Delivery).where(Delivery.openid == "o_r").order_by(Delivery.id))]
        assert any("【举报回复】" in t and "<核查>" in t for t in texts)
        assert any("【举报奖励】" in t and "300 元" in t for t in texts)
        assert not any("内部" in t for t in texts)
        actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
                   if a.action.startswith("report.")]
        assert actions[:3] == ["report.reply", "report.note", "report.assign"] and actions[-1] == "report.reward"
        reward = session.scalars(select(AuditEntry).where(AuditEntry.action == "report.reward")).one()
        assert reward.before["reward_amount"] is None and reward.after["reward_amount"] == 300


def test_reveal_needs_admin_and_reason_and_is_audited_twice(app, clock) -> None:
    ticket, _ = file_report(person(app, clock, "o_id"))
    reviewer = logged_in(app, "reviewer", "li")
    assert reviewer.post(f"/console/reports/{ticket}/reveal", {"reason": "想看"}).status_code == 403
    admin = logged_in(app, "admin", "boss")
    page = admin.get(f"/console/reports/{ticket}").get_data(as_text=True)
    assert "张三" not in page and "13800138000" not in page and "实名举报（身份已隐藏）" in page
    admin.post(f"/console/reports/{ticket}/reveal", {"reason": " "})
    assert "必须填写理由" in admin.get(f"/console/reports/{ticket}").get_data(as_text=True)
    shown = admin.post(f"/console/reports/{ticket}/reveal", {"reason": "核实需要联系举报人"}).get_data(as_text=True)
    assert "张三" in shown and "13800138000" in shown and "o_id" in shown
    assert "张三" not in admin.get(f"/console/reports/{ticket}").get_data(as_text=True)  # shown once only
    with app.extensions["bot"].db.session() as session:
        assert [(a.actor, a.action, a.detail) for a in session.scalars(select(ReportAudit))] == [
            ("li", "reveal_identity_denied", "想看"), ("boss", "reveal_identity", "核实需要联系举报人")]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "report.reveal")).one()
        assert entry.note == "核实需要联系举报人" and "张三" not in str(entry.after) + str(entry.before)


def test_photos_are_served_to_report_viewers_only(app, clock, tmp_path: Path) -> None:
    ticket, _ = file_report(person(app, clock, "o_p"), photos=3)
    folder = tmp_path / "photos"
    (folder / "2021").mkdir(parents=True)
    (folder / "2021" / "a.jpg").write_bytes(JPEG)
    (tmp_path / "secret.txt").write_text("outside")
    with app.extensions["bot"].db.session() as session:
        first, second, third = session.scalars(select(ReportPhoto).order_by(ReportPhoto.id)).all()
        first.status, first.path = PhotoStatus.STORED, "2021/a.jpg"
        second.attempts, second.last_error = 3, "-1 system busy"
        third.status, third.path, third.attempts, third.last_error = PhotoStatus.STORED, "../secret.txt", 1, None
        ids = first.id, second.id, third.id
        session.commit()
    console = logged_in(app, "reviewer", "li")
    page = console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    assert f'/console/reports/photos/{ids[0]}' in page
    assert "尝试 3 次" in page and "最近错误：微信系统繁忙（错误码 -1）" in page and "待下载" in page
    photo = console.get(f"/console/reports/photos/{ids[0]}")
    assert photo.status_code == 200 and photo.data == JPEG and photo.headers["Cache-Control"] == "no-store"
    assert console.get(f"/console/reports/photos/{ids[1]}").status_code == 404  # not downloaded yet
    assert console.get(f"/console/reports/photos/{ids[2]}").status_code == 404  # outside the photo folder
    editor = logged_in(app, "editor", "ed")
    assert editor.get(f"/console/reports/photos/{ids[0]}").status_code == 403


def test_photo_download_errors_read_in_chinese(app, clock) -> None:
    """WeChat's media errors are English ("40007 invalid media_id hint: [...]"); staff read Chinese."""
    ticket, _ = file_report(person(app, clock, "o_e"), photos=3)
    with app.extensions["bot"].db.session() as session:
        failed, expired, unknown = session.scalars(select(ReportPhoto).order_by(ReportPhoto.id)).all()
        failed.status, failed.attempts = PhotoStatus.FAILED, 1
        failed.last_error = "40007 invalid media_id hint: [aBcD0123] rid: 60b5a1f2-1a2b3c4d"
        expired.status, expired.attempts = PhotoStatus.EXPIRED, 4
        expired.last_error = "-1 system error; WeChat media expired (3 days) before it could be downloaded"
        unknown.attempts, unknown.last_error = 2, "ReadTimeout: HTTPSConnectionPool(host='api.weixin.qq.com')"
        session.commit()
    page = logged_in(app, "reviewer", "li").get(f"/console/reports/{ticket}").get_data(as_text=True)
    errors = re.findall(r"最近错误：([^<]*)<", page)
    assert errors == ["微信里已找不到这个文件（媒体编号无效或已过期）（错误码 40007）", "微信只保留 3 天，过期前未能下载",
                      "原因未记录"]
    for english in ("invalid media_id", "expired (3 days)", "ReadTimeout", "api.weixin"):
        assert english not in page


def test_exports_follow_the_filter_and_keep_identity_for_admins(app, clock) -> None:
    tickets = file_several(app, clock)
    reviewer = logged_in(app, "reviewer", "li")
    response = reviewer.post("/console/reports/export", {"format": "csv", "category": "fire"})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "举报编号" and "手机号" not in rows[0]
    assert sorted(r[0] for r in rows[1:]) == sorted(tickets[:2])
    book = load_workbook(io.BytesIO(reviewer.post("/console/reports/export", {"format": "xlsx"}).data))
    sheet = book.active
    assert sheet.title == "举报台账" and sheet.max_row == 6
    assert reviewer.post("/console/reports/export/identity", {"confirm": "1", "reason": "x"}).status_code == 403
    admin = logged_in(app, "admin", "boss")
    refused = admin.post("/console/reports/export/identity", {"format": "csv", "reason": "年度核对"})
    assert refused.status_code == 302  # no confirmation ticked: nothing exported
    assert "须勾选确认并填写理由" in admin.get("/console/reports").get_data(as_text=True)
    full = admin.post("/console/reports/export/identity", {"format": "csv", "reason": "年度核对", "confirm": "1",
                                                           "category": "hazchem"})
    rows = list(csv.reader(io.StringIO(full.data.decode("utf-8-sig"))))
    assert rows[0][-3:] == ["是否匿名", "姓名", "手机号"] and rows[1][0] == tickets[3] and rows[1][-1] == "13800138000"
    with app.extensions["bot"].db.session() as session:
        entries = {a.action: a for a in session.scalars(select(AuditEntry).where(AuditEntry.action.like("report.%")))}
        assert entries["report.export_identity"].note == "年度核对"
        assert entries["report.export_identity"].after == {"format": "csv", "rows": 1, "filter": {"category": "hazchem"}}
        # The reviewer's refused try is in the identity audit too (issue 17 item 13).
        assert session.scalars(select(ReportAudit.action)).all() == ["export_identity_denied", "export_identity"]


def test_citizen_text_is_escaped(app, clock) -> None:
    evil = "<script>alert(1)</script>楼道堆满纸箱，消防通道被堵"
    ticket, _ = file_report(person(app, clock, "o_x"), description=evil)
    console = logged_in(app)
    for path in ("/console/reports", f"/console/reports/{ticket}"):
        html = console.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
