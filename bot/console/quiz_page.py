"""The prize quiz in the console: the question bank's correct rates, rounds per day, flagged rounds,
prize draws (commitment first, then the reveal, then anyone can verify), winners and prize delivery,
and two dashboard panels (participation per day, score distribution).

Every change goes through bot/services/quiz (the same calls as `python -m bot quiz ...`) and is
written to the audit log with before/after. The services refuse in English for the CLI; the
refusals are put into Chinese here (`refusal_text`), and a refusal changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.console import current_bot, db, found, labels, now
from bot.console.audit import ACTION_NAMES, record
from bot.console.charts import bar_chart, line_chart
from bot.console.dashboard import (
    Figure,
    Panel,
    Table,
    dashboard_days,
    day_label,
    mask_openid,
)
from bot.console.moments import day_problem
from bot.console.moments import parse_day as parse_day_text
from bot.console.registry import page, panel, route
from bot.models.quiz import DrawStatus, PrizeStatus, QuizAnswer, QuizDraw, QuizPrize, QuizRound, RoundStatus
from bot.runtime import Bot
from bot.services.quiz import claims, draws, rounds
from bot.services.quiz.bank import CATEGORIES, KINDS, Question, QuizBank
from bot.services.quiz.rounds import campaign_day

ACTION_NAMES.update({"quiz.draw.create": "创建抽奖", "quiz.draw.reveal": "开奖", "quiz.draw.entries": "导出抽奖名单",
                     "quiz.prize.deliver": "奖品发放", "quiz.prize.contact_denied": "查看中奖人完整号码被拒",
                     "quiz.prize.contact": "查看中奖人手机号", "quiz.round.review": "复核被标记的答题"})
DRAW_STATUS = {DrawStatus.COMMITTED: "待开奖", DrawStatus.REVEALED: "已开奖"}
PRIZE_STATUS = {PrizeStatus.WON: "待领奖", PrizeStatus.CLAIMED: "已登记，待发放", PrizeStatus.DELIVERED: "已发放",
                PrizeStatus.EXPIRED: "逾期未领"}
ENTRY_PER = {"day": "每人每天最多一次", "campaign": "整个活动每人最多一次"}
CHECK_NAMES = {
    "entries": "参与名单的条数与创建时公布的一致",
    "digest": "参与名单与创建时公布的名单摘要一致（名单没有被改动）",
    "pseudonyms": "名单中每个抽奖编号都对应原参与人（编号背后的人没有被调换）",
    "commitment": "开奖公布的种子与开奖前公布的承诺值相符（种子不是事后挑选的）",
    "winners": "用种子、名单和公开随机数重新计算出的中奖人与记录的中奖人一致",
}
HARD_RATE = 50  # questions answered right less often than this (%) are highlighted


def eligibility_text(rule: str) -> str:
    if rule == "full_marks":
        return "计分轮次全部答对"
    return f"计分轮次至少答对 {rule.split(':', 1)[1]} 题" if rule.startswith("at_least:") else rule


# --- refusals in Chinese --------------------------------------------------------------------------

class InputError(Exception):
    """A form field that cannot be read; the message is already in Chinese."""


Translation = str | Callable[..., str]

# The services' refusals (bot/services/quiz/draws.py, claims.py, rounds.py) → what staff read.
REFUSALS: tuple[tuple[re.Pattern[str], Translation], ...] = tuple((re.compile(p), t) for p, t in (
    (r"the title is empty", "请填写抽奖名称。"),
    (r"the prize is empty", "请填写奖品。"),
    (r"the title is longer than (\d+) characters", "抽奖名称不能超过 {0} 个字。"),
    (r"the prize is longer than (\d+) characters", "奖品不能超过 {0} 个字。"),
    (r"the beacon is longer than (\d+) characters", "公开随机数不能超过 {0} 个字符。"),
    (r"winners must be at least 1", "中奖人数至少为 1 人。"),
    (r"the period starts after it ends", "开始日期晚于结束日期，请重新选择抽奖期间。"),
    (r"the period must be over before the draw \(it ends (\S+), today is (\S+)\)",
     "抽奖期间结束后才能创建抽奖：所选期间到 {0} 为止，今天是 {1}，当天的答题还没有结束。请把结束日期选在今天之前。"),
    (r"draw #(\d+) already covers (\S+)\.\.(\S+)",
     "第 {0} 号抽奖已包含 {1} 至 {2} 的答题。同一天的答题只能参加一次抽奖，请选择其他日期。"),
    (r"no eligible entries between (\S+) and (\S+)", "{0} 至 {1} 没有符合抽奖条件的答题记录，无法抽奖。"),
    (r"draw #(\d+) was revealed at (.+) by (.+); its outcome is final",
     "第 {0} 号抽奖已于 {1} 由 {2} 开奖，结果不可更改，不能再次开奖。"),
    (r"draw #(\d+): the stored list no longer matches its published digest",
     "第 {0} 号抽奖存储的参与名单与公布的名单摘要不一致，已停止开奖。请联系技术人员核查。"),
    (r"draw #(\d+): a stored entrant no longer matches their published pseudonym",
     "第 {0} 号抽奖存储的参与人与公布的抽奖编号不一致（编号背后的人被调换了），已停止开奖。请联系技术人员核查。"),
    (r"two entrants got the same pseudonym; create the draw again", "两位参与人的抽奖编号相同（极少见），请重新创建抽奖。"),
    (r"prize #(\d+) is (\w+), only a claimed prize can be delivered",
     lambda _id, status: f"这份奖品的状态是“{PRIZE_STATUS.get(status, status)}”：只有中奖人已登记姓名和手机号的奖品"
                         "才能标记为已发放。"),
    (r"prize #(\d+) is (\w+), its full phone is shown only to deliver a claimed prize",
     lambda _id, status: f"这份奖品的状态是“{PRIZE_STATUS.get(status, status)}”：完整手机号只在发放已登记的奖品时显示，"
                         "现在只能看到打码后的号码。"),
    (r"round (\d+) is not flagged", "第 {0} 轮答题没有被标记，无需复核。"),
))


def refusal_text(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, InputError):
        return text
    for pattern, translation in REFUSALS:
        match = pattern.fullmatch(text)
        if match:
            groups = match.groups()
            return translation(*groups) if callable(translation) else translation.format(*groups)
    # Configuration problems ([quiz] draw rules) and the like: shown as they are, for the technician.
    return f"操作未执行（{text}），请联系技术人员。"


# --- figures from the database --------------------------------------------------------------------

def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclasses.dataclass(frozen=True)
class QuestionStat:
    id: str
    question: Question | None  # None: answered while it was in the bank, removed since
    answered: int
    correct: int
    number: int | None = None  # its place in the bank (第 N 题), what staff call it; None once removed

    @property
    def rate(self) -> float | None:
        """Percent answered right; None when never answered."""
        return 100 * self.correct / self.answered if self.answered else None


def question_stats(session: Session, bank: QuizBank) -> list[QuestionStat]:
    """Every question with how often it was answered and answered right, the hardest first."""
    counts = {qid: (int(n), int(right)) for qid, n, right in session.execute(
        select(QuizAnswer.question_id, func.count(), _count_if(QuizAnswer.correct.is_(True)))
        .group_by(QuizAnswer.question_id))}
    in_bank = [q.id for q in bank.questions]
    ids = in_bank + sorted(set(counts) - set(in_bank))
    numbers = {qid: n for n, qid in enumerate(in_bank, start=1)}
    stats = [QuestionStat(qid, bank.get(qid), *counts.get(qid, (0, 0)), number=numbers.get(qid)) for qid in ids]
    # Lowest correct rate first (the most answered first among equals); never answered at the end.
    return sorted(stats, key=lambda s: (s.rate is None, s.rate or 0, -s.answered))


@dataclasses.dataclass(frozen=True)
class DayRounds:
    day: dt.date
    counted: int = 0
    practice: int = 0
    participants: int = 0


def rounds_per_day(session: Session, first: dt.date | None = None, last: dt.date | None = None
                   ) -> dict[dt.date, DayRounds]:
    """Rounds started on each campaign day (any outcome), counted and practice, and distinct players."""
    query = (select(QuizRound.day, _count_if(QuizRound.counted.is_(True)), _count_if(QuizRound.counted.is_(False)),
                    func.count(func.distinct(QuizRound.openid))).group_by(QuizRound.day))
    if first is not None:
        query = query.where(QuizRound.day >= first)
    if last is not None:
        query = query.where(QuizRound.day <= last)
    return {day: DayRounds(day, int(c), int(p), int(n)) for day, c, p, n in session.execute(query)}


# The rounds a score distribution speaks of: finished and counted, without the ones flagged as too
# fast (they are kept out of the leaderboard and the draw until a reviewer restores them).
SCORED = (QuizRound.status == RoundStatus.FINISHED, QuizRound.counted.is_(True), QuizRound.flagged.is_(False))


def scores(session: Session) -> dict[int, int]:
    return {int(score): int(n) for score, n in session.execute(
        select(QuizRound.score, func.count()).where(*SCORED).group_by(QuizRound.score))}


# --- dashboard ------------------------------------------------------------------------------------

@panel("quiz_participation", "有奖答题参与情况", action="view_quiz", order=40)
def quiz_participation_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    days = dashboard_days(moment.date(), dt.date.fromisoformat(bot.config.quiz.campaign_start))
    by_day = rounds_per_day(session, days[0], days[-1])
    per_day = [by_day.get(d, DayRounds(d)) for d in days]
    people, counted, practice = session.execute(select(
        func.count(func.distinct(QuizRound.openid)), _count_if(QuizRound.counted.is_(True)),
        _count_if(QuizRound.counted.is_(False)))).one()
    chart = line_chart([day_label(d) for d in days],
                       [("参与人数", [r.participants for r in per_day]), ("计分轮次", [r.counted for r in per_day]),
                        ("练习轮次", [r.practice for r in per_day])], "每日答题参与")
    rows = [(r.day.isoformat(), [Figure(f"quiz.participants.{r.day.isoformat()}", r.participants),
                                 Figure(f"quiz.counted.{r.day.isoformat()}", r.counted),
                                 Figure(f"quiz.practice.{r.day.isoformat()}", r.practice)]) for r in per_day]
    counted_per_day = bot.config.quiz.counted_rounds_per_day
    return Panel(
        summary=[("参与人数（累计）", Figure("quiz.participants", int(people))),
                 ("计分轮次（累计）", Figure("quiz.counted", int(counted))),
                 ("练习轮次（累计）", Figure("quiz.practice", int(practice)))],
        chart=chart,
        table=Table(["日期", "参与人数", "计分轮次", "练习轮次"], list(reversed(rows)), caption="按日明细",
                    collapsed=True),
        note=f"按开始答题的日期统计，含未答完的轮次。活动期间每人每天前 {counted_per_day} 轮计分，其余为练习。",
    )


@panel("quiz_scores", "答题得分分布", action="view_quiz", order=41)
def quiz_scores_panel(session: Session, bot: Bot, moment: dt.datetime) -> Panel:
    by_score = scores(session)
    top = max([bot.config.quiz.questions_per_round, *by_score])
    full_marks = session.scalar(select(func.count()).select_from(QuizRound)
                                .where(*SCORED, QuizRound.score == QuizRound.total)) or 0
    items = [(f"答对{n}题", by_score.get(n, 0)) for n in range(top + 1)]
    return Panel(
        summary=[("答完的计分轮次", Figure("quiz.finished", sum(by_score.values()))),
                 ("全部答对", Figure("quiz.full_marks", full_marks)),
                 ("用时过短待复核", Figure("quiz.flagged", len(rounds.flagged_rounds(session))))],
        chart=bar_chart(items, "计分轮次按得分"),
        table=Table(["得分", "轮次"], [(label, [Figure(f"quiz.score.{n}", count)])
                                     for n, (label, count) in enumerate(items)], caption="明细", collapsed=True),
        note="只计答完的计分轮次；用时过短被标记、尚未复核恢复的轮次不计（它们也不参加排行榜和抽奖）。",
    )


# --- the quiz page --------------------------------------------------------------------------------

@page("/quiz", "有奖答题", action="view_quiz", order=60)
def quiz_overview() -> str:
    session = db()
    days = sorted(rounds_per_day(session).values(), key=lambda r: r.day, reverse=True)
    return render_template("console/quiz.html", questions=question_stats(session, current_bot().content.quiz),
                           days=days, flagged=rounds.flagged_rounds(session), kinds=KINDS, categories=CATEGORIES,
                           hard_rate=HARD_RATE, mask_openid=mask_openid, moment=now())


@route("/quiz/rounds/<int:round_id>/review", action="manage_draws", methods=["POST"])
def quiz_review_round(round_id: int) -> Response:
    verdict = request.form.get("verdict", "")
    if verdict not in ("clear", "keep"):
        flash("请选择“成绩有效，恢复”或“维持排除”。", "error")
        return redirect(url_for("console.quiz_overview"))
    session = db()
    rnd = found(QuizRound, round_id)
    before = {"flagged": rnd.flagged, "reviewed_by": rnd.flag_reviewed_by}
    try:
        rounds.review_flag(session, current_bot().store, rnd.id, by=current_user.username, now=now(),
                           clear=verdict == "clear")
    except LookupError as exc:
        session.rollback()
        flash(f"未复核：{refusal_text(exc)}", "error")
        return redirect(url_for("console.quiz_overview"))
    outcome = "成绩有效，已恢复计入排行榜和抽奖" if verdict == "clear" else "维持排除，不计入排行榜和抽奖"
    record("quiz.round.review", f"round:{rnd.id}", before, {"flagged": rnd.flagged, "reviewed_by": rnd.flag_reviewed_by},
           note=outcome)
    session.commit()
    flash(f"第 {rnd.id} 轮答题已复核：{outcome}。", "success")
    return redirect(url_for("console.quiz_overview"))


# --- draws ----------------------------------------------------------------------------------------

def default_period(moment: dt.datetime) -> tuple[dt.date, dt.date]:
    """The campaign so far: a draw may only cover days that are over. Before a campaign day is over
    (its first day, or earlier) the form still offers a period that ends no earlier than it starts:
    the campaign's first day (creating it is then refused with the reason, in Chinese)."""
    cfg = current_bot().config.quiz
    start, end = dt.date.fromisoformat(cfg.campaign_start), dt.date.fromisoformat(cfg.campaign_end)
    return start, max(start, min(end, campaign_day(moment) - dt.timedelta(days=1)))


@page("/quiz/draws", "抽奖兑奖", action="view_quiz", order=61)
def quiz_draws() -> str:
    session = db()
    moment = now()
    start, end = default_period(moment)
    cfg = current_bot().config.quiz
    return render_template("console/quiz_draws.html", draws=draws.list_draws(session), status_names=DRAW_STATUS,
                           start=start, end=end, entry_per=ENTRY_PER.get(cfg.draw_entry_per, cfg.draw_entry_per),
                           eligibility=eligibility_text(cfg.draw_eligibility), moment=moment)


def parse_day(text: str, what: str) -> dt.date:
    day = parse_day_text(text)
    if day is None:
        raise InputError(day_problem(what) if text.strip() else f"请填写{what}。")
    return day


def parse_winners(text: str) -> int:
    text = text.strip()
    # Six digits at most: more winners than that is a typo, and would not fit the column anyway.
    if not text.isdigit() or len(text) > 6:
        raise InputError("请填写中奖人数（正整数）。")
    return int(text)


def published(draw: QuizDraw) -> dict[str, Any]:
    """What a draw publishes at creation (never the seed): the audit keeps it as it was."""
    return {"title": draw.title, "prize": draw.prize, "winners": draw.winners_wanted,
            "period": f"{draw.period_start}..{draw.period_end}", "entries": draw.entry_count,
            "list_digest": draw.list_digest, "commitment": draw.commitment, "status": draw.status}


@route("/quiz/draws/create", action="manage_draws", methods=["POST"])
def quiz_draw_create() -> Response:
    session = db()
    form = request.form
    try:
        draw = draws.create_draw(session, current_bot().config.quiz, title=form.get("title", ""),
                                 prize=form.get("prize", ""), winners=parse_winners(form.get("winners", "")),
                                 period_start=parse_day(form.get("start", ""), "开始日期"),
                                 period_end=parse_day(form.get("end", ""), "结束日期"),
                                 by=current_user.username, now=now(), vault=current_bot().vault)
    except (InputError, draws.DrawError) as exc:
        session.rollback()
        flash(f"未创建抽奖：{refusal_text(exc)}", "error")
        return redirect(url_for("console.quiz_draws"))
    record("quiz.draw.create", f"draw:{draw.id}", None, published(draw))
    session.commit()
    flash(f"第 {draw.id} 号抽奖已创建，参与名单已锁定（共 {draw.entry_count} 条）。请先公布下方的承诺值和名单摘要，再开奖。",
          "success")
    return redirect(url_for("console.quiz_draw", draw_id=draw.id))


def _draw(draw_id: int) -> QuizDraw:
    return found(QuizDraw, draw_id)


def render_draw(draw_id: int, verification: draws.Verification | None = None, contact_for: int | None = None) -> str:
    draw = _draw(draw_id)
    bot = current_bot()
    cfg = bot.config.quiz
    winners = claims.winners_of(db(), draw.id)
    vault = bot.vault
    contacts = {w.prize.id: claims.contact_of(vault, w.prize) for w in winners}
    return render_template("console/quiz_draw.html", draw=draw, winners=winners, contacts=contacts,
                           verification=verification, status_names=DRAW_STATUS, prize_status=PRIZE_STATUS,
                           notice_status=labels.DELIVERY_STATUSES, check_names=CHECK_NAMES,
                           entry_per=ENTRY_PER.get(draw.entry_per, draw.entry_per),
                           eligibility=eligibility_text(draw.eligibility), mask_openid=mask_openid,
                           mask_phone=claims.mask_phone, erase_days=cfg.claim_erase_days, contact_for=contact_for)


@route("/quiz/draws/<int:draw_id>", action="view_quiz")
def quiz_draw(draw_id: int) -> str:
    return render_draw(draw_id)


@route("/quiz/draws/<int:draw_id>/verify", action="view_quiz")
def quiz_draw_verify(draw_id: int) -> str:
    return render_draw(draw_id, draws.verify_draw(db(), _draw(draw_id).id, current_bot().vault))


@route("/quiz/draws/<int:draw_id>/reveal", action="manage_draws", methods=["POST"])
def quiz_draw_reveal(draw_id: int) -> Response:
    session = db()
    draw = _draw(draw_id)
    before = {"status": draw.status}
    # Outsiders recompute the winners with the beacon exactly as stored: no stray spaces in it.
    beacon = request.form.get("beacon", "").strip()
    try:
        prizes = draws.reveal_draw(session, current_bot().config.quiz, draw.id, by=current_user.username, now=now(),
                                   vault=current_bot().vault,
                                   beacon=beacon)
    except draws.DrawError as exc:
        session.rollback()
        flash(f"未开奖：{refusal_text(exc)}", "error")
        return redirect(url_for("console.quiz_draw", draw_id=draw_id))
    record("quiz.draw.reveal", f"draw:{draw.id}", before,
           {"status": draw.status, "beacon": beacon, "seed": draw.seed, "prizes": [p.id for p in prizes]})
    session.commit()
    flash(f"已开奖：抽出 {len(prizes)} 名中奖人，中奖通知已排队发送。请公布种子、公开随机数和参与名单，供公众核验。", "success")
    return redirect(url_for("console.quiz_draw", draw_id=draw.id))


@route("/quiz/draws/<int:draw_id>/entries", action="view_quiz", methods=["POST"])
def quiz_draw_entries(draw_id: int) -> Response:
    """The frozen list as published (one line per entry), for anyone to check the digest and the winners.
    A POST with the CSRF token: the download writes an audit row."""
    draw = _draw(draw_id)
    text = draws.published_list(current_bot().vault, db(), draw.id)
    record("quiz.draw.entries", f"draw:{draw.id}", None, {"entries": draw.entry_count})
    db().commit()
    response = Response(text, mimetype="text/plain; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename=draw-{draw.id}-entries.txt"
    return response


@route("/quiz/prizes/<int:prize_id>/contact", action="manage_draws", methods=["POST"])
def quiz_prize_contact(prize_id: int) -> str:
    """The full phone number of one winner, for delivering the prize: shown once in this response,
    audited, never kept on the page otherwise (the winners' list shows it masked)."""
    prize = found(QuizPrize, prize_id)
    if not prize.claimant_phone:
        flash("这位中奖人还没有登记联系方式，或联系方式已按期删除。", "error")
        return render_draw(prize.draw_id)
    try:
        claims.phone_for_delivery(current_bot().vault, prize)
    except claims.ClaimError as exc:
        # A delivered prize's winner is not called again: the refusal is audited like the look would be.
        record("quiz.prize.contact_denied", f"prize:{prize.id}", None, None, note=f"第 {prize.draw_id} 号抽奖")
        db().commit()
        flash(f"未显示：{refusal_text(exc)}", "error")
        return render_draw(prize.draw_id)
    record("quiz.prize.contact", f"prize:{prize.id}", None, None, note=f"第 {prize.draw_id} 号抽奖")
    db().commit()
    return render_draw(prize.draw_id, contact_for=prize.id)


@route("/quiz/prizes/<int:prize_id>/deliver", action="manage_draws", methods=["POST"])
def quiz_prize_deliver(prize_id: int) -> Response:
    session = db()
    prize = found(QuizPrize, prize_id)
    before = {"status": prize.status}
    try:
        claims.mark_delivered(session, prize.id, by=current_user.username, now=now(),
                              erase_days=current_bot().config.quiz.claim_erase_days)
    except claims.ClaimError as exc:
        session.rollback()
        flash(f"未标记：{refusal_text(exc)}", "error")
        return redirect(url_for("console.quiz_draw", draw_id=prize.draw_id))
    record("quiz.prize.deliver", f"prize:{prize.id}", before,
           {"status": prize.status, "erase_after": prize.erase_after.isoformat()}, note=f"第 {prize.draw_id} 号抽奖")
    session.commit()
    flash(f"第 {prize.pick_order} 位中奖人的奖品已标记为已发放。其姓名和手机号将于 {prize.erase_after:%Y-%m-%d} 后删除。",
          "success")
    return redirect(url_for("console.quiz_draw", draw_id=prize.draw_id))
