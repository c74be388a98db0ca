"""Every console page walked in Debian's chromium as an editor, a reviewer and an admin (issue 20,
"everything in Chinese"), over a console seeded with the text staff rarely see: WeChat's token
endpoint refusing (senders paused), a photo WeChat said was an invalid media_id and one that expired,
an outbox row whose delivery is uncertain, an audit entry of every audited action, each form
submitted with a bad value, and the error pages.

On each page the text the browser renders (document.body.innerText, tooltips and placeholders) must
hold no English and no internal names (the rule of tests/test_console_chinese.py: an ASCII word
passes only if it is on its short allow-list or is data the seed put there), no JSON braces, and
what the seed makes the page say; every link and form on the page is one the role may use (editors
edit, reviewers read, admins everything). Each page is screenshotted as tests/artifacts/walk-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update
from werkzeug.exceptions import MethodNotAllowed, NotFound

from bot.background.sender import Sender
from bot.console.access import can
from bot.models import AuditEntry, Delivery, QuizPrize, Report, ReportPhoto, StaffUser
from bot.services import keys, staff_wechat
from bot.services.outbox import enqueue, text_payload
from bot.services.quiz import claims
from tests.browser.test_console_browser import log_in
from tests.console import PASSWORD, ConsoleClient, add_staff
from tests.console_seed import ADMIN, OPENIDS, act, seed, triage
from tests.reports_helpers import file_report
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.test_console_calendar import form_of
from tests.test_console_chinese import content_words, internal_words, seeded_words
from tests.wechat import Citizen, WeChatServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
USERS = {"editor": "ed", "reviewer": "li", "admin": ADMIN}
EVENT, PLAN_ITEM = "lecture-beipo", "case-ebike-fire"  # both still ahead on June 3
LONG = "长" * 1001  # over every field's cap (the console's default cap is 1000)
# Beside the allow-list of tests/test_console_chinese.py: the platform's own name for 开发者密码, shown next to it.
ALSO_ALLOWED = {"AppSecret"}

# (role, address, what the seed makes the page say). {ticket} is the report with the failed photos,
# {first} the one triaged through the console.
PAGES = [
    ("editor", "/console/", "已暂停发送"),  # WeChat's token endpoint refused: senders paused
    ("editor", "/console/broadcasts", "已取消"),
    ("editor", "/console/broadcasts/2/edit", "保存"),
    ("editor", "/console/calendar", "活动日历"),
    ("editor", "/console/calendar/new", "保存"),
    ("editor", f"/console/calendar/{EVENT}/edit", "保存"),
    ("editor", "/console/plan", "推送内容"),
    ("editor", "/console/plan/new", "保存"),
    ("editor", f"/console/plan/{PLAN_ITEM}/edit", "保存"),
    ("editor", "/console/schedule", "已暂停"),  # the push-plan job paused with a reason
    ("editor", "/console/quiz", "有奖答题"),
    ("editor", "/console/quiz/draws", "第一周答题抽奖"),
    ("editor", "/console/quiz/draws/1", "家用灭火器一具"),
    ("editor", "/console/quiz/draws/1/verify", "第一周答题抽奖"),
    ("editor", "/console/content", "内容"),
    ("editor", "/console/account", "我的账号"),
    ("editor", "/console/notices/undelivered", "无法送达"),
    ("reviewer", "/console/", "已暂停发送"),
    ("reviewer", "/console/reports", "隐患举报"),
    ("reviewer", "/console/reports/{ticket}", "媒体编号无效"),  # 40007 invalid media_id, in Chinese
    ("reviewer", "/console/reports/{ticket}", "已过期"),  # the photo WeChat dropped after 3 days
    ("reviewer", "/console/reports/{first}", "暂缓发送"),  # its notices wait out the token pause
    ("reviewer", "/console/calendar", "活动日历"),
    ("reviewer", "/console/plan", "推送内容"),
    ("reviewer", "/console/content", "内容"),
    ("reviewer", "/console/account", "我的账号"),
    ("reviewer", "/console/notices/undelivered", "无法送达"),
    ("admin", "/console/", "不确定是否送达"),  # the outbox row whose delivery is uncertain
    ("admin", "/console/staff", "人员管理"),
    ("admin", "/console/audit", "服务器命令行"),  # the key rotation, run on the server
    ("admin", "/console/audit?page=2", "操作日志"),
    ("admin", "/console/reports/{ticket}", "查看举报人"),
]

# (role, page, form, {field: bad value}, what the answer says). Browser-side checks (maxlength,
# required) are taken off first, as a client that ignores them would.
FORMS = [
    ("editor", "/console/broadcasts", "#compose", {"title": "长" * 65}, "最多 64 个字"),
    ("editor", "/console/broadcasts", "#compose", {"title": "防汛", "content": ""}, "未保存"),
    ("editor", f"/console/calendar/{EVENT}/edit", "#event-form", {"start_day": "2021-06-31"}, "日期"),
    ("editor", f"/console/calendar/{EVENT}/edit", "#event-form", {"place": LONG}, "最多"),
    ("editor", f"/console/calendar/{EVENT}/edit", "#event-form", {"title": ""}, "不能为空"),
    ("editor", f"/console/plan/{PLAN_ITEM}/edit", "#push-form", {"when_day": "6月31日"}, "日期"),
    ("editor", f"/console/plan/{PLAN_ITEM}/edit", "#push-form", {"title": "长" * 33}, "最多 32 个字"),
    ("editor", "/console/quiz/draws", "#create-form", {"title": "第二周", "prize": "灭火器", "start": "2021-02-30"},
     "日期"),
    ("editor", "/console/schedule", "tr[data-job=overdue_reports] form", {"reason": "长" * 201}, "最多 200 个字"),
    ("editor", "/console/account", "#change-password", {"current": PASSWORD, "new": "123", "repeat": "123"}, "密码"),
    ("reviewer", "/console/reports/{ticket}", "#note-form", {"text": ""}, "备注不能为空"),
    ("reviewer", "/console/reports/{ticket}", "#reply-form", {"text": "长" * 501}, "最多 500 个字"),
    ("reviewer", "/console/reports", "#report-filter", {"since": "2021-02-30"}, "“从”的日期看不懂"),
    ("admin", "/console/staff", "#add-staff", {"username": "a b!"}, "用户名"),
    ("admin", "/console/staff", "tr[data-username=wang] form[action$=real_name]", {"real_name": "长" * 33}, "最多 32 个字"),
    ("admin", "/console/audit", "#audit-filter", {"since": "昨天"}, "“从”的日期看不懂"),
    ("admin", "/console/reports/{ticket}", "#reveal-form", {"reason": ""}, "理由"),
]

# (role, how the page is reached, status, what it says). "anonymous" is a browser not logged in.
ERROR_PAGES = [
    ("editor", "/console/no-such-page", 404, "页面不存在"),
    ("editor", "/console/staff/add", 405, "操作方式不对"),  # a form's address opened as a page
    ("reviewer", "/console/staff", 403, "没有权限"),
    ("editor", "oversized form", 413, "提交的内容太大"),
    ("anonymous", "wrong passwords", 429, "登录失败次数过多"),
    ("admin", "crash", 500, "系统暂时出错"),
]


def visible_text(page: Any) -> str:
    """What the browser shows: rendered text, plus tooltips, placeholders and labels read aloud."""
    return page.evaluate("() => document.body.innerText + '\\n' + Array.from(document.querySelectorAll("
                         "'svg title, [title], [placeholder], [aria-label], [data-confirm]')).map(e => "
                         "['title', 'placeholder', 'aria-label', 'data-confirm'].map(a => e.getAttribute(a) || '')"
                         ".join(' ') + ' ' + (e.tagName === 'title' ? e.textContent : '')).join('\\n')")


def offered(page: Any) -> list[tuple[str, str]]:
    """(method, path) of every link and form on the page."""
    return [tuple(pair) for pair in page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href]')).map(a => ['GET', a.href]).concat("
        "Array.from(document.querySelectorAll('form')).map(f => [(f.getAttribute('method') || 'get').toUpperCase(),"
        " f.action]))")]


def refused_offers(app: Any, role: str, page: Any) -> list[str]:
    """The links and forms on the page that lead to an action the role does not have. (That the
    server refuses them is tested in tests/test_console_access.py; this is what the role is shown.)"""
    adapter = app.url_map.bind("localhost")
    refused = []
    for method, url in offered(page):
        path = urlsplit(url).path
        try:
            endpoint, _ = adapter.match(path, method=method)
        except (NotFound, MethodNotAllowed):
            continue
        action = getattr(app.view_functions[endpoint], "required_action", None)
        if action is not None and not can(role, action):
            refused.append(f"{method} {path}")
    return refused


class Walk:
    """The seeded console and a logged-in browser page per role; `look` checks one page."""

    def __init__(self, app: Any, live_server: str, new_page: Any, screenshot: Any, data: set[str],
                 tickets: tuple[str, str]) -> None:
        self.app, self.base, self.screenshot, self.data = app, live_server, screenshot, data
        self.first, self.ticket = tickets
        self.pages: dict[str, Any] = {}
        self.new_page = new_page
        self.leaks: dict[str, list[str]] = {}

    def page(self, role: str) -> Any:
        if role not in self.pages:
            page = self.new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            log_in(page, self.base, USERS[role])
            page.wait_for_url(f"{self.base}/console/")
            self.pages[role] = page
        return self.pages[role]

    def url(self, path: str) -> str:
        return self.base + path.format(ticket=self.ticket, first=self.first)

    def assert_clean(self) -> None:
        """One line per page that showed English, internal names or controls its role may not use."""
        if self.leaks:
            pytest.fail("\n".join(f"{where}: {problems}" for where, problems in self.leaks.items()), pytrace=False)

    def look(self, role: str, where: str, page: Any, expected: str) -> str:
        """Record what is wrong with the page as shown now; return its text."""
        page.wait_for_load_state("networkidle")
        text = visible_text(page)
        problems = sorted(set(internal_words(f"<p>{text.replace('<', ' ')}</p>", self.data)))
        problems += [f"JSON {brace!r}" for brace in "{}" if brace in text]
        if expected not in text:
            problems.append(f"missing {expected!r}")
        problems += [f"offers {offer}" for offer in refused_offers(self.app, role, page)]
        if problems:
            self.leaks[f"{role} {where}"] = problems
        name = re.sub(r"[^a-z0-9]+", "-", f"walk-{role}-{where}".lower()).strip("-")
        self.screenshot(page, name)
        return text


@pytest.fixture
def config(api_config):
    return api_config


def audited_actions() -> set[str]:
    """Every action the code audits, read from its audit-writing calls: `audit(session, actor, "x")`
    in the services, `record("x")` (or `partial(record, "x")`) in console views, `action="x"` given
    to the two that call it."""
    calls = re.compile(r'(?<![\w.])(?:audit\([^,]+,[^,]+,|record\(|partial\(record,|_act\(ticket,)\s*"([a-z_.]+)"'
                       r'(?: if \w+ else "([a-z_.]+)")?|action="([a-z_]+\.[a-z_.]+)"'
                       r'|_ACTION\w*(?:, \w+)* = ((?:"[a-z_.]+"(?:, )?)+)')
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for match in calls.finditer(path.read_text(encoding="utf-8")):
            for group in match.groups():
                found.update(re.findall(r"[a-z_.]+", group or ""))
    return found


def test_audited_actions_are_found_in_the_code() -> None:
    actions = audited_actions()
    assert {"login", "logout", "staff.enable", "staff.disable", "event.add", "keys.rotate.begin", "report.status",
            "broadcast.refused", "quiz.prize.contact_denied"} <= actions
    assert len(actions) >= 45 and all(re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", a) for a in actions)


def file_report_with_lost_photos(app: Any, clock: Any) -> str:
    """A report whose first photo WeChat refused as an invalid media_id and whose second expired."""
    server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)
    ticket, _ = file_report(Citizen(server, OPENIDS[1]), photos=2)
    with app.extensions["bot"].db.session() as session:
        report_id = session.scalar(select(Report.id).where(Report.ticket == ticket))
        photos = session.scalars(select(ReportPhoto.id).where(ReportPhoto.report_id == report_id)
                                 .order_by(ReportPhoto.id)).all()
        for photo_id, status, error in zip(photos, ("failed", "expired"), (
                "40007 invalid media_id rid: 60b8c0f1-1e9a6f2d-3b5c7a11",
                "-1 system error; WeChat media expired (3 days) before it could be downloaded"), strict=True):
            session.execute(update(ReportPhoto).where(ReportPhoto.id == photo_id).values(
                status=status, last_error=error, attempts=3))
        session.commit()
    return ticket


def pause_senders(app: Any, fake_wechat: Any, clock: Any) -> None:
    """An outbox row WeChat may or may not have received, and the token endpoint refusing (the
    AppSecret was reset on the platform), so every sender pauses."""
    bot = app.extensions["bot"]
    with bot.db.session() as session:
        row = enqueue(session, key="walk:uncertain", purpose="report_status", payload=text_payload("进度"),
                      now=clock.now(), openid=OPENIDS[2])
        session.execute(update(Delivery).where(Delivery.id == row.id).values(
            status="uncertain", last_error="read timed out after the request was sent"))
        enqueue(session, key="walk:paused", purpose="report_reply", payload=text_payload("回复"), now=clock.now(),
                openid=OPENIDS[0])
        session.commit()
    fake_wechat.app_secret = "reset-on-the-platform"
    Sender.from_bot(bot).drain()


def base_of(console: ConsoleClient, edit_page: str) -> str:
    return form_of(console, edit_page)["base"]


def client(app: Any, username: str) -> ConsoleClient:
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def audit_everything(app: Any, clock: Any, ticket: str) -> list[str]:
    """Each audited action done once, through the console where a form does it; returns the pages
    the actions answered with."""
    bot = app.extensions["bot"]
    ed, boss, li = client(app, "ed"), client(app, ADMIN), client(app, "li")
    answers: list[str] = []
    event_form, item_form = form_of(ed, f"/console/calendar/{EVENT}/edit"), form_of(ed, f"/console/plan/{PLAN_ITEM}/edit")
    with bot.db.session() as session:
        wang = session.scalar(select(StaffUser).where(StaffUser.username == "wang"))
        boss_user = session.scalar(select(StaffUser).where(StaffUser.username == ADMIN))
        staff_wechat.bind(session, staff_wechat.new_code(session, boss_user, clock.now()), "oStaffBoss0123456789ab",
                          clock.now())
        winner = session.scalar(select(QuizPrize.openid).where(QuizPrize.id == 1))
        claims.claim_prizes(session, bot.vault, winner, name="赵六", phone="13912345678", now=clock.now())
        session.commit()
        wang_id, boss_id = wang.id, boss_user.id
    steps = [
        (ed, "/console/broadcasts/compose", {"kind": "text", "title": "临时通知", "content": "今晚检修。", "audience": "all"}),
        (ed, "/console/broadcasts/3/update", {"kind": "text", "title": "临时通知（改）", "content": "今晚检修。",
                                              "audience": "all"}),
        (ed, "/console/broadcasts/3/delete", {}),
        (ed, "/console/broadcasts/2/preview", {"staff": str(boss_id)}),
        (ed, "/console/broadcasts/2/send", {"at": "2021-06-04 09:00"}),  # a day the push plan leaves free
        (ed, "/console/broadcasts/2/cancel", {}),
        (ed, "/console/schedule/plan/case-hazchem/resume", {}),
        (ed, "/console/quiz/rounds/3/review", {"verdict": "keep"}),
        (ed, "/console/quiz/draws/1/entries", {}),
        (ed, "/console/quiz/prizes/1/contact", {}),
        (ed, "/console/quiz/prizes/1/deliver", {}),
        (ed, "/console/quiz/prizes/1/contact", {}),  # delivered: the winner is not called again
        (ed, f"/console/calendar/{EVENT}/edit", event_form | {"place": "县应急管理局三楼报告厅"}),
        (ed, "/console/calendar/new", {"id": "drill-fire-market", "title": "农贸市场消防疏散演练", "kind": "drill",
                                       "start_day": "2021-06-07", "start_time": "09:00", "end_time": "10:00",
                                       "place": "城关镇农贸市场", "township": "chengguan",
                                       "description": "市场商户和顾客参加的消防疏散演练。"}),
        (ed, "/console/calendar/drill-fire-market/cancel", lambda: {"base": base_of(ed, "/console/calendar/drill-fire-market/edit"), "reason": "场地维修"}),
        (ed, f"/console/plan/{PLAN_ITEM}/edit", item_form | {"title": "有限空间作业事故警示"}),
        (ed, "/console/plan/new", {"id": "case-new", "when_day": "2021-06-04", "when_time": "20:00", "audience": "all",
                                   "kind": "case", "title": "新案例", "digest": "摘要", "body": "正文第一段。",
                                   "cover": "covers/case.jpg"}),
        (ed, "/console/plan/case-new/cancel", lambda: {"base": base_of(ed, "/console/plan/case-new/edit")}),
        (boss, f"/console/reports/{ticket}/township", {"township": "chengguan"}),
        (boss, f"/console/reports/{ticket}/status", {"to": "verifying"}),
        (boss, f"/console/reports/{ticket}/status", {"to": "rectified", "note": "已整改"}),
        (boss, f"/console/reports/{ticket}/reward", {"eligible": "1", "amount": "50", "note": "线索属实"}),
        (boss, f"/console/reports/{ticket}/reveal", {"reason": "核实现场需要联系举报人"}),
        (boss, "/console/reports/export", {"format": "xlsx", "category": "fire"}),
        (boss, "/console/reports/export/identity", {"format": "csv", "reason": "移交公安", "confirm": "1"}),
        (li, f"/console/reports/{ticket}/reveal", {"reason": "想看看"}),
        (li, "/console/reports/export/identity", {"format": "csv", "reason": "想看看", "confirm": "1"}),
        (boss, f"/console/staff/{wang_id}/role", {"role": "reviewer"}),
        (boss, f"/console/staff/{wang_id}/real_name", {"real_name": "王五"}),
        (boss, f"/console/staff/{wang_id}/password", {}),
        (boss, f"/console/staff/{wang_id}/disabled", {"disabled": "1"}),
        (boss, f"/console/staff/{wang_id}/disabled", {"disabled": "0"}),
        (boss, f"/console/staff/{boss_id}/wechat/unbind", {}),
    ]
    for console, path, data in steps:
        response = console.post(path, data() if callable(data) else data)
        assert response.status_code in (200, 302, 403), (path, response.get_data(as_text=True)[-1500:])
        if response.status_code == 302:
            answers.append(console.get(response.headers["Location"]).get_data(as_text=True))
    for _ in range(bot.config.console.login_attempts + 1):  # wrong passwords: failed, then locked out
        ConsoleClient(app.test_client()).login("wang", "wrong-password")
    assert boss.post(f"/console/staff/{wang_id}/unlock").status_code == 302
    client(app, "wang2").logout()
    idle = client(app, "ed")
    clock.advance(minutes=bot.config.console.idle_minutes + 1)
    idle.get("/console/")
    clock.advance(minutes=-bot.config.console.idle_minutes - 1)
    keys.rotate(bot.db, bot.vault, clock.now())
    return answers


@pytest.fixture
def walk(app, clock, fake_wechat, live_server, new_page, screenshot) -> Walk:
    console = seed(app, clock)
    answers = act(console)
    with app.extensions["bot"].db.session() as session:
        first = session.scalar(select(Report.ticket))
    answers += triage(console, first)
    add_staff(app, "ed", "editor")
    add_staff(app, "li", "reviewer")
    add_staff(app, "wang2", "editor")
    ticket = file_report_with_lost_photos(app, clock)
    answers += audit_everything(app, clock, first)
    pause_senders(app, fake_wechat, clock)
    passwords = set(re.findall(r'id="new-password">([^<]+)<', "".join(answers)))
    data = seeded_words(set(OPENIDS) | set(USERS.values()) | {"wang", "wang2", "test", "poster"} | passwords)
    return Walk(app, live_server, new_page, screenshot, data | content_words() | ALSO_ALLOWED, (first, ticket))


def test_every_page_as_each_role_reads_in_chinese(walk) -> None:
    for role, path, expected in PAGES:
        page = walk.page(role)
        response = page.goto(walk.url(path))
        assert response.status == 200, (role, path, response.status)
        walk.look(role, path, page, expected)
    walk.assert_clean()


def test_every_audited_action_is_named_with_its_changes(walk) -> None:
    with walk.app.extensions["bot"].db.session() as session:
        written = set(session.scalars(select(AuditEntry.action).distinct()))
    assert audited_actions() - written == set()  # the seed writes an entry of every action the code audits
    page = walk.page("admin")
    shown: dict[str, set[str]] = {}
    for number in (1, 2):  # 50 entries a page
        page.goto(walk.url(f"/console/audit?page={number}"))
        walk.look("admin", f"audit-{number}", page, "操作日志")
        for action, label in page.evaluate("() => Array.from(document.querySelectorAll('#audit-table tr[data-action]'))"
                                           ".map(r => [r.dataset.action, r.cells[2].innerText])"):
            shown.setdefault(action, set()).add(label)
    assert set(shown) == written
    assert {action: labels for action, labels in shown.items() if "其他操作" in labels} == {}
    walk.assert_clean()


def test_form_errors_read_in_chinese(walk) -> None:
    for role, path, form, values, expected in FORMS:
        page = walk.page(role)
        page.goto(walk.url(path))
        target = page.locator(form).first
        target.evaluate("f => { f.noValidate = true; f.querySelectorAll('[maxlength], [required], [pattern]').forEach("
                        "e => { e.removeAttribute('maxlength'); e.removeAttribute('required'); "
                        "e.removeAttribute('pattern'); }); }")
        for name, value in values.items():
            target.locator(f"[name={name}]").fill(value)
        with page.expect_navigation():
            target.locator("button[type=submit], button:not([type])").first.click()
        walk.look(role, f"{path} {form} {'+'.join(values)}", page, expected)
    walk.assert_clean()


def reach(walk: Walk, role: str, how: str) -> Any:
    """Open an error page the way staff would meet it; returns the browser's response."""
    app, page = walk.app, walk.page(role) if role != "anonymous" else walk.new_page()
    if how.startswith("/"):
        return page.goto(walk.url(how))
    if how == "oversized form":  # a note pasted far beyond any form's size, posted with a valid token
        page.goto(walk.url("/console/account"))
        with page.expect_navigation() as answer:
            page.evaluate("() => { const form = document.querySelector('#change-password');"
                          " const note = document.createElement('textarea'); note.name = 'note';"
                          " note.value = '字'.repeat(70000); form.appendChild(note); form.noValidate = true;"
                          " form.submit(); }")
        return answer.value
    if how == "wrong passwords":
        for _ in range(app.extensions["bot"].config.console.login_attempts + 1):
            page.goto(walk.url("/console/login"))
            page.fill("input[name=username]", "wang2")
            page.fill("input[name=password]", "not-the-password")
            with page.expect_navigation() as answer:
                page.click("button[type=submit]")
        return answer.value
    assert how == "crash"
    view, testing = app.view_functions["console.quiz_overview"], app.testing

    def crash() -> str:
        raise RuntimeError("boom: a bug staff must not read")

    app.testing = False  # answered as in production, not raised into the test
    app.view_functions["console.quiz_overview"] = crash
    try:
        return page.goto(walk.url("/console/quiz"))
    finally:
        app.view_functions["console.quiz_overview"], app.testing = view, testing


def test_error_pages_read_in_chinese_with_a_way_back(walk) -> None:
    for role, how, status, expected in ERROR_PAGES:
        page = walk.page(role) if role != "anonymous" else None
        response = reach(walk, role, how)
        assert response.status == status, (role, how, response.status)
        page = page or response.frame.page
        walk.look(role, f"error-{status}", page, expected)
        if status != 429:  # the login page is its own way back
            assert page.locator("main a[href^='/'], a[data-back]").count() >= 1, (how, "no way back")
    walk.assert_clean()
