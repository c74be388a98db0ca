"""The console's quiz pages: per-question correct rates and rounds per day equal the database, flagged
rounds reviewed (audited), draws created with the commitment shown before the reveal, revealed,
verified (and tampering caught), prizes marked delivered, wrong input refused in Chinese with nothing
changed, reviewers kept out, CSRF required, citizens' text escaped, dashboard panels equal SQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from bot.clock import shanghai
from bot.models import AuditEntry, Delivery
from bot.models.quiz import QuizAnswer, QuizBest, QuizDraw, QuizDrawEntry, QuizPrize, QuizRound
from bot.services.quiz import claims, draws
from bot.services.reports.identity import vault_for
from tests.console import ConsoleClient, add_staff, figures

JUNE1, JUNE2, JUNE3 = dt.date(2021, 6, 1), dt.date(2021, 6, 2), dt.date(2021, 6, 3)
_keys = itertools.count()


@pytest.fixture(autouse=True)
def fresh_keys() -> None:
    """Each test numbers its rows (keys, start minutes) from 0, whatever ran before it."""
    global _keys
    _keys = itertools.count()


def logged_in(app, role: str = "editor", username: str = "ed") -> ConsoleClient:
    add_staff(app, username, role)
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def add_round(session, openid: str, day: dt.date, *, score: int = 5, counted: bool = True,
              status: str = "finished", flagged: bool = False) -> QuizRound:
    """A round as the webhook leaves it (5 questions, 60 seconds), written straight to the DB."""
    start = shanghai(day.year, day.month, day.day, 10, 0) + dt.timedelta(minutes=next(_keys))
    finished = status == "finished"
    rnd = QuizRound(openid=openid, start_key=f"start-{next(_keys)}", day=day, counted=counted, status=status,
                    question_ids=["q1", "q2", "q3", "q4", "q5"], position=5 if finished else 2, score=score, total=5,
                    started_at=start, last_activity_at=start + dt.timedelta(seconds=60),
                    finished_at=start + dt.timedelta(seconds=60) if finished else None,
                    duration_seconds=(3 if flagged else 60) if finished else None, flagged=flagged,
                    flag_reason="5题用时3秒，少于10秒" if flagged else None)
    session.add(rnd)
    session.flush()
    return rnd


def add_answers(session, rnd: QuizRound, question_id: str, marks: str) -> None:
    """One answer per mark to `question_id` in round `rnd`: r = right, w = wrong."""
    for mark in marks:
        position = next(_keys)
        session.add(QuizAnswer(round_id=rnd.id, position=position, question_id=question_id, given="A",
                               correct=mark == "r", answered_at=rnd.started_at, message_key=f"msg-{position}"))
    session.flush()


def quiz_figure_sql(session, key: str) -> int:
    """What a quiz.* figure claims, counted in plain SQL written apart from the console code."""
    def count(sql: str, **params: object) -> int:
        statement = sa.text(sql)
        if "d" in params:  # a date compares as a date on PostgreSQL and as ISO text on SQLite
            statement = statement.bindparams(sa.bindparam("d", type_=sa.Date))
        return session.execute(statement, params).scalar_one()

    scored = "status = 'finished' AND counted AND NOT flagged"
    parts = key.split(".")
    if len(parts) == 3 and parts[1] in ("participants", "counted", "practice"):
        day = dt.date.fromisoformat(parts[2])
        return count({"participants": "SELECT count(DISTINCT openid) FROM quiz_rounds WHERE day = :d",
                      "counted": "SELECT count(*) FROM quiz_rounds WHERE day = :d AND counted",
                      "practice": "SELECT count(*) FROM quiz_rounds WHERE day = :d AND NOT counted"}[parts[1]], d=day)
    if len(parts) == 3 and parts[1] in ("answered", "correct"):
        extra = " AND correct" if parts[1] == "correct" else ""
        return count(f"SELECT count(*) FROM quiz_answers WHERE question_id = :q{extra}", q=parts[2])
    if len(parts) == 3 and parts[1] == "score":
        return count(f"SELECT count(*) FROM quiz_rounds WHERE {scored} AND score = :s", s=int(parts[2]))
    return count({"quiz.participants": "SELECT count(DISTINCT openid) FROM quiz_rounds",
                  "quiz.counted": "SELECT count(*) FROM quiz_rounds WHERE counted",
                  "quiz.practice": "SELECT count(*) FROM quiz_rounds WHERE NOT counted",
                  "quiz.finished": f"SELECT count(*) FROM quiz_rounds WHERE {scored}",
                  "quiz.full_marks": f"SELECT count(*) FROM quiz_rounds WHERE {scored} AND score = total",
                  "quiz.flagged": "SELECT count(*) FROM quiz_rounds WHERE flagged AND flag_reviewed_at IS NULL",
                  }[key])


def audits(app, prefix: str = "quiz.") -> list[AuditEntry]:
    with app.extensions["bot"].db.session() as session:
        return [a for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id)) if a.action.startswith(prefix)]


# --- the quiz page and the dashboard --------------------------------------------------------------

def test_question_rates_hardest_first(app) -> None:
    bank = app.extensions["bot"].content.quiz
    q1, q2, q3 = (q.id for q in bank.questions[:3])
    with app.extensions["bot"].db.session() as session:
        rnd = add_round(session, "o_a", JUNE1)
        add_answers(session, rnd, q1, "rww")
        add_answers(session, rnd, q2, "rr")
        add_answers(session, rnd, q3, "wwww")
        add_answers(session, add_round(session, "o_b", JUNE1, counted=False), "retired-001", "r")
        session.commit()
    html = logged_in(app).get("/console/quiz").get_data(as_text=True)
    order = re.findall(r'<tr data-question="([^"]+)"', html)
    # 0 %, 33.3 %, then 100 % twice (the more answered first), then the never answered in bank order.
    assert order[:4] == [q3, q1, q2, "retired-001"]
    assert order[4:] == [q.id for q in bank.questions[3:]]
    rates = dict(re.findall(r'<tr data-question="([^"]+)".*?data-field="rate">([^<]+)<', html, re.S))
    assert (rates[q3], rates[q1], rates[q2], rates["retired-001"]) == ("0.0%", "33.3%", "100.0%", "100.0%")
    assert rates[bank.questions[5].id] == "—"
    assert re.search(rf'<tr data-question="{q3}" class="hard">', html)
    assert re.search(rf'<tr data-question="{q2}" class="">', html)
    assert "（已从题库删除）" in html and bank.questions[0].text in html
    shown = figures(html)
    assert (shown[f"quiz.answered.{q1}"], shown[f"quiz.correct.{q1}"]) == ("3", "1")
    with app.extensions["bot"].db.session() as session:
        for key, value in shown.items():
            assert int(value) == quiz_figure_sql(session, key), key


def seed_days(app) -> None:
    """Rounds on four days: counted and practice, finished, active, abandoned, flagged, before the campaign."""
    with app.extensions["bot"].db.session() as session:
        add_round(session, "o_a", JUNE1)
        add_round(session, "o_a", JUNE1, score=3, counted=False)
        add_round(session, "o_b", JUNE1, status="active", score=1)
        add_round(session, "o_a", JUNE2, score=4)
        add_round(session, "o_c", JUNE2, flagged=True)
        add_round(session, "o_c", JUNE2, score=0, counted=False)
        add_round(session, "o_b", JUNE3, counted=False, status="abandoned", score=2)
        add_round(session, "o_d", dt.date(2021, 5, 31), counted=False, score=5)
        session.commit()


def test_rounds_per_day_equal_the_database(app, clock) -> None:
    seed_days(app)
    clock.set(shanghai(2021, 6, 4, 12, 0))
    shown = figures(logged_in(app).get("/console/quiz").get_data(as_text=True))
    days = {k: v for k, v in shown.items() if k.split(".")[1] in ("counted", "practice", "participants")}
    assert days["quiz.counted.2021-06-01"] == "2" and days["quiz.practice.2021-06-01"] == "1"
    assert days["quiz.participants.2021-06-01"] == "2" and days["quiz.participants.2021-06-02"] == "2"
    assert days["quiz.counted.2021-06-03"] == "0" and days["quiz.practice.2021-05-31"] == "1"
    assert len(days) == 4 * 3
    with app.extensions["bot"].db.session() as session:
        for key, value in days.items():
            assert int(value) == quiz_figure_sql(session, key), key


def test_dashboard_quiz_panels_equal_the_database(app, clock) -> None:
    seed_days(app)
    clock.set(shanghai(2021, 6, 4, 12, 0))
    html = logged_in(app).get("/console/").get_data(as_text=True)
    shown = {k: v for k, v in figures(html).items() if k.startswith("quiz.")}
    assert 'data-panel="quiz_participation"' in html and 'data-panel="quiz_scores"' in html
    assert re.search(r'data-panel="quiz_participation">.*?<svg', html, re.S)
    assert re.search(r'data-panel="quiz_scores">.*?<svg', html, re.S)
    # The campaign so far (June 1 to 4), every day also at zero; May 31 only in the totals.
    assert sorted(k.rsplit(".", 1)[1] for k in shown if k.startswith("quiz.counted.")) == [
        "2021-06-01", "2021-06-02", "2021-06-03", "2021-06-04"]
    assert (shown["quiz.participants"], shown["quiz.counted"], shown["quiz.practice"]) == ("4", "4", "4")
    assert (shown["quiz.finished"], shown["quiz.full_marks"], shown["quiz.flagged"]) == ("2", "1", "1")
    assert (shown["quiz.score.5"], shown["quiz.score.4"], shown["quiz.score.0"]) == ("1", "1", "0")
    assert sorted(int(k.rsplit(".", 1)[1]) for k in shown if k.startswith("quiz.score.")) == list(range(6))
    with app.extensions["bot"].db.session() as session:
        for key, value in shown.items():
            assert int(value) == quiz_figure_sql(session, key), key


def test_reviewer_sees_no_quiz_panels_and_no_quiz_pages(app) -> None:
    console = logged_in(app, "reviewer", "li")
    html = console.get("/console/").get_data(as_text=True)
    assert "quiz" not in "".join(figures(html)) and 'data-panel="quiz_' not in html
    with app.extensions["bot"].db.session() as session:
        rnd = add_round(session, "o_a", JUNE1, flagged=True)
        session.commit()
    for url in ("/console/quiz", "/console/quiz/draws", "/console/quiz/draws/1", "/console/quiz/draws/1/verify"):
        response = console.get(url)
        assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True), url
    for url, form in ((f"/console/quiz/rounds/{rnd.id}/review", {"verdict": "clear"}),
                      ("/console/quiz/draws/create", {"title": "t", "prize": "p", "winners": "1",
                                                      "start": "2021-06-01", "end": "2021-06-01"}),
                      ("/console/quiz/draws/1/reveal", {}), ("/console/quiz/prizes/1/deliver", {}),
                      ("/console/quiz/draws/1/entries", {})):
        assert console.post(url, form).status_code == 403, url
    with app.extensions["bot"].db.session() as session:
        assert session.get(QuizRound, rnd.id).flag_reviewed_at is None
        assert session.scalar(select(func.count()).select_from(QuizDraw)) == 0


# --- flagged rounds -------------------------------------------------------------------------------

def test_flagged_rounds_are_reviewed_and_audited(app) -> None:
    with app.extensions["bot"].db.session() as session:
        fine = add_round(session, "oFast_0123456789abcdefghij", JUNE1, flagged=True)
        cheat = add_round(session, "oBot_0123456789abcdefghijk", JUNE1, flagged=True)
        plain = add_round(session, "o_plain", JUNE1)
        session.commit()
    console = logged_in(app)
    html = console.get("/console/quiz").get_data(as_text=True)
    assert f'<tr data-round="{fine.id}">' in html and f'<tr data-round="{cheat.id}">' in html
    assert "5题用时3秒，少于10秒" in html and "oFast_…ghij" in html and fine.openid not in html
    for form, problem in (({"verdict": "maybe"}, "请选择"), ({}, "请选择")):
        console.post(f"/console/quiz/rounds/{fine.id}/review", form)
        assert problem in console.get("/console/quiz").get_data(as_text=True)
    console.post(f"/console/quiz/rounds/{plain.id}/review", {"verdict": "clear"})
    assert f"第 {plain.id} 轮答题没有被标记，无需复核" in console.get("/console/quiz").get_data(as_text=True)
    assert audits(app) == []
    console.post(f"/console/quiz/rounds/{fine.id}/review", {"verdict": "clear"})
    console.post(f"/console/quiz/rounds/{cheat.id}/review", {"verdict": "keep"})
    html = console.get("/console/quiz").get_data(as_text=True)
    assert "没有待复核的答题" in html and "维持排除，不计入排行榜和抽奖" in html
    with app.extensions["bot"].db.session() as session:
        restored, kept = session.get(QuizRound, fine.id), session.get(QuizRound, cheat.id)
        assert (restored.flagged, restored.flag_reviewed_by) == (False, "ed")
        assert (kept.flagged, kept.flag_reviewed_by) == (True, "ed")
        assert session.get(QuizBest, fine.openid).round_id == fine.id  # back on the leaderboard
        assert session.get(QuizBest, cheat.openid) is None
    reviews = audits(app)
    assert [(a.action, a.target, a.actor) for a in reviews] == [
        ("quiz.round.review", f"round:{fine.id}", "ed"), ("quiz.round.review", f"round:{cheat.id}", "ed")]
    assert reviews[0].before == {"flagged": True, "reviewed_by": None}
    assert reviews[0].after == {"flagged": False, "reviewed_by": "ed"}
    assert reviews[1].after == {"flagged": True, "reviewed_by": "ed"} and "维持排除" in reviews[1].note


# --- draws ----------------------------------------------------------------------------------------

@pytest.fixture
def entrants(app, clock) -> list[str]:
    """Full marks on June 1 (three people) and June 2 (one of them again); a 4/5 and a flagged round; today June 3."""
    with app.extensions["bot"].db.session() as session:
        for openid in ("o_a", "o_b", "o_c"):
            add_round(session, openid, JUNE1)
        add_round(session, "o_d", JUNE1, score=4)
        add_round(session, "o_e", JUNE1, flagged=True)
        add_round(session, "o_a", JUNE2)
        session.commit()
    clock.set(shanghai(2021, 6, 3, 9, 0))
    return ["o_a", "o_b", "o_c", "o_a"]


DRAW = {"title": "第一周答题抽奖", "prize": "家用灭火器一具", "winners": "2", "start": "2021-06-01", "end": "2021-06-02"}


def create(console: ConsoleClient, **fields: str) -> int:
    response = console.post("/console/quiz/draws/create", DRAW | fields)
    assert response.status_code == 302
    match = re.search(r"/console/quiz/draws/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def stored_draw(app, draw_id: int) -> QuizDraw:
    with app.extensions["bot"].db.session() as session:
        return session.get(QuizDraw, draw_id)


def checks(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-check="(\w+)" data-passed="(\d)"', html))


def test_create_shows_the_commitment_then_reveal_and_verify(app, entrants) -> None:
    console = logged_in(app)
    form = console.get("/console/quiz/draws").get_data(as_text=True)
    assert 'name="start" value="2021-06-01"' in form and 'name="end" value="2021-06-02"' in form  # days that are over
    draw_id = create(console)
    draw = stored_draw(app, draw_id)
    assert (draw.entry_count, draw.created_by, draw.status) == (4, "ed", "committed")
    page = console.get(f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    assert "参与名单已锁定（共 4 条）" in page and "请先把它们公布出去" in page
    assert f'id="commitment-value">{draw.commitment}<' in page and f'id="digest-value">{draw.list_digest}<' in page
    assert draw.seed not in page and 'id="reveal-form"' in page and 'id="winner-table"' not in page
    assert page.index("commitment-value") < page.index("reveal-form")
    [created] = audits(app)
    assert (created.action, created.target, created.before) == ("quiz.draw.create", f"draw:{draw_id}", None)
    assert created.after["commitment"] == draw.commitment and draw.seed not in str(created.after)

    before = console.get(f"/console/quiz/draws/{draw_id}/verify").get_data(as_text=True)
    assert checks(before) == {"entries": "1", "digest": "1", "pseudonyms": "1"} and "参与名单核验通过" in before
    assert draw.seed not in before

    console.post(f"/console/quiz/draws/{draw_id}/reveal", {"beacon": " 3D 123 "})
    draw = stored_draw(app, draw_id)
    assert (draw.status, draw.beacon, draw.revealed_by) == ("revealed", "3D 123", "ed")
    page = console.get(f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    assert "已开奖：抽出 2 名中奖人" in page and f'id="seed-value">{draw.seed}<' in page
    with app.extensions["bot"].db.session() as session:
        prizes = list(session.scalars(select(QuizPrize).where(QuizPrize.draw_id == draw_id)))
        notices = list(session.scalars(select(Delivery).where(Delivery.purpose == "quiz_prize")))
    assert len(prizes) == 2 and len({p.openid for p in prizes}) == 2 and {n.openid for n in notices} == {
        p.openid for p in prizes}
    assert sorted(re.findall(r'<tr data-prize="(\d+)" data-status="won">', page)) == sorted(str(p.id) for p in prizes)
    assert page.count("待发送") == 2  # the notices wait in the outbox
    revealed = audits(app)[-1]
    assert (revealed.action, revealed.before, revealed.after["status"]) == ("quiz.draw.reveal", {"status": "committed"},
                                                                           "revealed")
    assert sorted(revealed.after["prizes"]) == sorted(p.id for p in prizes)

    after = console.get(f"/console/quiz/draws/{draw_id}/verify").get_data(as_text=True)
    assert checks(after) == {"entries": "1", "digest": "1", "pseudonyms": "1", "commitment": "1", "winners": "1"}
    assert 'data-ok="1"' in after and "核验通过：全部 5 项检查都通过了" in after

    console.post(f"/console/quiz/draws/{draw_id}/reveal", {"beacon": "another"})
    again = console.get(f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    assert f"第 {draw_id} 号抽奖已于" in again and "由 ed 开奖，结果不可更改，不能再次开奖" in again
    assert stored_draw(app, draw_id).beacon == "3D 123" and len(audits(app)) == 2
    listing = console.get("/console/quiz/draws").get_data(as_text=True)
    assert f'<tr data-draw="{draw_id}" data-status="revealed">' in listing and "家用灭火器一具" in listing


def test_tampering_shows_in_the_verification_and_stops_a_reveal(app, entrants) -> None:
    console = logged_in(app)
    first = create(console, end="2021-06-01", winners="1")
    second = create(console, start="2021-06-02", end="2021-06-02", winners="1")
    with app.extensions["bot"].db.session() as session:
        session.execute(sa.update(QuizDrawEntry).where(QuizDrawEntry.draw_id == first, QuizDrawEntry.position == 0)
                        .values(openid="o_smuggled"))
        session.commit()
    html = console.get(f"/console/quiz/draws/{first}/verify").get_data(as_text=True)
    # The digest covers the published pseudonyms; the openid swapped in behind one is caught by
    # the pseudonym check (staff's, with the identity key).
    assert 'data-ok="0"' in html and "核验未通过" in html
    assert checks(html) == {"entries": "1", "digest": "1", "pseudonyms": "0"}
    console.post(f"/console/quiz/draws/{first}/reveal")
    page = console.get(f"/console/quiz/draws/{first}").get_data(as_text=True)
    assert "存储的参与人与公布的抽奖编号不一致（编号背后的人被调换了），已停止开奖" in page
    assert stored_draw(app, first).status == "committed"

    console.post(f"/console/quiz/draws/{second}/reveal")
    with app.extensions["bot"].db.session() as session:
        session.execute(sa.update(QuizPrize).where(QuizPrize.draw_id == second).values(openid="o_friend"))
        session.commit()
    html = console.get(f"/console/quiz/draws/{second}/verify").get_data(as_text=True)
    assert checks(html) == {"entries": "1", "digest": "1", "pseudonyms": "1", "commitment": "1", "winners": "0"}
    assert 'data-ok="0"' in html and "请暂停公布和发奖" in html


def revealed_with_a_claim(app, console, clock, *, winners: int, name: str):
    """A revealed draw whose first winner has claimed with `name` and 13912345678: (draw id, prizes, claimed)."""
    draw_id = create(console, winners=str(winners))
    console.post(f"/console/quiz/draws/{draw_id}/reveal")
    with app.extensions["bot"].db.session() as session:
        won = list(session.scalars(select(QuizPrize).where(QuizPrize.draw_id == draw_id).order_by(QuizPrize.pick_order)))
        vault = vault_for(app.extensions["bot"].config)
        [claimed] = claims.claim_prizes(session, vault, won[0].openid, name=name, phone="13912345678", now=clock.now())
        session.commit()
    return draw_id, won, claimed


def test_claims_are_shown_masked_and_escaped_and_delivery_is_audited(app, entrants, clock) -> None:
    console = logged_in(app)
    # The webhook only accepts plain names; the page must not rely on that.
    draw_id, won, claimed = revealed_with_a_claim(app, console, clock, winners=3, name='<img src=x onerror="alert(1)">')
    page = console.get(f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "139****5678" in page and "13912345678" not in page
    assert f'<tr data-prize="{claimed.id}" data-status="claimed">' in page and "已登记，待发放" in page
    assert page.count("标记已发放</button>") == 1

    console.post(f"/console/quiz/prizes/{won[1].id}/deliver")
    assert "状态是“待领奖”：只有中奖人已登记姓名和手机号的奖品才能标记为已发放" in console.get(
        f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    assert audits(app, "quiz.prize") == []

    console.post(f"/console/quiz/prizes/{claimed.id}/deliver")
    page = console.get(f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    assert f'<tr data-prize="{claimed.id}" data-status="delivered">' in page and "2021-07-03 后删除" in page
    with app.extensions["bot"].db.session() as session:
        prize = session.get(QuizPrize, claimed.id)
        assert (prize.status, prize.delivered_by, prize.erase_after) == (
            "delivered", "ed", clock.now() + dt.timedelta(days=30))
    [delivered] = audits(app, "quiz.prize")
    assert (delivered.target, delivered.before, delivered.after["status"]) == (
        f"prize:{claimed.id}", {"status": "claimed"}, "delivered")
    console.post(f"/console/quiz/prizes/{claimed.id}/deliver")
    assert "状态是“已发放”" in console.get(f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    assert len(audits(app, "quiz.prize")) == 1


def test_a_winners_full_phone_is_shown_once_on_request_and_audited(app, entrants, clock) -> None:
    console = logged_in(app)
    draw_id, won, claimed = revealed_with_a_claim(app, console, clock, winners=2, name="王芳")
    shown = console.post(f"/console/quiz/prizes/{claimed.id}/contact").get_data(as_text=True)
    assert "13912345678" in shown
    assert "13912345678" not in console.get(f"/console/quiz/draws/{draw_id}").get_data(as_text=True)
    [seen] = audits(app, "quiz.prize.contact")
    assert (seen.target, seen.actor) == (f"prize:{claimed.id}", "ed")

    unclaimed = console.post(f"/console/quiz/prizes/{won[1].id}/contact").get_data(as_text=True)
    assert "还没有登记联系方式" in unclaimed and len(audits(app, "quiz.prize.contact")) == 1
    assert console.post("/console/quiz/prizes/99999/contact").status_code == 404


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": "  "}, "请填写抽奖名称。"),
    ({"prize": ""}, "请填写奖品。"),
    ({"prize": "奖" * 101}, "奖品不能超过 100 个字。"),
    ({"winners": "0"}, "中奖人数至少为 1 人。"),
    ({"winners": "-3"}, "请填写中奖人数（正整数）。"),
    ({"winners": "两个"}, "请填写中奖人数（正整数）。"),
    ({"winners": "10000000"}, "请填写中奖人数（正整数）。"),
    ({"start": "2021-06-02", "end": "2021-06-01"}, "开始日期晚于结束日期"),
    ({"start": "2021-13-01"}, "“开始日期”的日期看不懂，请按 2021-06-01 这样填写"),
    ({"end": ""}, "请填写结束日期。"),
    ({"end": "2021-06-03"}, "抽奖期间结束后才能创建抽奖：所选期间到 2021-06-03 为止，今天是 2021-06-03"),
    ({"start": "2021-05-20", "end": "2021-05-25"}, "2021-05-20 至 2021-05-25 没有符合抽奖条件的答题记录"),
])
def test_wrong_draw_input_is_refused_in_chinese(app, entrants, fields: dict[str, str], message: str) -> None:
    console = logged_in(app)
    response = console.post("/console/quiz/draws/create", DRAW | fields)
    assert response.headers["Location"] == "/console/quiz/draws"
    assert f"未创建抽奖：{message}" in console.get("/console/quiz/draws").get_data(as_text=True)
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(QuizDraw)) == 0
        assert session.scalar(select(func.count()).select_from(QuizDrawEntry)) == 0
    assert audits(app) == []


def test_overlapping_draw_and_long_beacon_are_refused(app, entrants) -> None:
    console = logged_in(app)
    draw_id = create(console)
    console.post("/console/quiz/draws/create", DRAW | {"start": "2021-06-02"})
    assert (f"第 {draw_id} 号抽奖已包含 2021-06-01 至 2021-06-02 的答题。同一天的答题只能参加一次抽奖"
            in console.get("/console/quiz/draws").get_data(as_text=True))
    refused = console.post(f"/console/quiz/draws/{draw_id}/reveal", {"beacon": "9" * 201})
    assert refused.status_code == 400 and "最多 200 个字" in refused.get_data(as_text=True)  # bot/console/limits.py
    assert stored_draw(app, draw_id).status == "committed"
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(QuizDraw)) == 1
        assert session.scalar(select(func.count()).select_from(QuizPrize)) == 0
    assert [a.action for a in audits(app)] == ["quiz.draw.create"]
    assert console.get("/console/quiz/draws/999").status_code == 404
    assert console.post("/console/quiz/prizes/999/deliver").status_code == 404


def test_entries_download_is_the_published_list(app, entrants) -> None:
    console = logged_in(app)
    draw_id = create(console)
    response = console.post(f"/console/quiz/draws/{draw_id}/entries")
    assert response.headers["Content-Disposition"] == f"attachment; filename=draw-{draw_id}-entries.txt"
    lines = response.get_data(as_text=True).split("\n")
    # Each person by their keyed pseudonym (the same for both of o_a's entries), never the openid.
    a, b, c = (draws.pseudonym_of(vault_for(app.extensions["bot"].config), draw_id, o) for o in ("o_a", "o_b", "o_c"))
    assert lines == [f"0\t{a}\t2021-06-01", f"1\t{b}\t2021-06-01", f"2\t{c}\t2021-06-01", f"3\t{a}\t2021-06-02"]
    assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == stored_draw(app, draw_id).list_digest
    assert audits(app)[-1].action == "quiz.draw.entries"


def test_quiz_forms_need_the_csrf_token(app, entrants) -> None:
    console = logged_in(app)
    draw_id = create(console)
    with app.extensions["bot"].db.session() as session:
        flagged = add_round(session, "o_f", JUNE1, flagged=True)
        session.commit()
    for url, form in (("/console/quiz/draws/create", DRAW | {"start": "2021-06-02"}),
                      (f"/console/quiz/draws/{draw_id}/reveal", {}),
                      (f"/console/quiz/rounds/{flagged.id}/review", {"verdict": "clear"}),
                      ("/console/quiz/prizes/1/deliver", {})):
        forged = console.client.post(url, data=form)
        assert forged.status_code == 400 and "表单已失效" in forged.get_data(as_text=True), url
    assert stored_draw(app, draw_id).status == "committed"
    with app.extensions["bot"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(QuizDraw)) == 1
        assert session.get(QuizRound, flagged.id).flag_reviewed_at is None
    assert [a.action for a in audits(app)] == ["quiz.draw.create"]
