"""The intent layer: what a message wants when no router's own words matched (DESIGN.md, Router).

A classifier learned from content/intents/ (bot/services/intents.py) names one of 15 intents with a
probability. Sure enough (its threshold and margin chosen by cross-validation): the feature answers.
Danger now answers at a lower bar when the message holds a danger word (触电, 着火), since telling
whom to call costs little when it was not needed; without one, the classifier must be sure.
Unsure: up to three numbered choices across features and knowledge entries ("1. 参加答题 2. 举报隐患
3. 燃气泄漏怎么办"); a number picks one, anything else is routed afresh, and a second unsure message
in a row gets the short help (a two-stage fallback). Out of scope: an honest short answer with the
line that can help (content/hotlines.toml).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

from bot.chat.context import Context
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import GO_ON, GoOn, Router, text_in
from bot.services import knowledge as knowledge_base
from bot.services.intents import Guess, fold, probability_of
from bot.services.yesno import says_yes
from bot.wechat.inbound import Inbound
from handlers import common, emergency, events, knowledge, prize_claim, quiz, report, township
from handlers.leaving import CONTEXT, declare

log = logging.getLogger(__name__)

router = Router("intent", guesses=True)

CHOICE_IDLE = dt.timedelta(minutes=10)
EMERGENCY_FLOOR = 0.30   # with a danger word in the message, danger now is answered from this probability up
UNSURE_FLOOR = 0.25      # below this the guess is noise (asdfgh): knowledge search, then the short help
OFFER_FLOOR = 0.08       # an intent below this is not worth a choice
ENTRY_FLOOR = 0.20       # a knowledge entry offered among other features' choices scores at least this
WEAK_ENTRY = 0.15        # ... and, for a message surely asking for knowledge, among entries alone
STATEMENT_SHARE = 0.15   # P(hazard statement) from which a knowledge answer also offers the report
MAX_CHOICES = 3
KNOWLEDGE_LEAD = 0.5     # knowledge this far ahead of the runner-up offers its own entries, not features
MIN_STATEMENT = 6        # fewer characters describe no hazard to report

TEXTS = {
    "choose_header": "我不太确定您的意思，您是想：",
    "choose_footer": "请回复序号；也可以换个说法再说一次。",
    # One close guess is a yes-or-no question, not a list of one.
    "choose_one": "您是想{label}吗？回复 1 或 是；不是的话，请换个说法再说一次。",
    "choose_one_entry": "您想问的是不是：{label}\n回复 1 或 是 查看；不是的话，请换个说法再说一次。",
    "choose_footer_out": "都不是？其他问题可拨打{number}{name}。",
    "offer_after": {
        "intent:hazard_statement": "如果这是您身边存在的隐患，回复 举报（或 1），刚才这段话会完整作为举报描述。",
        "intent:report": "要举报身边的安全隐患，回复 举报（或 1）开始，一分钟左右即可完成。",
    },
    "greeting": "您好！我是县应急管理局“安全生产月”服务助手，可以帮您：\n"
                "· 答题：参加安全知识有奖竞猜\n· 举报：反映身边的安全隐患（可匿名）\n"
                "· 活动：查宣传、演练等活动安排\n· 安全知识：直接用自己的话提问\n"
                "直接发文字即可，例如“答题”或“燃气泄漏怎么办”。",
    "out_of_scope": "抱歉，这件事本号办不了：这里是县应急管理局的安全生产月服务号，只能答题、举报安全隐患、"
                    "查活动和安全知识。\n{line_text}可拨打 {number}（{name}）。正在发生危险请拨 119、120、110。",
    "out_of_scope_line": "您问的这类事，",
    "knowledge_none": "这个问题知识库里还没有现成的答案。您可以换个说法再问，或发送 安全知识 看常见话题；"
                      "紧急情况请直接拨打 119、120、110。",
    "ticket_hint": "查询一条举报，请发送：查询 举报编号（在其他微信号上查询请加查询码），例如：查询 YH20210601-7KQ2MX。",
}

CHOICE_LABELS = {
    "help": "查看全部功能", "quiz": "参加答题", "leaderboard": "看答题排行榜", "my_score": "查我的答题成绩",
    "prize": "领奖登记", "report": "举报安全隐患", "hazard_statement": "把这件事作为隐患举报",
    "my_reports": "查我的举报进度", "ticket_query": "按编号查询举报", "events": "看活动安排",
    "township": "设置所在乡镇", "emergency": "紧急求助（119、120、110）",
}
TICKET = re.compile(rf"({report.TICKET_FORMAT})(?:\D{{0,8}}?({report.CODE_FORMAT}))?", re.IGNORECASE)


class IntentChoice(StateGroup):
    flow_name = "intent"
    holds_work = False  # offered choices: leaving them loses nothing
    choose = State()


declare(router, IntentChoice, CONTEXT)  # leave_choice drops the choices and routes afresh


# --- the guess ------------------------------------------------------------------------------------

def guess_of(msg: Inbound, ctx: Context) -> Guess | None:
    """The classifier's guess for a typed or spoken message (worked out once per message)."""
    if "intent.guess" not in ctx.memo:
        text = msg.text if msg.kind in ("text", "voice") and not msg.oversized else ""
        ctx.memo["intent.guess"] = ctx.content.intents.guess(text) if text.strip() else None
    return ctx.memo["intent.guess"]


def learned(intent: str) -> Callable[[Inbound, Context], bool]:
    def match(msg: Inbound, ctx: Context) -> bool:
        guess = guess_of(msg, ctx)
        if guess is None:
            return False
        if intent == "emergency" and emergency.alarm_of(msg, ctx) is not None:
            # A danger word said calmly (触电, 着火 without 有人/快): danger now at a lower bar.
            return guess.intent == "emergency" and guess.confidence >= EMERGENCY_FLOOR
        return guess.sure and guess.intent == intent

    match.intent = intent  # type: ignore[attr-defined]
    return match


def _today(ctx: Context) -> dt.date:
    return knowledge.today(ctx)


# --- serving each intent --------------------------------------------------------------------------

def _statement_like(msg: Inbound, ctx: Context) -> bool:
    """Said as a statement (not a question) that may well describe a hazard."""
    guess = guess_of(msg, ctx)
    return (guess is not None and probability_of(guess, "hazard_statement") >= STATEMENT_SHARE
            and not QUESTION.search(msg.text))


def serve_knowledge(msg: Inbound, ctx: Context) -> str:
    """An entry that answers it; close ones as choices; an honest "not yet" otherwise. A message that
    sounds like a hazard also hears how to report it, with its words kept."""
    result = ctx.content.knowledge.understand(msg.text, _today(ctx))
    statement = _statement_like(msg, ctx)
    if result.band == "direct":
        reply = knowledge.answer(result.matches[0].entry, ctx, band="direct", score=result.matches[0].score)
        if statement:
            _enter_choices(ctx, ["intent:hazard_statement"], msg.original_text)
            reply += "\n\n" + TEXTS["offer_after"]["intent:hazard_statement"]
        return reply
    entries = [m.entry for m in result.matches if m.score >= WEAK_ENTRY]
    if statement and entries:
        return _offer_choices(msg, ctx, [f"entry:{e.id}" for e in entries[:MAX_CHOICES - 1]] + ["intent:hazard_statement"])
    if entries:
        ctx.conv.enter(knowledge.Knowledge.choose, idle=knowledge.CHOICE_IDLE, choices=[e.id for e in entries])
        log.info("knowledge choices %s", ",".join(e.id for e in entries),
                 extra={"knowledge_band": "choose", "knowledge_entry": None, "knowledge_choices": [e.id for e in entries]})
        return knowledge.choices_text(entries, ctx)
    log.info("knowledge: nothing for an understood question", extra={"knowledge_band": "none", "knowledge_entry": None})
    if statement:
        return report.offer(ctx, msg.original_text)
    return TEXTS["knowledge_none"]


def _entry_answers(msg: Inbound, ctx: Context) -> bool:
    """An entry of the knowledge base answers the message outright (96333是干什么的, 职业病去哪诊断)."""
    return ctx.content.knowledge.understand(msg.text, _today(ctx)).band == "direct"


def _answered_by_entry(msg: Inbound, ctx: Context, guessed: str) -> str:
    log.info("intent knowledge (guessed %s, but an entry answers)", guessed,
             extra={"intent": "knowledge", "intent_confidence": None})
    return serve_knowledge(msg, ctx)


def serve_out_of_scope(msg: Inbound, ctx: Context) -> str:
    hotlines = ctx.content.hotlines
    line = hotlines.for_text(msg.text)
    # An entry that answers outright wins (96333是干什么的, 职业病去哪个医院诊断), but one that leads
    # only because nothing else matched (the hotline list, for 停电了什么时候来电) does not outweigh
    # the service line the message names.
    found = ctx.content.knowledge.understand(msg.text, _today(ctx))
    if found.band == "direct" and (line == hotlines.default or found.matches[0].score >= knowledge_base.DIRECT):
        return _answered_by_entry(msg, ctx, "out_of_scope")
    return TEXTS["out_of_scope"].format(line_text=TEXTS["out_of_scope_line"] if line != hotlines.default else "",
                                        number=line.number, name=line.name)


def serve_ticket(msg: Inbound, ctx: Context) -> str:
    """A pasted ticket number (with its query code, perhaps) is looked up; without one, how to ask."""
    found = TICKET.search(msg.text)
    if found is None:
        return _answered_by_entry(msg, ctx, "ticket_query") if _entry_answers(msg, ctx) else TEXTS["ticket_hint"]
    return report.look_up(ctx, found.group(1).upper(), found.group(2).upper() if found.group(2) else None)


def serve_township(msg: Inbound, ctx: Context) -> str:
    named = ctx.content.townships.find(msg.text)
    return township.save(msg, ctx, named) if named is not None else township.ask_township(msg, ctx)


# A question's grammar: a question about a hazard or about reporting wants its answer first.
QUESTION = re.compile(r"[吗么嘛呢?？]\W*$|能不能|可不可以|可以吗|会不会|要不要|是不是|有没有|能否|行不行|可以不|中不中"
                      r"|怎么|如何|多少|多久|多长时间|几天|哪里|哪儿|什么|为什么|为啥|咋")


def _entry_options(found: knowledge_base.Understanding, most: int) -> list[str]:
    """The closest knowledge entries as choices ("entry:<id>"), those at least ENTRY_FLOOR close."""
    return [f"entry:{m.entry.id}" for m in found.matches[:most] if m.score >= ENTRY_FLOOR]


def _answer_then_offer(msg: Inbound, ctx: Context, option: str) -> str | None:
    """A question an entry answers outright: the answer, then the feature as a one-number offer."""
    if not QUESTION.search(msg.text):
        return None
    result = ctx.content.knowledge.understand(msg.text, _today(ctx))
    if result.band == "choose":  # close entries, none sure (举报属实给多少钱): they and the feature as choices
        return _offer_choices(msg, ctx, _entry_options(result, MAX_CHOICES - 1) + [option])
    if result.band != "direct":
        return None
    reply = knowledge.answer(result.matches[0].entry, ctx, band="direct", score=result.matches[0].score)
    _enter_choices(ctx, [option], msg.original_text)
    return reply + "\n\n" + TEXTS["offer_after"][option]


def serve_report(msg: Inbound, ctx: Context) -> str:
    """Wanting to report: the report starts; a question about reporting (奖励, 保密) is answered first."""
    return _answer_then_offer(msg, ctx, "intent:report") or report.start_report(msg, ctx)


def serve_hazard(msg: Inbound, ctx: Context) -> str:
    """A hazard described: the offer to report it, its words kept; asked as a question, the answer first."""
    return _answer_then_offer(msg, ctx, "intent:hazard_statement") or report.offer(ctx, msg.original_text)


# A greeting in other words that thanks or says goodbye ("谢谢你们 辛苦了") is answered as one.
_THANKS = ("谢", "辛苦", "感激", "thank", "thx")
_BYE = ("再见", "拜拜", "回头见", "bye")


def serve_greeting(msg: Inbound, ctx: Context) -> str:
    text = msg.text.lower()
    if any(word in text for word in _THANKS):
        return knowledge.TEXTS["thanks"]
    if any(word in text for word in _BYE):
        return knowledge.TEXTS["bye"]
    return TEXTS["greeting"]


def serve_help(msg: Inbound, ctx: Context) -> str:
    return common.help_text(ctx)


# intent -> (handler, pure): pure ones only read (or leave choices), so they need no lock (bot/chat/gate.py).
SERVE: dict[str, tuple[Callable[[Inbound, Context], object], bool]] = {
    "emergency": (emergency.answer_heard, True),
    "help": (serve_help, True),
    "greeting": (serve_greeting, True),
    "quiz": (quiz.start_quiz, False),
    "leaderboard": (quiz.show_rank, False),
    "my_score": (quiz.show_mine, False),
    "prize": (prize_claim.start_claim, False),
    "report": (serve_report, False),
    "hazard_statement": (serve_hazard, False),
    "my_reports": (report.list_mine, False),
    "ticket_query": (serve_ticket, False),
    "events": (events.upcoming_events, True),
    "township": (serve_township, False),
    "knowledge": (serve_knowledge, True),
    "out_of_scope": (serve_out_of_scope, True),
}


def _register(intent: str, handler: Callable, pure: bool) -> None:
    def serve(msg: Inbound, ctx: Context):
        guess = guess_of(msg, ctx)
        log.info("intent %s (%.2f)", intent, guess.confidence if guess else 0.0,
                 extra={"intent": intent, "intent_confidence": guess.confidence if guess else None})
        return handler(msg, ctx)

    serve.__name__ = f"serve_{intent}"
    serve.intent = intent  # type: ignore[attr-defined] - read by tests/understanding.py
    router.on(learned(intent), pure=pure)(serve)


for _intent, (_handler, _pure) in SERVE.items():  # before offer_choices: sure (or danger) wins
    _register(_intent, _handler, _pure)


# --- choices when unsure ----------------------------------------------------------------------------

_NUMBER = re.compile(r"^第?([1-3一二三])(个|条|项)?$")
_DIGITS = {"一": 1, "二": 2, "三": 3}
TAKE_WORDS = ("举报", "要举报")  # and any plain yes (bot/services/yesno.py)


def _plain(msg: Inbound) -> str:
    return re.sub(r"[\s\W_]+", "", msg.text) if msg.kind in ("text", "voice") else ""


def picked_number(msg: Inbound, ctx: Context) -> bool:
    return bool(_NUMBER.match(_plain(msg)))


REPORT_OFFERS = ("intent:hazard_statement", "intent:report")


def _takes_the_one_offer(msg: Inbound, ctx: Context) -> bool:
    """One offer: 是 takes it as well as 1, and 举报 takes an offer to report."""
    offered = ctx.conv.data.get("choices") or []
    return len(offered) == 1 and (says_yes(msg, ctx) or offered[0] in REPORT_OFFERS)


@router.on(picked_number, state=IntentChoice.choose)
@router.on(says_yes, text_in(*TAKE_WORDS), state=IntentChoice.choose)
def take_choice(msg: Inbound, ctx: Context):
    """A number from the offered choices (or 举报/是 to the one offer to report) runs that choice."""
    offered: list[str] = ctx.conv.data.get("choices", [])
    text: str = ctx.conv.data.get("text", "")
    match = _NUMBER.match(_plain(msg))
    if match is None and not _takes_the_one_offer(msg, ctx):
        ctx.conv.clear()
        return _reroute(msg, ctx)
    index = (int(match.group(1)) if match.group(1).isdigit() else _DIGITS[match.group(1)]) if match else 1
    if index > len(offered):
        return _choices_text(ctx, offered)
    chosen = offered[index - 1]
    ctx.conv.clear()
    kind, _, value = chosen.partition(":")
    if kind == "entry":
        entry = ctx.content.knowledge.get(value, _today(ctx))
        return knowledge.answer(entry, ctx, band="chosen", score=None) if entry else knowledge.TEXTS["choice_gone"]
    log.info("intent %s (chosen)", value, extra={"intent": value, "intent_confidence": None})
    if value == "hazard_statement":
        return report.report_text(ctx, text)
    return SERVE[value][0](msg, ctx)


take_choice.intent = "choice"  # type: ignore[attr-defined]


@router.on(state=IntentChoice.choose, pure=True)  # it only drops context
def leave_choice(msg: Inbound, ctx: Context) -> GoOn:
    """Anything else: the choices are dropped and the message routed afresh (a second unsure message
    in a row then gets the short help rather than more choices)."""
    ctx.conv.clear()
    return _reroute(msg, ctx)


def _reroute(msg: Inbound, ctx: Context) -> GoOn:
    ctx.memo["intent.asked_before"] = True
    return GO_ON


def _options(msg: Inbound, ctx: Context) -> list[str]:
    """Up to three choices: the likely intents, a knowledge intent as its closest entries."""
    guess = guess_of(msg, ctx)
    if guess is None:
        return []
    options: list[str] = []
    for intent, p in guess.ranked:
        if p < OFFER_FLOOR or len(options) >= MAX_CHOICES:
            break
        if intent == "knowledge":
            found = ctx.content.knowledge.understand(msg.text, _today(ctx))
            options += _entry_options(found, 2)
        elif intent == "hazard_statement" and len(fold(msg.text)) < MIN_STATEMENT:
            continue
        elif intent == "help" and options == [] and guess.intent != "help":
            continue  # "all features" is no answer to what was asked; the hotline footer says more
        elif intent in CHOICE_LABELS:
            options.append(f"intent:{intent}")
    return options[:MAX_CHOICES]


def unsure(msg: Inbound, ctx: Context) -> bool:
    """Matcher: the guess is not sure but names something worth offering."""
    guess = guess_of(msg, ctx)
    return (guess is not None and not guess.sure and guess.confidence >= UNSURE_FLOOR
            and (guess.intent == "out_of_scope" or bool(_options(msg, ctx))))


def _knowledge_answers(msg: Inbound, ctx: Context) -> bool:
    """Knowledge leads and the knowledge base has candidates (a bare topic word: 燃气), or an entry
    answers the message outright (手上溅到硫酸了): the knowledge base's own answer or choices serve
    best; a statement still hears how to report it, and a danger word the number first."""
    guess = guess_of(msg, ctx)
    if guess is None:
        return False
    (first, p1), (_, p2) = guess.ranked[0], guess.ranked[1]
    band = ctx.content.knowledge.understand(msg.text, _today(ctx)).band
    return band == "direct" or first == "knowledge" and (band == "choose" or p2 < KNOWLEDGE_LEAD * p1)


@router.on(unsure, pure=True)
def offer_choices(msg: Inbound, ctx: Context) -> str:
    if _knowledge_answers(msg, ctx):
        return _answered_by_entry(msg, ctx, "unsure")
    options = _options(msg, ctx)
    if not options:  # likely out of scope, and nothing of ours comes close
        log.info("intent out_of_scope (unsure, nothing else close)", extra={"intent": "out_of_scope"})
        return serve_out_of_scope(msg, ctx)
    if ctx.memo.get("intent.asked_before"):
        return common.not_understood(msg, ctx)
    return _offer_choices(msg, ctx, options)


offer_choices.intent = "unsure"  # type: ignore[attr-defined]


def _offer_choices(msg: Inbound, ctx: Context, options: list[str]) -> str:
    _enter_choices(ctx, options, msg.original_text)
    guess = guess_of(msg, ctx)
    log.info("intent unsure: %s", ",".join(options),
             extra={"intent": "unsure", "intent_choices": options, "intent_confidence": guess.confidence if guess else None})
    text = _choices_text(ctx, options)
    if guess is not None and guess.intent == "out_of_scope":
        line = ctx.content.hotlines.for_text(msg.text)
        text += "\n" + TEXTS["choose_footer_out"].format(number=line.number, name=line.name)
    return text


def _enter_choices(ctx: Context, options: list[str], text: str) -> None:
    ctx.conv.enter(IntentChoice.choose, idle=CHOICE_IDLE, choices=options, text=text)


def _label(ctx: Context, option: str) -> str:
    kind, _, value = option.partition(":")
    if kind == "entry":
        entry = ctx.content.knowledge.get(value, _today(ctx))
        return entry.question if entry else value
    return CHOICE_LABELS[value]


def _choices_text(ctx: Context, options: list[str]) -> str:
    if len(options) == 1:
        one = "choose_one_entry" if options[0].startswith("entry:") else "choose_one"
        return TEXTS[one].format(label=_label(ctx, options[0]))
    lines = [f"{n}. {_label(ctx, o)}" for n, o in enumerate(options, start=1)]
    return "\n".join([TEXTS["choose_header"], *lines, TEXTS["choose_footer"]])
