"""Broadcast previews go to staff members' own WeChat accounts, chosen from a list (issue 20): each
member binds theirs once by sending the code the console shows (`绑定 123456`) to the official account;
nobody types an openid; a failed preview is shown on the broadcasts page with its reason. Staff
accounts carry a real name, and a Chinese username logs in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.background.sender import Sender
from bot.clock import shanghai
from bot.models import AuditEntry, Broadcast, Delivery, StaffUser
from tests.console import ConsoleClient, add_staff
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer


@pytest.fixture
def config(api_config):
    return api_config


def logged_in(app, username: str = "ed", role: str = "editor") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def bind(app, console: ConsoleClient, openid: str, clock) -> str:
    """Ask the console for a code, send it from `openid` through the webhook; returns the bot's reply."""
    assert console.post("/console/account/wechat/code").status_code == 302
    code = re.search(r'data-code="(\d{6})"', console.get("/console/account").get_data(as_text=True)).group(1)
    citizen = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), openid)
    return citizen.says(f"绑定 {code}")


def draft(console: ConsoleClient) -> int:
    form = {"kind": "text", "title": "防汛提醒", "content": "明天有暴雨，请远离河道。", "audience": "all"}
    assert console.post("/console/broadcasts/compose", form).status_code == 302
    return int(re.search(r'data-broadcast="(\d+)"', console.get("/console/broadcasts").get_data(as_text=True)).group(1))


def previews(app) -> list[Delivery]:
    with app.extensions["bot"].db.session() as session:
        return list(session.scalars(select(Delivery).where(Delivery.purpose == "broadcast_preview")))


def test_a_member_binds_their_wechat_with_the_code_and_previews_go_there(app, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("o_ed_phone")
    ed = logged_in(app)
    assert 'data-bound="0"' in ed.get("/console/account").get_data(as_text=True)
    reply = bind(app, ed, "o_ed_phone", clock)
    assert "已把这个微信号绑定到管理后台账号 ed" in reply
    assert 'data-bound="1"' in ed.get("/console/account").get_data(as_text=True)
    item = draft(ed)
    page = ed.get("/console/broadcasts").get_data(as_text=True)
    assert 'name="openids"' not in page and re.search(r'name="staff" value="\d+" checked> ed', page)
    with app.extensions["bot"].db.session() as session:
        ed_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "ed"))
    ed.post(f"/console/broadcasts/{item}/preview", {"staff": str(ed_id)})
    Sender.from_bot(app.extensions["bot"]).drain()
    assert [d.channel for d in fake_wechat.sent_to("o_ed_phone")] == ["preview"]
    assert "预览 → ed：已送达" in ed.get("/console/broadcasts").get_data(as_text=True)
    with app.extensions["bot"].db.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "broadcast.preview"))
        assert entry.after == {"preview_to": ["ed"]}  # names, not openids


def test_a_wrong_or_expired_code_binds_nothing(app, clock) -> None:
    ed = logged_in(app)
    citizen = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_x")
    assert "绑定码不对或已过期" in citizen.says("绑定 000000")
    assert ed.post("/console/account/wechat/code").status_code == 302
    code = re.search(r'data-code="(\d{6})"', ed.get("/console/account").get_data(as_text=True)).group(1)
    clock.advance(minutes=31)
    assert "绑定码不对或已过期" in citizen.says(f"绑定 {code}")
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(StaffUser.wechat_openid).where(StaffUser.username == "ed")) is None


def test_a_preview_goes_only_to_bound_members_never_to_a_typed_openid(app, fake_wechat, clock) -> None:
    fake_wechat.add_user("o_someone")
    ed = logged_in(app)
    item = draft(ed)
    with app.extensions["bot"].db.session() as session:
        ed_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "ed"))
    for form in ({"openids": "o_someone"}, {"staff": str(ed_id)}, {"staff": "9999"}):  # ed is not bound yet
        ed.post(f"/console/broadcasts/{item}/preview", form)
        assert "请至少选择一位已绑定微信号的工作人员" in ed.get("/console/broadcasts").get_data(as_text=True)
    assert previews(app) == []


def test_a_failed_preview_is_shown_with_its_reason(app, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("o_ed_phone")
    ed = logged_in(app)
    bind(app, ed, "o_ed_phone", clock)
    fake_wechat.add_user("o_ed_phone", following=False)  # the member unfollowed since binding
    item = draft(ed)
    with app.extensions["bot"].db.session() as session:
        ed_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "ed"))
        assert session.get(Broadcast, item).status == "draft"
    ed.post(f"/console/broadcasts/{item}/preview", {"staff": str(ed_id)})
    Sender.from_bot(app.extensions["bot"]).drain()
    [row] = previews(app)
    assert row.status in ("failed", "undeliverable")
    page = ed.get("/console/broadcasts").get_data(as_text=True)
    result = re.search(r'<div class="hint preview-result" data-preview-status="\w+">(.*?)</div>', page, re.S).group(1)
    assert "预览 → ed：无法送达" in result and "reason-error" in result, result


def test_a_chinese_username_with_a_real_name_logs_in_and_must_change_its_password(app) -> None:
    admin = logged_in(app, "boss", "admin")
    response = admin.post("/console/staff/add", {"username": "李明", "real_name": "李明", "role": "editor"})
    password = re.search(r'id="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert "李明" in admin.get("/console/staff").get_data(as_text=True)
    li = ConsoleClient(app.test_client())
    assert li.login("李明", password).status_code == 302
    assert li.get("/console/").headers["Location"].endswith("/console/account")  # first login: own password first
    with app.extensions["bot"].db.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "李明"))
        assert user.real_name == "李明" and user.must_change_password
    for bad in ("李 明", "a", "李明<b>"):
        admin.post("/console/staff/add", {"username": bad, "role": "editor"})
        assert "用户名须为 2–32 个汉字" in admin.get("/console/staff").get_data(as_text=True), bad
    too_long = admin.post("/console/staff/add", {"username": "李" * 33, "role": "editor"})
    assert too_long.status_code == 400 and "最多 32 个字" in too_long.get_data(as_text=True)


def test_an_admin_sets_a_real_name_and_it_is_audited(app) -> None:
    admin = logged_in(app, "boss", "admin")
    wang = add_staff(app, "wang", "reviewer")
    admin.post(f"/console/staff/{wang}/real_name", {"real_name": "王芳"})
    assert 'name="real_name" value="王芳"' in admin.get("/console/staff").get_data(as_text=True)
    html = admin.get("/console/audit").get_data(as_text=True)
    assert "修改姓名" in html and "（空） → " in re.sub(r"<[^>]+>", "", html) and "王芳" in html


def test_guessing_codes_is_cut_off_after_five_wrong_ones(app, clock) -> None:
    """An attack: a citizen walks through codes to bind their WeChat to a staff account."""
    ed = logged_in(app)
    assert ed.post("/console/account/wechat/code").status_code == 302
    code = re.search(r'data-code="(\d{6})"', ed.get("/console/account").get_data(as_text=True)).group(1)
    guesser = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_guess")
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != code][:5]
    for guess in wrong:
        assert "绑定码不对或已过期" in guesser.says(f"绑定 {guess}")
    assert "次数过多" in guesser.says(f"绑定 {code}")  # even the right one, now
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(StaffUser.wechat_openid).where(StaffUser.username == "ed")) is None
    owner = Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), "o_ed_phone")
    assert "已把这个微信号绑定" in owner.says(f"绑定 {code}")  # the member's own account is not locked out


def test_an_admin_unbinds_a_members_wechat_and_the_member_sees_it(app, fake_wechat, clock) -> None:
    fake_wechat.add_user("o_ed_phone")
    ed = logged_in(app)
    bind(app, ed, "o_ed_phone", clock)
    with app.extensions["bot"].db.session() as session:
        ed_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "ed"))
    assert ed.post(f"/console/staff/{ed_id}/wechat/unbind").status_code == 403  # editors cannot
    boss = logged_in(app, "boss", "admin")
    page = boss.get("/console/staff").get_data(as_text=True)
    row = page[page.index('data-username="ed"'):]
    assert f"/console/staff/{ed_id}/wechat/unbind" in row[:row.index("</tr>")]
    assert boss.post(f"/console/staff/{ed_id}/wechat/unbind").status_code == 302
    page = boss.get("/console/staff").get_data(as_text=True)
    assert "已解除 ed 绑定的微信号" in page
    row = page[page.index('data-username="ed"'):]
    assert re.search(r'data-field="wechat">未绑定', row[:row.index("</tr>")])
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(StaffUser.wechat_openid).where(StaffUser.id == ed_id)) is None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.wechat_unbind")).one()
        assert (entry.actor, entry.target, entry.before, entry.after) == ("boss", "ed", {"wechat": True},
                                                                          {"wechat": False})
    account = ed.get("/console/account").get_data(as_text=True)
    assert 'data-bound="0" data-unbound-by="boss"' in account and "管理员 boss 已于" in account
    assert re.search(r'name="staff" value="\d+"', ed.get("/console/broadcasts").get_data(as_text=True)) is None
    # Bound again, the note is gone.
    bind(app, ed, "o_ed_phone", clock)
    assert "data-unbound-by" not in ed.get("/console/account").get_data(as_text=True)
