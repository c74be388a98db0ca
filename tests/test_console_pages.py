"""Console pages: dashboard figures equal the database, staff management, audit log, content, charts, CLI."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, text, update
from werkzeug.security import check_password_hash

from bot.clock import shanghai
from bot.console.charts import bar_chart, line_chart
from bot.models import AuditEntry, Citizen, Delivery, StaffUser
from bot.services.outbox import enqueue, text_payload
from tests.console import ConsoleClient, add_staff, figures

ROOT = Path(__file__).resolve().parent.parent


def logged_in(app, role: str = "admin", username: str = "boss") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


# --- dashboard ----------------------------------------------------------------------------------

def make_history(app, citizens, clock) -> None:
    """Followers and pushes spread over days, with some right at Shanghai midnight (UTC 16:00)."""
    steps = [("o_a", shanghai(2021, 6, 1, 10, 0), "follow"), ("o_b", shanghai(2021, 6, 2, 23, 59), "follow"),
             ("o_c", shanghai(2021, 6, 3, 0, 1), "follow"), ("o_b", shanghai(2021, 6, 3, 8, 0), "unfollow"),
             ("o_d", shanghai(2021, 6, 3, 9, 0), "text"), ("o_e", shanghai(2021, 6, 4, 0, 0), "follow")]
    for openid, moment, what in steps:
        clock.set(moment)
        person = citizens(openid)
        person.follow("poster") if what == "follow" else person.unfollow() if what == "unfollow" else person.text("你好")
    bot = app.extensions["bot"]
    with bot.db.session() as session:
        # A follower from before the campaign window and one who left long ago.
        session.add(Citizen(openid="o_old", first_seen_at=shanghai(2021, 5, 1, 9), subscribed_at=shanghai(2021, 5, 1, 9)))
        session.add(Citizen(openid="o_gone", first_seen_at=shanghai(2021, 5, 2, 9), unsubscribed_at=shanghai(2021, 6, 1, 0, 0)))
        for n, (purpose, status) in enumerate([("broadcast", "sent"), ("broadcast", "sent"), ("report_status", "failed"),
                                               ("quiz_prize", "pending"), ("report_status", "undeliverable")]):
            row = enqueue(session, key=f"k{n}", purpose=purpose, payload=text_payload("x"), now=clock.now(), openid="o_a")
            session.execute(update(Delivery).where(Delivery.id == row.id).values(status=status))
        session.commit()
    clock.set(shanghai(2021, 6, 5, 12, 0))


def expected_figure(session, key: str) -> int:
    """Count what a figure claims, in SQL written independently of the dashboard code."""
    parts = key.split(".")
    count = lambda sql, **p: session.execute(text(sql), p).scalar_one()  # noqa: E731
    if parts[0] == "followers" and len(parts) == 3:
        column = {"subscribed": "subscribed_at", "unsubscribed": "unsubscribed_at", "first_seen": "first_seen_at"}[parts[1]]
        day = dt.date.fromisoformat(parts[2])
        start = shanghai(day.year, day.month, day.day)
        return count(f"SELECT count(*) FROM citizens WHERE {column} >= :a AND {column} < :b",
                     a=start.astimezone(dt.UTC), b=(start + dt.timedelta(days=1)).astimezone(dt.UTC))
    if key == "followers.following":
        return count("SELECT count(*) FROM citizens WHERE unsubscribed_at IS NULL")
    if key == "followers.left":
        return count("SELECT count(*) FROM citizens WHERE unsubscribed_at IS NOT NULL")
    if key == "followers.total":
        return count("SELECT count(*) FROM citizens")
    if key == "notices.undelivered":
        return count("SELECT count(*) FROM deliveries WHERE openid IS NOT NULL "
                     "AND status IN ('undeliverable', 'failed')")
    if parts[0] == "deliveries" and len(parts) == 2:
        return count("SELECT count(*) FROM deliveries WHERE status = :s", s=parts[1])
    if parts[0] == "deliveries" and len(parts) == 3:
        return count("SELECT count(*) FROM deliveries WHERE purpose = :p AND status = :s", p=parts[1], s=parts[2])
    if parts[0] == "reports":
        return expected_report_figure(session, key)
    if parts[0] == "quiz":
        from tests.test_console_quiz import quiz_figure_sql

        return quiz_figure_sql(session, key)
    raise AssertionError(f"figure {key} has no independent count in this test")


def expected_report_figure(session, key: str) -> int:
    """The hazard-report panels' figures, counted in SQL written apart from the console code."""
    from tests.test_console_reports import report_figure_sql

    return report_figure_sql(session, key, shanghai(2021, 6, 5, 12, 0))  # make_history's last clock.set


def test_dashboard_figures_match_the_database(app, citizens, clock) -> None:
    make_history(app, citizens, clock)
    console = logged_in(app)
    html = console.get("/console/").get_data(as_text=True)
    shown = figures(html)
    days = sorted({k.rsplit(".", 1)[1] for k in shown if k.startswith("followers.subscribed.")})
    assert days == [f"2021-06-0{n}" for n in range(1, 6)]  # campaign start .. today
    with app.extensions["bot"].db.session() as session:
        for key, value in shown.items():
            assert int(value) == expected_figure(session, key), key
    # The midnight cases land on the right Shanghai day, and the figures are not all zero.
    assert shown["followers.subscribed.2021-06-02"] == "1"  # 23:59 on the 2nd (15:59 UTC)
    assert shown["followers.subscribed.2021-06-03"] == "1"
    assert shown["followers.subscribed.2021-06-04"] == "1"
    assert shown["followers.unsubscribed.2021-06-01"] == "1"
    assert shown["followers.following"] == "5" and shown["deliveries.sent"] == "2"
    assert shown["deliveries.broadcast.sent"] == "2" and shown["deliveries.sending"] == "0"
    assert html.count("<svg") >= 2


def test_recent_followers_show_the_scene_escaped(app, citizens) -> None:
    citizens("o_x").follow('<b id="bold">hi</b>')
    html = logged_in(app).get("/console/").get_data(as_text=True)
    assert '&lt;b id=&#34;bold&#34;&gt;hi&lt;/b&gt;' in html
    assert '<b id="bold">' not in html


def test_a_failing_panel_does_not_take_the_dashboard_down(app, monkeypatch) -> None:
    from bot.console import registry

    def broken(session, bot, now):
        raise RuntimeError("boom")

    spec = registry.PanelSpec("broken", "坏面板", "view_dashboard", 1, broken)
    monkeypatch.setattr(registry, "PANELS", [spec, *registry.PANELS])
    html = logged_in(app).get("/console/").get_data(as_text=True)
    assert "此面板暂时无法加载" in html and 'data-figure="followers.following"' in html


# --- charts -------------------------------------------------------------------------------------

def test_charts_escape_every_text() -> None:
    evil = '<script>alert(1)</script>"&'
    for svg in (bar_chart([(evil, 3), ("好", 5)], evil), line_chart([evil, "b"], [(evil, [1, 2])], evil)):
        assert "<script>" not in svg and "&lt;script&gt;" in svg
        assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_bar_chart_lengths_are_proportional() -> None:
    svg = bar_chart([("a", 2), ("b", 4)], "t")  # horizontal bars: the width is the value
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    assert widths[1] == 2 * widths[0] > 0


def test_a_single_day_is_drawn_as_bars_with_values() -> None:
    svg = line_chart(["6月1日"], [("新关注", [3]), ("取消关注", [0])], "t")
    assert "<polyline" not in svg and svg.count('data-role="value"') == 2 and ">3</text>" in svg


# --- staff management and audit -----------------------------------------------------------------

def test_admin_adds_an_account_and_sees_its_password_once(app) -> None:
    console = logged_in(app)
    response = console.post("/console/staff/add", {"username": "zhao", "role": "editor"})
    password = re.search(r'id="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert ConsoleClient(app.test_client()).login("zhao", password).status_code == 302
    with app.extensions["bot"].db.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "zhao"))
        assert user.role == "editor" and user.password_hash.startswith("scrypt:")
        assert check_password_hash(user.password_hash, password)
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.add", AuditEntry.target == "zhao"))
        assert entry.actor == "boss" and entry.after == {"username": "zhao", "real_name": "", "role": "editor",
                                                         "disabled": False}
        dumped = str([(e.before, e.after, e.note, e.target) for e in session.scalars(select(AuditEntry))])
        assert password not in dumped


def test_admin_changes_role_and_resets_password(app) -> None:
    console = logged_in(app)
    wang_id = add_staff(app, "wang", "reviewer")
    wang = ConsoleClient(app.test_client())
    wang.login("wang")
    console.post(f"/console/staff/{wang_id}/role", {"role": "editor"})
    assert wang.get("/console/").status_code == 302  # a new role means a new login
    response = console.post(f"/console/staff/{wang_id}/password")
    assert "密码已重置" in response.get_data(as_text=True)
    with app.extensions["bot"].db.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.role"))
        assert (entry.before["role"], entry.after["role"]) == ("reviewer", "editor")
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "staff.password")) == 1


def test_admin_cannot_lock_themself_out(app) -> None:
    console = logged_in(app)
    with app.extensions["bot"].db.session() as session:
        me = session.scalar(select(StaffUser.id).where(StaffUser.username == "boss"))
    console.post(f"/console/staff/{me}/disabled", {"disabled": "1"})
    assert "不能停用自己的账号" in console.get("/console/staff").get_data(as_text=True)
    console.post(f"/console/staff/{me}/role", {"role": "editor"})
    assert "不能修改自己的角色" in console.get("/console/staff").get_data(as_text=True)
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(StaffUser).where(StaffUser.id == me)).role == "admin"
        assert not session.scalar(select(StaffUser).where(StaffUser.id == me)).disabled


def test_bad_staff_input_is_explained(app) -> None:
    console = logged_in(app)
    console.post("/console/staff/add", {"username": "a b", "role": "editor"})
    assert "用户名须为" in console.get("/console/staff").get_data(as_text=True)
    console.post("/console/staff/add", {"username": "boss", "role": "editor"})
    assert "已存在" in console.get("/console/staff").get_data(as_text=True)
    console.post("/console/staff/add", {"username": "zhou", "role": "root"})
    assert "角色须为" in console.get("/console/staff").get_data(as_text=True)


def test_audit_page_filters(app, clock) -> None:
    console = logged_in(app)
    ConsoleClient(app.test_client()).login("boss", "wrong-password")
    clock.advance(days=1)
    console.login("boss")  # the day away ended the session
    console.post("/console/staff/add", {"username": "zhao", "role": "editor"})

    def total(query: str) -> int:
        html = console.get("/console/audit" + query).get_data(as_text=True)
        return int(re.search(r'id="audit-total" data-value="(\d+)"', html).group(1))

    with app.extensions["bot"].db.session() as session:
        everything = session.scalar(select(func.count()).select_from(AuditEntry))
    assert total("") == everything
    assert total("?action=login.failed") == 1
    assert total("?actor=boss&action=staff.add") == 1
    assert total("?target=zha") == 1
    assert total("?since=2021-06-02&until=2021-06-02") == 3  # idle logout, login and the new account
    assert total("?until=2021-06-01") == everything - 3
    assert total("?since=not-a-date") == everything


# --- content ------------------------------------------------------------------------------------

def test_content_page_lists_every_loaded_part(app) -> None:
    html = logged_in(app, "editor", "zhao").get("/console/content").get_data(as_text=True)
    content = app.extensions["bot"].content
    for name in content.names():
        assert f'data-part="{name}"' in html
    assert "内容由技术人员在服务器上的内容文件中修改" in html
    for township in content.townships.items:
        assert township.name in html
    # Reply texts by when they are said, not by their keys; no file names (issue 20).
    assert "关注时的欢迎语" in html and ">welcome<" not in html and "townships.toml" not in html


def test_content_parts_of_any_shape_are_described() -> None:
    import dataclasses

    from bot.console.content_page import describe

    @dataclasses.dataclass(frozen=True)
    class Event:
        id: str
        day: dt.date
        places: tuple[str, ...]

    @dataclasses.dataclass(frozen=True)
    class Events:
        items: tuple[Event, ...]
        note: str

    sections = describe("events", Events((Event("e1", dt.date(2021, 6, 1), ("城关镇", "北坡镇")),), "<b>"))
    # Fields by their Chinese labels (其他 for one without), ids left out.
    assert sections[0].title == "活动 · 条目" and sections[0].columns == ["其他", "其他"]
    assert sections[0].rows == [["2021-06-01", "城关镇、北坡镇"]]
    assert sections[1].title == "活动 · 其他" and sections[1].rows == [["<b>"]]  # plain text: the template escapes it
    assert describe("menu", {"welcome": 1})[0].rows == [["关注时的欢迎语", "1"]]
    assert describe("bank", [{"question": "?", "options": ["x", "y"]}])[0].rows == [["?", "x、y"]]
    assert describe("bank", [{"question": "?"}])[0].title == "其他内容"


# --- command line -------------------------------------------------------------------------------

def run_cli(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = os.environ | {"BOT_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "bot", "staff", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env=env)


def test_cli_manages_accounts_without_logging_passwords(app, database_url: str) -> None:
    added = run_cli(database_url, "add", "boss", "--role", "admin")
    assert added.returncode == 0, added.stderr
    password = added.stdout.strip().rsplit(" ", 1)[-1]
    assert len(password) >= 10 and password not in added.stderr
    assert ConsoleClient(app.test_client()).login("boss", password).status_code == 302
    changed = run_cli(database_url, "passwd", "boss", "--password-stdin", stdin="a-new-long-password\n")
    assert changed.returncode == 0 and "a-new-long-password" not in changed.stdout + changed.stderr
    assert ConsoleClient(app.test_client()).login("boss", "a-new-long-password").status_code == 302
    assert run_cli(database_url, "add", "boss", "--role", "admin").returncode == 1
    assert run_cli(database_url, "passwd", "boss", "--password-stdin", stdin="short\n").returncode == 1
    assert run_cli(database_url, "disable", "boss").returncode == 0
    listed = run_cli(database_url, "list")
    assert "boss\tadmin\tdisabled" in listed.stdout
    assert ConsoleClient(app.test_client()).login("boss", "a-new-long-password").status_code == 401
    with app.extensions["bot"].db.session() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "cli").order_by(AuditEntry.id)))
    assert actions == ["staff.add", "staff.password", "staff.disable"]


def test_staff_change_their_own_password(app) -> None:
    from tests.console import PASSWORD

    console = logged_in(app, "reviewer", "wang")
    elsewhere = ConsoleClient(app.test_client())
    elsewhere.login("wang")
    for form, problem in [({"current": "wrong-one-here", "new": "n" * 12, "repeat": "n" * 12}, "当前密码不正确"),
                          ({"current": PASSWORD, "new": "n" * 12, "repeat": "m" * 12}, "不一致"),
                          ({"current": PASSWORD, "new": "short", "repeat": "short"}, "至少")]:
        console.post("/console/account/password", form)
        assert problem in console.get("/console/account").get_data(as_text=True)
    new = "Lantern-Quarry-2021-night"
    response = console.post("/console/account/password", {"current": PASSWORD, "new": new, "repeat": new})
    assert response.headers["Location"] == "/console/"
    assert console.get("/console/").status_code == 200  # this session goes on ...
    assert elsewhere.get("/console/").status_code == 302  # ... the other one ended
    assert ConsoleClient(app.test_client()).login("wang", new).status_code == 302
    with app.extensions["bot"].db.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.password"))
        assert (entry.actor, entry.target) == ("wang", "wang")
