"""Danger now: whom to call and what to do this second, before anything else (content/emergencies.toml).

The first router of all, from any state: a quiz round, a prize claim or a report keeps its place
(nothing of it is touched), and the citizen hears the number first. At a step that takes the
citizen's own words (a report's description: `keeps_text`), the words are still saved by that step
and its reply follows the warning, so nothing typed is lost.
"""

from __future__ import annotations

import logging

from bot.chat.context import ANSWER_WITHOUT_STORE, Context
from bot.chat.routing import GoOn, Router
from bot.services.emergencies import Alarm, Emergencies
from bot.wechat.inbound import Inbound

log = logging.getLogger(__name__)

router = Router("emergency")

# Steps whose handler keeps the message as data (registered by the flows that own them).
KEEPS_TEXT: set[str] = set()
SECOND_KINDS = 1  # besides the first kind, at most this many more get their own line

TEXTS = {
    "kept_flow": "（您刚才办理的内容都还保留着，安全以后可以接着回复；发送 取消 才会退出。）",
    "offers": "还可以回复序号查看：",
    "report": "发现隐患想反映，发送 举报。",
    "calm": "如果正在发生，请立即拨打{numbers}。",
}


def keeps_text(*states: str) -> None:
    """Declare steps that save the citizen's words: an emergency there is saved as well as answered."""
    KEEPS_TEXT.update(states)


def _emergencies(ctx: Context) -> Emergencies:
    return ctx.content.emergencies


def alarm_of(msg: Inbound, ctx: Context) -> Alarm | None:
    """What the message says about danger (worked out once per message)."""
    if "emergency.alarm" not in ctx.memo:
        text = msg.text if msg.kind in ("text", "voice") else ""
        ctx.memo["emergency.alarm"] = _emergencies(ctx).read(text) if text else None
    return ctx.memo["emergency.alarm"]


def danger_now(msg: Inbound, ctx: Context) -> bool:
    alarm = alarm_of(msg, ctx)
    return alarm is not None and alarm.mode == "now"


def calm_line(msg: Inbound, ctx: Context) -> str | None:
    """For a calm question about a danger ("家里着火应该怎么逃生"): the number, to put first."""
    alarm = alarm_of(msg, ctx)
    if alarm is None or alarm.mode != "calm":
        return None
    return TEXTS["calm"].format(numbers=_emergencies(ctx).numbers(alarm.kind))


def warning(alarm: Alarm, ctx: Context) -> str:
    """The number and the first steps: the first kind's two lines, then other kinds' numbers."""
    emergencies = _emergencies(ctx)
    first = alarm.kind
    lines = [emergencies.first_line(first), emergencies.then_line(first)]
    said = set(first.numbers)
    for other in alarm.kinds[1:1 + SECOND_KINDS]:
        if not set(other.numbers) <= said:
            lines.append("同时：" + emergencies.first_line(other))
            said |= set(other.numbers)
    return "\n".join(lines)


@router.on(danger_now, escape=True, pure=True)
def answer_emergency(msg: Inbound, ctx: Context) -> str | GoOn:
    """Danger now: the warning first; then the step's own reply, the kept flow, or what to read next."""
    alarm = alarm_of(msg, ctx)
    assert alarm is not None
    log.warning("emergency %s (%s) answered", ",".join(k.id for k in alarm.kinds), ctx.conv.state or "no flow")
    ctx.memo[ANSWER_WITHOUT_STORE] = True
    text = warning(alarm, ctx)
    state = ctx.conv.state
    if state is not None and state in KEEPS_TEXT:  # the step takes the words too, after the warning
        return GoOn(lead=text, past_escapes=True)
    if ctx.conv.holds_work and ctx.conv.flow != "knowledge":  # numbered choices are no work to keep
        return f"{text}\n{TEXTS['kept_flow']}"
    return f"{text}\n{_offers(alarm, ctx)}"


def answer_heard(msg: Inbound, ctx: Context) -> str:
    """Danger now heard by the intent layer (handlers/intent.py) where no trigger word said it: the
    same answer, for the kinds the message names calmly (触电 without 有人), else for 救命 in general."""
    alarm = alarm_of(msg, ctx)
    kinds = alarm.kinds if alarm is not None else tuple(k for k in _emergencies(ctx).kinds if k.id == "help")
    if not kinds:
        kinds = _emergencies(ctx).kinds[:1]
    log.warning("emergency %s answered (intent layer)", ",".join(k.id for k in kinds))
    ctx.memo[ANSWER_WITHOUT_STORE] = True
    heard = Alarm("now", kinds)
    return f"{warning(heard, ctx)}\n{_offers(heard, ctx)}"


def _offers(alarm: Alarm, ctx: Context) -> str:
    """What to read next: the entry that answers the message (or the kind's first) in full, since
    in a hurry nobody replies with a number; the kind's other entries as numbered choices."""
    from handlers.knowledge import CHOICE_IDLE, Knowledge, answer

    entries = _entries(alarm, ctx)
    report = [TEXTS["report"]] if any(k.report for k in alarm.kinds) else []
    found = ctx.content.knowledge.understand(ctx.msg.text)
    inline = found.matches[0].entry if found.band == "direct" else None
    if inline is None and alarm.kind.id != "help" and entries:
        inline = entries[0]
    parts = []
    if inline is not None:
        parts.append("\n" + answer(inline, ctx, band="emergency", score=None))
        entries = [e for e in entries if e.id != inline.id][:2]
    if entries:
        ctx.conv.enter(Knowledge.choose, idle=CHOICE_IDLE, choices=[e.id for e in entries])
        header = TEXTS["offers"] if inline else TEXTS["offers"].removeprefix("还可以")
        parts += [header, *(f"{n}. {e.question}" for n, e in enumerate(entries, start=1))]
    return "\n".join([*parts, *report])


def _entries(alarm: Alarm, ctx: Context) -> list:
    entries = []
    for kind in alarm.kinds:
        for entry_id in kind.knowledge:
            entry = ctx.content.knowledge.get(entry_id)
            if entry is not None and entry not in entries:
                entries.append(entry)
    return entries[:3]
