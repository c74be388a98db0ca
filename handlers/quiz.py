"""有奖竞猜: rounds of questions in the chat, the leaderboard and my results (prize claims: handlers/prize_claim.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.chat.context import Context
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import Router, all_of, kind, menu_key, regex, text_in
from bot.clock import TZ
from bot.services import citizens
from bot.services.quiz import claims, draws, leaderboard, rounds, topics
from bot.services.quiz.answers import how_to_answer, parse_answer
from bot.services.quiz.bank import CATEGORIES, KINDS, LETTERS, Question
from bot.services.quiz.claims import PrizeStatus
from bot.services.quiz.rounds import QuizRound, RoundStatus
from bot.wechat.inbound import Inbound
from bot.wechat.replies import TEXT_LIMIT_BYTES
from handlers.leaving import Reentry, cancel_while_asking, declare

router = Router("quiz")

TEXTS = {
    "intro_counted": "本轮共{n}题，计入成绩（每天{cap}轮计分；中途取消或超时也会用掉这次机会）。{eligibility}",
    "intro_window": "现在不在竞猜活动期（{start}至{end}），本轮为练习，不计入排行和抽奖。",
    "intro_cap": "您今天的{cap}轮计分机会已用完，本轮为练习，不计入排行和抽奖。",
    "intro_topic": "专题练习·{topic}：本轮{n}题，只出这一类题，为练习，不计入排行和抽奖。参加每天计分的一轮请发送 答题。",
    "resumed": "继续您未完成的一轮：",
    "eligible_full": "全部答对即可参加抽奖。",
    "eligible_at_least": "答对{n}题及以上即可参加抽奖。",
    "question_head": "第{no}/{total}题 · {kind} · {category}",
    "reask": "没能识别您的答案，本题不扣分，请重新回复。",
    "voice_reask": "没能识别这段语音，请直接输入答案。",
    "too_fast": "答题太快了，请稍等一分钟再回复答案（本题不扣分）。",
    "duplicate": "这条答案已经记录过了。",
    "right": "✅ 回答正确！",
    "wrong": "❌ 回答错误。您的答案：{given}",
    "correct_answer": "正确答案：{answer}",
    "explanation": "解析：{text}",
    "source": "依据：{text}",
    "summary": "本轮结束：答对 {score}/{total} 题，用时 {time}。",
    "summary_counted": "本轮计入成绩。",
    "summary_practice": "本轮为练习，不计入排行和抽奖。",
    "summary_flagged": "本轮用时过短，已交工作人员核查，核查前不计入排行和抽奖。",
    "summary_eligible": "🎉 达到抽奖条件，已获得本次抽奖资格（开奖后中奖者会收到通知）。",
    "summary_rank": "您的最好成绩目前排第{rank}名（共{size}人）。",
    "summary_next": "发送 排行 查看排行榜，发送 我的成绩 查看记录。",
    "round_over": "这一轮已经结束了。发送 答题 开始新的一轮。",
    "round_expired": "本轮答题已超过{minutes}分钟未作答，已结束，不计成绩。发送 答题 重新开始。",
    "round_broken": "题库已更新，本轮无法继续，已结束且不计成绩。发送 答题 重新开始。",
    "abandoned": "已退出本轮答题，本轮不计成绩。发送 答题 可重新开始。",
    "abandoned_counted": "已退出本轮答题，本轮不计成绩，今天的计分机会已用掉。发送 答题 可做练习。",
    "rank_head": "🏆 安全知识竞答排行榜（共{size}人）",
    "rank_line": "{rank}. {who}  {score}分  用时{time}",
    "rank_empty": "排行榜还没有成绩。发送 答题 参加竞猜！",
    "rank_mine": "您的排名：第{rank}名（最好成绩{score}分，用时{time}）",
    "rank_none": "您还没有计分成绩，发送 答题 参加竞猜。",
    "rank_township": "在{township}排第{rank}名（共{size}人）",
    "rank_rule": "排名规则：计分轮次的最好成绩，同分用时短者在前，再同则先完成者在前。",
    "mine_head": "您最近的答题记录：",
    "mine_line": "{when}  {score}/{total}题  {time}  {status}",
    "mine_none": "您还没有答题记录。发送 答题 参加竞猜！",
    "mine_prize": "🎁 {title}：{prize}（{status}）",
    "mine_draw": "🎫 抽奖「{title}」：您的抽奖编号 {pseudonym}（可在公布的抽奖名单中核对）",
}

STATUS_WORDS = {RoundStatus.ACTIVE: "进行中", RoundStatus.EXPIRED: "已超时", RoundStatus.ABANDONED: "已取消"}
PRIZE_WORDS = {PrizeStatus.WON: "待领奖", PrizeStatus.CLAIMED: "已登记，待发放", PrizeStatus.DELIVERED: "已发放",
               PrizeStatus.EXPIRED: "已过期"}
ENTRY_WORDS = ("答题", "有奖竞猜", "知识竞赛", "竞答", "开始答题", "我要答题", "答题活动")


class Quiz(StateGroup):
    answering = State()


def _question_again(msg: Inbound, ctx: Context) -> str:
    rnd = rounds.load_round(ctx.session, ctx.conv.data.get("round_id"))
    question = rounds.current_question(ctx.content.quiz, rnd) if rnd is not None else None
    if question is None or rnd.status != RoundStatus.ACTIVE:
        ctx.conv.clear()
        return text("round_over")
    return render_question(question, rnd.position, rnd.total)


# Another feature's word or a menu click during a round: asked whether to leave first.
declare(router, Quiz, Reentry(what="答题", doing="答题", prompt=_question_again, ask_at=(Quiz.answering,),
                             own_words=ENTRY_WORDS, own_keys=("QUIZ_START",),
                             kept=lambda ctx: f"这一轮会保留，{ctx.config.quiz.round_idle_minutes}分钟内发送 答题 可接着答。"))


def text(key: str, **values: object) -> str:
    return TEXTS[key].format(**values) if values else TEXTS[key]


# --- rounds -------------------------------------------------------------------------------------

# "参加有奖竞猜" / "我要参加知识竞赛" / "今天的题答了吗": wanting to play, in the citizen's words.
WANTS_TO_PLAY = regex(r"^(我要|我想|想|要)?(参加|参与|开始|玩|来)(一下|一轮|一次)?(有奖竞猜|知识竞赛|竞答|答题|竞猜)|"
                      r"^今天的?题.{0,3}(答|做)")


@router.on(text_in(*ENTRY_WORDS), WANTS_TO_PLAY, menu_key("QUIZ_START"), help="答题 — 参加安全知识有奖竞猜")
def start_quiz(msg: Inbound, ctx: Context) -> str:
    cfg = ctx.config.quiz
    started = rounds.start_round(ctx.session, ctx.content.quiz, cfg, openid=msg.openid, now=ctx.now(),
                                 key=msg.dedupe_key, rng=ctx.quiz_rng(), category=topics.named_topic(msg.text or ""))
    rnd = started.round
    if rnd.status != RoundStatus.ACTIVE:
        return text("round_over")
    question = rounds.current_question(ctx.content.quiz, rnd)
    if question is None:
        return _broken(ctx, rnd)
    ctx.conv.enter(Quiz.answering, idle=dt.timedelta(minutes=cfg.round_idle_minutes))
    _remember(ctx, rnd)
    intro = text("resumed") if started.resumed else _intro(ctx, started)
    return intro + "\n\n" + render_question(question, rnd.position, rnd.total)


def _intro(ctx: Context, started: rounds.Started) -> str:
    cfg = ctx.config.quiz
    if started.practice_reason == rounds.PracticeReason.TOPIC:
        return text("intro_topic", topic=CATEGORIES[started.category], n=started.round.total)
    if started.practice_reason == rounds.PracticeReason.OUTSIDE_WINDOW:
        return text("intro_window", start=_day(cfg.campaign_start), end=_day(cfg.campaign_end))
    if started.practice_reason == rounds.PracticeReason.DAILY_CAP:
        return text("intro_cap", cap=cfg.counted_rounds_per_day)
    return text("intro_counted", n=started.round.total, cap=cfg.counted_rounds_per_day,
                eligibility=eligibility_line(cfg.draw_eligibility, started.round.total))


def eligibility_line(rule: str, total: int) -> str:
    needed = draws.eligibility_min_score(rule, total)
    return text("eligible_full") if needed >= total else text("eligible_at_least", n=needed)


@dataclasses.dataclass(frozen=True)
class Seen:
    """The round as the conversation last saw it: enough to ask and score the next question without
    reading the row. Only a hint: the row is the truth, and the write that stores an answer checks
    the position against it (rounds.record_answer_at)."""
    round_id: int
    question_ids: list[str]
    position: int
    score: int
    total: int
    active_at: float  # last_activity_at, epoch seconds

    @classmethod
    def of(cls, rnd: QuizRound) -> Seen:
        return cls(rnd.id, rnd.question_ids, rnd.position, rnd.score, rnd.total, rnd.last_activity_at.timestamp())

    @classmethod
    def recalled(cls, data: dict) -> Seen | None:
        """The copy kept in the conversation's data, if any (conversations saved before it had only round_id)."""
        seen = data.get("round")
        if not seen or seen.get("id") != data.get("round_id"):
            return None
        return cls(seen["id"], seen["questions"], seen["position"], seen["score"], seen["total"], seen["active_at"])

    def kept(self) -> dict:
        return {"id": self.round_id, "questions": self.question_ids, "position": self.position, "score": self.score,
                "total": self.total, "active_at": self.active_at}

    def question_id(self, offset: int = 0) -> str | None:
        at = self.position + offset
        return self.question_ids[at] if at < len(self.question_ids) else None


def _remember(ctx: Context, rnd: QuizRound) -> None:
    _keep(ctx, Seen.of(rnd))


def _keep(ctx: Context, seen: Seen) -> None:
    # round_id stays at the top level: the previous release reads it there.
    ctx.conv.update(round_id=seen.round_id, round=seen.kept())


@router.on(kind("text", "voice"), state=Quiz.answering)
def take_answer(msg: Inbound, ctx: Context) -> str:
    """Most answers are scored against the conversation's copy of the round and stored by one write
    that checks the copy; anything else (no fresh copy, the round's last question, a copy the row
    refused) reads the round first."""
    seen = Seen.recalled(ctx.conv.data)
    question = ctx.content.quiz.get(seen.question_id()) if seen is not None else None
    if seen is None or question is None or _idle_since_seen(ctx, seen):
        return _answer_from_row(msg, ctx)
    if _too_fast(ctx):
        return text("too_fast")
    given, reask = _given_or_reask(msg, question, seen.position, seen.total)
    if given is None:
        return reask
    following = ctx.content.quiz.get(seen.question_id(1)) if seen.position + 1 < seen.total else None
    if following is not None:
        now = ctx.now()
        advanced = rounds.record_answer_at(ctx.db, ctx.session, ctx.config.quiz, round_id=seen.round_id,
                                           position=seen.position, question=question, given=given,
                                           key=msg.dedupe_key, now=now)
        if advanced is not None:
            _keep(ctx, dataclasses.replace(seen, position=advanced.position, score=advanced.score,
                                           active_at=now.timestamp()))
            return fit(render_feedback(question, given, advanced.correct),
                       render_question(following, advanced.position, seen.total))
    # The last question, or the row refused the copy (stale, closed, or this message counted before).
    return _answer_from_row(msg, ctx, rate_checked=True)


def _given_or_reask(msg: Inbound, question: Question, position: int, total: int) -> tuple[str | None, str]:
    """The citizen's answer, or None and the question asked again (voice without text, not an answer)."""
    if msg.kind == "voice" and not msg.text:
        return None, text("voice_reask") + "\n\n" + render_question(question, position, total)
    given = parse_answer(msg.text, question.kind, len(question.options))
    if given is None:
        return None, text("reask") + "\n\n" + render_question(question, position, total)
    return given, ""


def _idle_since_seen(ctx: Context, seen: Seen) -> bool:
    """rounds.is_idle by the copy: such a round is closed by the long way, which reads it."""
    return dt.datetime.fromtimestamp(seen.active_at, TZ) < rounds.idle_before(ctx.config.quiz, ctx.now())


def _answer_from_row(msg: Inbound, ctx: Context, rate_checked: bool = False) -> str:
    cfg = ctx.config.quiz
    now = ctx.now()
    rnd = rounds.load_round(ctx.session, ctx.conv.data.get("round_id"))
    if rnd is None or rnd.status != RoundStatus.ACTIVE:
        ctx.conv.clear()
        return text("round_over")
    if rounds.expire_if_idle(ctx.session, cfg, rnd, now):
        ctx.conv.clear()
        return text("round_expired", minutes=cfg.round_idle_minutes)
    bank = ctx.content.quiz
    question = rounds.current_question(bank, rnd)
    if question is None:
        return _broken(ctx, rnd)
    if not rate_checked and _too_fast(ctx):
        return text("too_fast")
    given, reask = _given_or_reask(msg, question, rnd.position, rnd.total)
    if given is None:
        return reask
    answered = rounds.record_answer(ctx.session, cfg, ctx.store, rnd, question, given=given,
                                    key=msg.dedupe_key, now=now)
    if answered.duplicate:
        return text("duplicate") + "\n\n" + _where_now(ctx, rnd)
    feedback = render_feedback(question, answered.given, answered.correct)
    if answered.finished:
        ctx.conv.clear()
        return fit(feedback, summary(ctx, rnd))
    _remember(ctx, rnd)
    following = rounds.current_question(bank, rnd)
    return fit(feedback, render_question(following, rnd.position, rnd.total))  # type: ignore[arg-type]


@router.on(state=Quiz.answering)
def reask_media(msg: Inbound, ctx: Context) -> str | None:
    """A photo or a menu click in the middle of a round: the question stands."""
    rnd = rounds.load_round(ctx.session, ctx.conv.data.get("round_id"))
    question = rounds.current_question(ctx.content.quiz, rnd) if rnd is not None else None
    if question is None or rnd.status != RoundStatus.ACTIVE:
        ctx.conv.clear()
        return text("round_over")
    return text("reask") + "\n\n" + render_question(question, rnd.position, rnd.total)


@router.on_cancel("quiz")
def abandon_quiz(msg: Inbound, ctx: Context) -> str:
    staying = cancel_while_asking(msg, ctx, _question_again, "答题")
    if staying is not None:
        return staying
    rnd = rounds.load_round(ctx.session, ctx.conv.data.get("round_id"))
    ctx.conv.clear()
    if rnd is None or rnd.status != RoundStatus.ACTIVE:
        return text("abandoned")
    rounds.abandon_round(ctx.session, rnd, ctx.now())
    return text("abandoned_counted" if rnd.counted else "abandoned")


def _timed_out_answer(msg: Inbound, ctx: Context) -> bool:
    """Just after a round expired, an answer-like message gets a clear word rather than the fallback."""
    return ctx.conv.expired_flow == "quiz" and any(
        parse_answer(msg.text, k, len(LETTERS)) for k in ("single", "multiple", "truefalse"))


@router.on(all_of(kind("text", "voice"), _timed_out_answer))
def answer_after_timeout(msg: Inbound, ctx: Context) -> str:
    rounds.current_round(ctx.session, ctx.config.quiz, msg.openid, ctx.now())  # closes the idle round
    return text("round_expired", minutes=ctx.config.quiz.round_idle_minutes)


def _too_fast(ctx: Context) -> bool:
    """More than [quiz] answers_per_minute in this clock minute. Counted in the round's conversation,
    which the citizen's lock already guards and which is saved anyway: no extra store round trip."""
    minute = int(ctx.now().timestamp() // 60)
    counted_minute, count = ctx.conv.data.get("rate", (minute, 0))
    count = count + 1 if counted_minute == minute else 1
    ctx.conv.update(rate=(minute, count))
    return count > ctx.config.quiz.answers_per_minute


def _broken(ctx: Context, rnd: QuizRound) -> str:
    rounds.abandon_round(ctx.session, rnd, ctx.now())
    ctx.conv.clear()
    return text("round_broken")


def _where_now(ctx: Context, rnd: QuizRound) -> str:
    if rnd.status == RoundStatus.FINISHED:
        ctx.conv.clear()
        return summary(ctx, rnd)
    question = rounds.current_question(ctx.content.quiz, rnd)
    if question is None:
        return text("round_over")
    _remember(ctx, rnd)
    return render_question(question, rnd.position, rnd.total)


# --- rendering ----------------------------------------------------------------------------------

def render_question(question: Question, position: int, total: int) -> str:
    """The question at `position` (0-based) of a round of `total`."""
    head = text("question_head", no=position + 1, total=total, kind=KINDS[question.kind],
                category=CATEGORIES[question.category])
    options = [f"{LETTERS[i]}. {option}" for i, option in enumerate(question.options)]
    return "\n".join([head, question.text, *options, "👉 " + how_to_answer(question.kind, len(question.options))])


def show_answer(question: Question, answer: str) -> str:
    if question.kind == "single":
        return f"{answer}. {question.options[LETTERS.index(answer)]}"
    return answer


def render_feedback(question: Question, given: str, correct: bool, with_source: bool = True) -> str:
    lines = [text("right") if correct else text("wrong", given=given)]
    if not correct:
        lines.append(text("correct_answer", answer=show_answer(question, question.answer)))
    lines.append(text("explanation", text=question.explanation))
    if with_source:
        lines.append(text("source", text=question.source))
    return "\n".join(lines)


def fit(feedback: str, after: str) -> str:
    """Feedback and what follows in one reply: the source line, then the explanation's tail give way."""
    combined = feedback + "\n\n" + after
    if len(combined.encode()) <= TEXT_LIMIT_BYTES:
        return combined
    lines = feedback.split("\n")
    if lines[-1].startswith(TEXTS["source"].split("{")[0]):
        lines = lines[:-1]
    feedback = "\n".join(lines)
    budget = TEXT_LIMIT_BYTES - len(("\n\n" + after).encode())
    while len(feedback.encode()) > budget and len(feedback) > 10:
        feedback = feedback[:-11] + "…"
    return feedback + "\n\n" + after


def duration(seconds: int | None) -> str:
    seconds = seconds or 0
    return f"{seconds // 60}分{seconds % 60:02d}秒" if seconds >= 60 else f"{seconds}秒"


def _day(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.month}月{day.day}日"


def summary(ctx: Context, rnd: QuizRound) -> str:
    cfg = ctx.config.quiz
    lines = [text("summary", score=rnd.score, total=rnd.total, time=duration(rnd.duration_seconds))]
    if not rnd.counted:
        lines.append(text("summary_practice"))
    elif rnd.flagged:
        lines.append(text("summary_flagged"))
    else:
        lines.append(text("summary_counted"))
        if rnd.score >= draws.eligibility_min_score(cfg.draw_eligibility, rnd.total):
            lines.append(text("summary_eligible"))
    board = leaderboard.board_for(ctx.session, ctx.store)
    mine = board.standing(rnd.openid)
    if mine is not None:
        lines.append(text("summary_rank", rank=mine.rank, size=board.size()))
    lines.append(text("summary_next"))
    return "\n".join(lines)


# --- leaderboard and results --------------------------------------------------------------------

def masked(openid: str) -> str:
    return f"参与者{openid[-4:]}"


@router.on(text_in("排行", "排行榜", "排名", "答题排行", "答题排行榜", "竞猜排行榜", "我的排名"), menu_key("QUIZ_RANK"),
           help="排行 — 查看答题排行榜")
def show_rank(msg: Inbound, ctx: Context) -> str:
    board = leaderboard.board_for(ctx.session, ctx.store)
    top = board.top(10)
    if not top:
        return text("rank_empty")
    lines = [text("rank_head", size=board.size())]
    lines += [text("rank_line", rank=s.rank, who="我" if s.openid == msg.openid else masked(s.openid),
                   score=s.score, time=duration(s.duration_seconds)) for s in top]
    mine = board.standing(msg.openid)
    lines.append("")
    if mine is None:
        lines.append(text("rank_none"))
    else:
        lines.append(text("rank_mine", rank=mine.rank, score=mine.score, time=duration(mine.duration_seconds)))
        township = citizens.township_of(ctx.session, msg.openid)
        if township:
            local = leaderboard.DbBoard(ctx.session, township=township)
            here = local.standing(msg.openid)
            if here is not None:
                found = ctx.content.townships.get(township)
                lines.append(text("rank_township", township=found.name if found else township, rank=here.rank,
                                  size=local.size()))
    lines.append(text("rank_rule"))
    return "\n".join(lines)


@router.on(text_in("我的成绩", "成绩", "答题记录", "我的答题"), menu_key("QUIZ_MINE"), help="我的成绩 — 查看答题记录")
def show_mine(msg: Inbound, ctx: Context) -> str:
    rounds.current_round(ctx.session, ctx.config.quiz, msg.openid, ctx.now())
    mine = rounds.rounds_of(ctx.session, msg.openid, limit=10)
    if not mine:
        return text("mine_none")
    lines = [text("mine_head")]
    for rnd in mine:
        lines.append(text("mine_line", when=f"{rnd.started_at:%m-%d %H:%M}", score=rnd.score, total=rnd.total,
                          time=duration(rnd.duration_seconds) if rnd.status == RoundStatus.FINISHED else "-",
                          status=_status_word(rnd)))
    for prize, draw in claims.prizes_of(ctx.session, msg.openid):
        lines.append(text("mine_prize", title=draw.title, prize=draw.prize, status=PRIZE_WORDS[prize.status]))
    for draw, pseudonym in draws.pseudonyms_of(ctx.session, msg.openid)[:3]:
        lines.append(text("mine_draw", title=draw.title, pseudonym=pseudonym))
    return "\n".join(lines)


def _status_word(rnd: QuizRound) -> str:
    if rnd.status != RoundStatus.FINISHED:
        return STATUS_WORDS[rnd.status]
    if not rnd.counted:
        return "练习"
    return "待核查" if rnd.flagged else "计分"

