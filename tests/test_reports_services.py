"""The report services staff, the scheduler and the console call: evidence, identity, deadlines,
duplicates, export, erasure; and the `reports` CLI. Reports are filed through the webhook."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.config import ConfigError, from_mapping
from bot.content import ContentError
from bot.models import ReportAudit
from bot.models.reports import PhotoStatus, ReportStatus
from bot.services.reports import deadlines, drafts, evidence, identity, lifecycle, triage
from bot.services.reports.categories import load_report_categories
from bot.services.reports.identity import KEYED_PREFIX, IdentityError, IdentityVault, vault_for
from tests.reports_helpers import file_report, photos, reports
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer

S = ReportStatus


JPEG = b"\xff\xd8\xff\xe0fake-jpeg-bytes"


def test_photo_download_fails_then_succeeds(api_app, fake_wechat, mode, clock, tmp_path: Path) -> None:
    bot = api_app.extensions["bot"]
    citizen = Citizen(WeChatServer(api_app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock))
    media = [fake_wechat.add_media(JPEG), fake_wechat.add_media(JPEG)]
    file_report(citizen, media_ids=media)
    fake_wechat.fail_next("media/get", -1, times=4)  # WeChat busy for both photos, and for the client's one retry
    api = bot.extensions["api"]
    with bot.db.session() as s:
        summary = evidence.download_pending_photos(s, api, tmp_path, clock.now())
        assert (summary.stored, summary.retrying) == (0, 2)
        first = photos(s)
        assert [(p.status, p.attempts, p.media_id) for p in first] == [
            (PhotoStatus.PENDING, 1, media[0]), (PhotoStatus.PENDING, 1, media[1])]
        assert first[0].last_error.startswith("-1") and first[0].pic_url == "http://mmbiz.example/0.jpg"
        assert first[0].next_attempt_at == clock.now() + dt.timedelta(minutes=1)
        calls = fake_wechat.calls["media/get"]
        # not due yet: nothing is asked
        assert evidence.download_pending_photos(s, api, tmp_path, clock.now()).stored == 0
        assert fake_wechat.calls["media/get"] == calls
        clock.advance(minutes=1)
        summary = evidence.download_pending_photos(s, api, tmp_path, clock.now())
        assert (summary.stored, summary.retrying) == (2, 0)
        for p in photos(s):
            assert p.status == PhotoStatus.STORED and p.attempts in (1, 2)
            assert p.sha256 == hashlib.sha256(JPEG).hexdigest() and p.size == len(JPEG)
            assert p.path.endswith(".jpg") and evidence.verify_file(p, tmp_path)
        assert evidence.download_pending_photos(s, api, tmp_path, clock.now()).stored == 0  # done is done


def test_photos_expire_after_three_days_and_invalid_media_is_not_retried(api_app, fake_wechat, clock,
                                                                         tmp_path: Path) -> None:
    bot = api_app.extensions["bot"]
    citizen = Citizen(WeChatServer(api_app.test_client(), TOKEN, APP_ID, AES_KEY, clock=clock))
    file_report(citizen, media_ids=["not-a-wechat-media-id", fake_wechat.add_media(JPEG)])
    api = bot.extensions["api"]
    with bot.db.session() as s:
        first, second = photos(s)
        evidence.download_pending_photos(s, api, tmp_path, clock.now(), limit=1)
        s.refresh(first)
        assert first.status == PhotoStatus.FAILED and first.last_error.startswith("40007")
        clock.advance(days=3)
        summary = evidence.download_pending_photos(s, api, tmp_path, clock.now())
        assert summary.expired == 1
        s.refresh(second)
        assert second.status == PhotoStatus.EXPIRED and "expired" in second.last_error
        assert second.media_id and second.pic_url  # kept for staff


def test_photo_job_runs_through_the_scheduler_registry(database_url, fake_wechat, clock, store,
                                                      tmp_path: Path) -> None:
    from bot import create_app
    from bot.background.jobs import JOBS
    from bot.background.jobs import reports as jobs

    assert any(j.target == "bot.background.jobs.reports:download_photos" for j in JOBS)
    config = make_config(database_url, wechat={"api_base_url": fake_wechat.base_url},
                         reports={"photo_dir": str(tmp_path / "photos")})
    app = create_app(config, clock=clock, store=store)
    bot = app.extensions["bot"]
    try:
        citizen = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, clock=clock))
        file_report(citizen, media_ids=[fake_wechat.add_media(JPEG)])
        jobs.download_photos(bot)
        with bot.db.session() as s:
            [photo] = photos(s)
            assert photo.status == PhotoStatus.STORED and evidence.verify_file(photo, tmp_path / "photos")
    finally:
        bot.close()


def test_identity_is_unreadable_in_the_database_without_the_key(citizen: Citizen, bot, database_url) -> None:
    file_report(citizen, contact="张三丰 13912345678")
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        dumps = [" ".join(str(v) for v in row) for table in ("reports", "report_drafts", "report_events",
                                                             "report_photos")
                 for row in conn.execute(sa.text(f"SELECT * FROM {table}"))]
        raw = conn.execute(sa.text("SELECT owner, openid_enc, name_enc, phone_enc FROM reports")).one()
    engine.dispose()
    everything = "\n".join(dumps)
    for secret in (citizen.openid, "张三丰", "13912345678", "张三", "1391234"):
        assert secret not in everything
    assert all(v.startswith(KEYED_PREFIX) for v in raw[1:]) and len(raw.owner) == 64  # sealed, with the key's id
    with pytest.raises(IdentityError):
        IdentityVault("some-other-key").decrypt("name", raw.name_enc)
    vault = vault_for(bot.config)
    with pytest.raises(IdentityError):  # a ciphertext moved to another column does not decrypt
        vault.decrypt("phone", raw.name_enc)
    assert vault.decrypt("name", raw.name_enc) == "张三丰" and vault.owner(citizen.openid) == raw.owner


def test_identity_never_reaches_the_log(citizen: Citizen, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    file_report(citizen, contact="张三丰 13912345678")
    for secret in ("张三丰", "13912345678"):
        assert secret not in caplog.text


def test_only_an_admin_reveals_identity_and_every_attempt_is_audited(citizen: Citizen, bot, clock) -> None:
    ticket, _ = file_report(citizen, contact="张三 13800138000")
    vault = vault_for(bot.config)
    with bot.db.session() as s:
        with pytest.raises(triage.PermissionDenied):
            triage.reveal_identity(s, vault, ticket, actor="小王", role="reviewer", reason="想看看", now=clock.now())
        who = triage.reveal_identity(s, vault, ticket, actor="李局", role="admin", reason="发放奖励核对身份",
                                    now=clock.now())
        s.commit()
        assert (who.name, who.phone, who.openid) == ("张三", "13800138000", citizen.openid)
        audit = triage.audit_log(s, ticket)
    assert [(a.actor, a.role, a.action, a.detail) for a in audit] == [
        ("小王", "reviewer", "reveal_identity_denied", "想看看"), ("李局", "admin", "reveal_identity", "发放奖励核对身份")]


def test_lifecycle_is_enforced(citizen: Citizen, bot, clock) -> None:
    ticket, _ = file_report(citizen)
    vault, settings = vault_for(bot.config), bot.config.reports
    with bot.db.session() as s:
        def change(status: str, note: str = "", role: str = "reviewer") -> None:
            triage.change_status(s, vault, ticket, status, actor="王科长", role=role, now=clock.now(),
                                settings=settings, note=note)

        with pytest.raises(lifecycle.TransitionError, match="可改为：已受理、不予受理"):
            change(S.VERIFYING)
        with pytest.raises(lifecycle.TransitionError, match="必须写明理由"):
            change(S.REJECTED)
        with pytest.raises(triage.PermissionDenied):
            change(S.ACCEPTED, role="editor")
        change(S.ACCEPTED)
        change(S.VERIFYING)
        with pytest.raises(ValueError, match="after verification"):
            triage.mark_reward(s, vault, ticket, eligible=True, amount=300, actor="李局", role="admin", now=clock.now(),
                              settings=settings)
        change(S.UNFOUNDED, "现场核查未发现电动车充电")
        change(S.CLOSED)
        with pytest.raises(lifecycle.TransitionError, match="已是最终状态"):
            change(S.ACCEPTED)
        s.commit()
        report = triage.get(s, ticket)
        assert report.closed_at == clock.now() and report.due_at is None
    assert "情况不属实：现场核查未发现电动车充电" in citizen.says(f"查询 {ticket}")


def test_deadlines_and_the_overdue_list(citizen: Citizen, citizens, bot, clock) -> None:
    late, _ = file_report(citizen)
    on_time, _ = file_report(citizens("o_second"), category="2")
    vault, settings = vault_for(bot.config), bot.config.reports
    with bot.db.session() as s:
        triage.change_status(s, vault, on_time, S.ACCEPTED, actor="w", role="reviewer", now=clock.now(),
                            settings=settings)
        s.commit()
        clock.advance(days=2)
        assert [r.ticket for r in deadlines.overdue_reports(s, clock.now())] == [late]
        assert [r.ticket for r in triage.list_reports(s, triage.ReportFilter(overdue=True), clock.now())] == [late]
        clock.advance(days=60)
        assert [r.ticket for r in deadlines.overdue_reports(s, clock.now())] == [late, on_time]
        triage.change_status(s, vault, on_time, S.VERIFYING, actor="w", role="reviewer", now=clock.now(),
                            settings=settings)
        triage.change_status(s, vault, on_time, S.RECTIFIED, actor="w", role="reviewer", now=clock.now(),
                            settings=settings)
        assert triage.get(s, on_time).due_at == clock.now() + dt.timedelta(days=10)
        assert [r.ticket for r in deadlines.overdue_reports(s, clock.now())] == [late]


def test_possible_duplicates_are_linked_not_rejected(citizen: Citizen, citizens, bot, clock) -> None:
    first, _ = file_report(citizen, location=(36.1950, 113.1160, "人民路"))
    clock.advance(days=1)
    near, _ = file_report(citizens("o_b"), location=(36.1955, 113.1165, "人民路口"))  # ~70 m
    other_category, _ = file_report(citizens("o_c"), category="2", location=(36.1950, 113.1160, "人民路"))
    far, _ = file_report(citizens("o_d"), location=(36.2100, 113.1160, "北边"))  # ~1.7 km
    clock.advance(days=10)
    stale, _ = file_report(citizens("o_e"), location=(36.1950, 113.1160, "人民路"))
    with bot.db.session() as s:
        by_ticket = {r.ticket: r for r in reports(s)}
        assert by_ticket[near].duplicate_of_id == by_ticket[first].id
        assert by_ticket[other_category].duplicate_of_id is None and by_ticket[far].duplicate_of_id is None
        assert by_ticket[stale].duplicate_of_id is None
        assert by_ticket[near].status == S.SUBMITTED
        assert [r.ticket for r in triage.detail(s, first, clock.now()).linked] == [near]
        assert any(e.kind == "duplicate" and first in e.note for e in triage.detail(s, near, clock.now()).events)


def test_assign_township_and_filters(citizen: Citizen, citizens, bot, clock) -> None:
    a, _ = file_report(citizen, location=None)
    b, _ = file_report(citizens("o_b"), category="2", location=(36.312, 113.082, ""))
    with bot.db.session() as s:
        triage.assign_township(s, a, "xiling", actor="王科长", role="reviewer", now=clock.now(),
                              townships=bot.content.townships)
        with pytest.raises(ValueError):
            triage.assign_township(s, a, "nowhere", actor="王科长", role="reviewer", now=clock.now(),
                                  townships=bot.content.townships)
        s.commit()
        assert (triage.get(s, a).township, triage.get(s, a).township_source) == ("xiling", "staff")
        assert triage.get(s, b).township == "beipo"

        def tickets(**kw) -> list[str]:
            return [r.ticket for r in triage.list_reports(s, triage.ReportFilter(**kw), clock.now())]

        assert tickets(township="xiling") == [a]
        assert tickets(category="hazchem") == [b]
        assert tickets(status=S.SUBMITTED) == [b, a]
        assert tickets(since=dt.date(2021, 6, 1), until=dt.date(2021, 6, 1)) == [b, a]
        assert tickets(since=dt.date(2021, 6, 2)) == []


def test_exports_leave_identity_out_unless_an_admin_asks(citizen: Citizen, citizens, bot, clock) -> None:
    file_report(citizen, contact="张三 13800138000")
    file_report(citizens("o_b"), description="=HYPERLINK(\"http://x\") 仓库门口堆了很多稀料桶没人管", contact="匿名")
    vault = vault_for(bot.config)
    kwargs = dict(now=clock.now(), categories=bot.content.report_categories, townships=bot.content.townships)
    with bot.db.session() as s:
        header, rows = triage.export_rows(s, vault, triage.ReportFilter(), actor="小王", role="reviewer", **kwargs)
        data = triage.to_csv(header, rows)
        text = data.decode("utf-8-sig")
        assert "张三" not in text and "13800138000" not in text and "姓名" not in text
        parsed = list(csv.reader(io.StringIO(text)))
        assert parsed[0][:5] == ["举报编号", "提交时间", "类别", "负责部门", "状态"] and len(parsed) == 3
        assert parsed[1][2] in ("消防安全",) and parsed[1][4] == "已提交"
        assert any(row[9].startswith("'=HYPERLINK") for row in parsed[1:])  # no formula injection

        with pytest.raises(triage.PermissionDenied):
            triage.export_rows(s, vault, triage.ReportFilter(), actor="小王", role="reviewer", include_identity=True,
                              **kwargs)
        header, rows = triage.export_rows(s, vault, triage.ReportFilter(), actor="李局", role="admin",
                                         include_identity=True, **kwargs)
        s.commit()
        sheet = load_workbook(io.BytesIO(triage.to_xlsx(header, rows))).active
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        assert sheet.title == "举报台账" and values[0][-3:] == ["是否匿名", "姓名", "手机号"]
        assert ["否", "张三", "13800138000"] in [v[-3:] for v in values[1:]]
        assert [(a.actor, a.action) for a in s.scalars(sa.select(ReportAudit).order_by(ReportAudit.id))] == [
            ("小王", "export_identity_denied"), ("李局", "export_identity")]


def test_contacts_of_closed_reports_are_erased_after_retention(citizen: Citizen, citizens, bot, clock) -> None:
    closed, _ = file_report(citizen, contact="张三 13800138000")
    still_open, _ = file_report(citizens("o_b"), contact="李四 13900139000")
    vault, settings = vault_for(bot.config), bot.config.reports
    with bot.db.session() as s:
        triage.change_status(s, vault, closed, S.REJECTED, actor="w", role="reviewer", now=clock.now(),
                            settings=settings, note="不属于安全生产举报范围")
        s.commit()
        clock.advance(days=179)
        assert identity.erase_old_contacts(s, clock.now(), settings.contact_retention_days) == 0
        clock.advance(days=2)
        assert identity.erase_old_contacts(s, clock.now(), settings.contact_retention_days) == 1
        s.commit()
        gone, kept = triage.get(s, closed), triage.get(s, still_open)
        assert (gone.openid_enc, gone.name_enc, gone.phone_enc) == (None, None, None)
        assert gone.contact_erased_at == clock.now() and gone.description  # the report itself stays
        assert vault.decrypt("name", kept.name_enc) == "李四"
        # No one left to notify; the reply is still recorded.
        triage.reply_to_reporter(s, vault, closed, "补充说明", actor="w", role="reviewer", now=clock.now())
    assert closed in citizen.says("我的举报")  # the owner HMAC still finds it


def test_expired_drafts_are_purged_with_their_photos(api_app, fake_wechat, clock, tmp_path: Path) -> None:
    bot = api_app.extensions["bot"]
    citizen = Citizen(WeChatServer(api_app.test_client(), TOKEN, APP_ID, AES_KEY, clock=clock))
    citizen.dialog([("举报", "请选择"), ("1", "请描述")])
    citizen.image(fake_wechat.add_media(JPEG))
    with bot.db.session() as s:
        evidence.download_pending_photos(s, bot.extensions["api"], tmp_path, clock.now())
        [photo] = photos(s)
        assert (tmp_path / photo.path).is_file()
        assert drafts.purge_expired(s, clock.now() + dt.timedelta(hours=23), 24, tmp_path) == 0
        assert drafts.purge_expired(s, clock.now() + dt.timedelta(hours=25), 24, tmp_path) == 1
        s.commit()
        assert photos(s) == [] and not (tmp_path / photo.path).exists()


def test_production_needs_an_identity_key() -> None:
    raw = {"server": {"mode": "production", "secret_key": "aDMNP9HXHyE3r7Uj-HXOQxCZrNJKhqxh2mZscKl5GrA"},
           "wechat": {"app_id": "wx1", "app_secret": "s", "token": "t"}, "database": {"url": "sqlite://"}}
    with pytest.raises(ConfigError, match=r"\[security\] identity_key"):
        from_mapping(raw)
    assert from_mapping(raw | {"security": {"identity_key": "2b404ca73e7cd48243d2fb47ba74487757fb68b78618a3e17f3b0d79dc0470e7"}}).security.identity_key


def test_category_content_errors_name_the_entry(tmp_path: Path) -> None:
    (tmp_path / "report_categories.toml").write_text(
        '[[category]]\nid = "a"\nname = "甲"\ndepartment = "局"\nphone = "1"\nexample = "例"\n', encoding="utf-8")
    with pytest.raises(ContentError, match="a: in_remit"):
        load_report_categories(tmp_path)


def test_cli_lists_changes_and_exports(citizen: Citizen, bot, database_url, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    ticket, _ = file_report(citizen, contact="张三 13800138000", photos=1)
    with bot.db.session() as s:  # WeChat's media errors are English; `reports show` says them in Chinese
        (photo,) = photos(s)
        photo.status, photo.attempts = PhotoStatus.FAILED, 1
        photo.last_error = "40007 invalid media_id hint: [aBcD0123] rid: 60b5a1f2-1a2b3c4d"
        s.commit()
    config = tmp_path / "bot.toml"
    config.write_text(f'[server]\nmode = "dev"\ntoday = "2021-06-03"\n[wechat]\napp_id = "wx1"\ntoken = "{bot.config.wechat.token}"\n'
                      f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    run = lambda *argv: main(["--config", str(config), "reports", *argv])  # noqa: E731
    assert run("list", "--overdue") == 0
    assert ticket in capsys.readouterr().out
    assert run("status", ticket, "已受理", "--actor", "王科长") == 0
    assert run("status", ticket, "已办结", "--actor", "王科长") == 1
    assert "不能改为" in capsys.readouterr().err
    assert run("show", ticket) == 0
    shown = capsys.readouterr().out
    assert "已受理" in shown and "王科长" in shown and "13800138000" not in shown
    assert "照片" in shown and "下载失败" in shown and "错误码 40007" in shown, shown
    for english in ("invalid media_id", "photo", "attempts", "failed", "status "):
        assert english not in shown, shown
    assert run("overdue") == 0
    assert ticket not in capsys.readouterr().out
    assert run("export", "--format", "xlsx", "--out", str(tmp_path / "a.xlsx")) == 0
    assert load_workbook(tmp_path / "a.xlsx").active["A2"].value == ticket
    assert run("export", "--format", "csv", "--out", str(tmp_path / "b.csv"), "--with-identity") == 1
    assert run("export", "--format", "csv", "--out", str(tmp_path / "b.csv"), "--with-identity", "--role", "admin",
               "--actor", "李局") == 0
    assert "13800138000" in (tmp_path / "b.csv").read_text(encoding="utf-8-sig")
    with bot.db.session() as s:
        assert [a.action for a in triage.audit_log(s)] == ["export_identity_denied", "export_identity"]


def test_a_draft_answer_is_written_whole() -> None:
    """The form's setters: a later answer replaces every field of the earlier one, nothing stale is left."""
    from bot.models.reports import ReportDraft

    draft = ReportDraft(description="门口堆满纸箱，堵住了消防通道", description_prefilled=True)
    drafts.keep_prefilled_description(draft)
    assert (draft.description, draft.description_prefilled) == ("门口堆满纸箱，堵住了消防通道", False)
    drafts.pin(draft, 35.5, 112.8, "")
    assert (draft.latitude, draft.longitude, draft.address, draft.location_given) == (35.5, 112.8, None, True)
    drafts.address(draft, "城关镇东街12号")
    assert (draft.latitude, draft.longitude, draft.address) == (None, None, "城关镇东街12号")
    drafts.no_place(draft)
    assert (draft.latitude, draft.address, draft.location_given) == (None, None, True)
    drafts.contact(draft, "name-sealed", "phone-sealed")
    assert (draft.anonymous, draft.name_enc, draft.phone_enc) == (False, "name-sealed", "phone-sealed")
    drafts.anonymous(draft)
    assert (draft.anonymous, draft.name_enc, draft.phone_enc) == (True, None, None)
