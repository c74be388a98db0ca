"""The event calendar in the chat: questions in plain Chinese, pages with 更多, reminders.

"活动", "这周有什么活动", "明天有演练吗", "6月1号在哪里有咨询", "城关镇 宣讲", the EVENTS and
EVENTS_TODAY menu buttons; "提醒 2" / "提醒 咨询日", "我的提醒", "取消提醒 1". The last list shown is
kept in the conversation (step `events:listing`), so 更多 and the numbers refer to it.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.chat.context import Context
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import Router, kind, menu_key, regex, text_in
from bot.services import citizens
from bot.services import events as calendar
from bot.services.dates import day_label, impossible_date, parse_when, short_day
from bot.services.events import Event, EventQuery
from bot.wechat.inbound import Inbound, keyword_form
from bot.wechat.replies import Article, News, Reply
from handlers.leaving import CONTEXT, declare

router = Router("events")

# A list stays answerable (更多, 提醒 3) for days: browsing is not a task that should "time out"
# (the conversation announces an expired flow; see _quiet_expiry).
LIST_IDLE = dt.timedelta(days=3)

TEXTS = {
    "found": "{what}（共{count}项）：",
    "page": "（共{count}项，第{page}/{pages}页）：",
    "more": "回复 更多 查看后面{left}项。",
    "remind_hint": "回复 提醒+序号（如 提醒 {example}），活动开始前{hours}小时提醒您。",
    "remind_hint_soon": "回复 提醒+序号（如 提醒 {example}）订阅提醒，订阅后几分钟内提醒您（离开始已不到{hours}小时）。",
    "remind_hint_mixed": "回复 提醒+序号（如 提醒 {example}）订阅提醒：开始前{hours}小时提醒您；"
                         "已不到{hours}小时的活动，订阅后几分钟内提醒。",
    "reminder_due": "几分钟内发出",
    "reminder_exists_due": "您已订阅过「{title}」的提醒，提醒会在几分钟内发给您。发送 我的提醒 可查看。",
    "reminder_sent": "已发出",
    "reminder_was_sent": "您已订阅过「{title}」的提醒，提醒已经发出。发送 我的提醒 可查看。",
    "alongside": "同期进行：{items}",
    "nothing_on": "{what}没有安排。",
    "nothing_found": "没有找到{what}。",
    "all_ended": "{what}均已结束：",
    "next": "接下来的{what}：",
    "campaign_over": '本次"安全生产月"活动已全部结束，感谢您的关注和参与！活动回顾：',
    "last_page": "已经是最后一页了。发送 活动 可重新查看活动安排。",
    "ask_township": "请告诉我您所在的乡镇（例如回复：城关镇），或点输入框旁的 ＋ → 位置，发送您的位置。",
    "nearest": "离您发来的位置最近的是{name}。",
    "too_far": "您发来的位置离本县各乡镇都比较远（最近的{name}约{km}公里）。请回复您所在的乡镇，例如：城关镇。",
    "remind_how": "请回复 提醒+序号（先发送 活动 查看列表），或 提醒+活动名称，例如：提醒 咨询日。",
    "no_list": "请先发送 活动 查看活动列表，再回复 提醒+序号。",
    "bad_number": "没有第{number}项，请回复列表中的序号（1—{count}）。",
    "remind_not_found": "没有找到要提醒的活动。发送 活动 查看活动安排，再回复 提醒+序号。",
    "remind_choose": "找到{count}个活动，请回复 提醒+序号 选择：",
    "already_ended": "「{title}」已经结束了。",
    "already_started": "「{title}」已经开始了（{when}），无需再提醒。",
    "reminder_set": "好的，已订阅「{title}」的提醒，我们会在{at}提醒您（活动时间：{when}）。",
    "reminder_soon": "好的，已订阅「{title}」的提醒（活动时间：{when}）。离开始已不到{hours}小时，提醒会在几分钟内发给您。",
    "reminder_rule": "（按微信规则，您近48小时内与本号有过互动，提醒才能送达。发送 我的提醒 可随时查看。）",
    "reminder_exists": "您已订阅过「{title}」的提醒，我们会在{at}提醒您。发送 我的提醒 可查看。",
    "mine": "您订阅的活动提醒：",
    "mine_item": "{number}. {title}\n   时间：{when}\n   提醒：{at}",
    "mine_footer": "回复 取消提醒+序号 可取消，例如：取消提醒 1。",
    "no_reminders": "您还没有订阅活动提醒。发送 活动 查看活动安排，再回复 提醒+序号 订阅。",
    "cancelled": "已取消「{title}」的提醒。",
    "withdrawn": "以下您订阅过提醒的活动已取消：",
    "withdrawn_item": "· {title}（原定{when}）",
    "not_subscribed": "您没有订阅「{title}」的提醒。发送 我的提醒 查看已订阅的提醒。",
    "cancel_how": "请回复 取消提醒+序号，序号见 我的提醒。",
    "no_such_day": "没有{month}月{day}日这一天：{month}月只有{days}天。可以发送 {before} 或 {after} 查看那天的活动，"
                   "或发送 活动 查看全部安排。",
    "township_hint": "发送 设置乡镇 {name} 可把它设为您的乡镇，接收本乡镇的宣讲、演练通知。",
}


class Browse(StateGroup):
    flow_name = "events"
    holds_work = False  # a list being paged
    listing = State()
    near = State()  # "附近有演练吗" with no township known: the next township name or location answers it


declare(router, Browse, CONTEXT)  # another feature's word or a menu click is answered; the list stays for 提醒 <n>


NEAR_IDLE = dt.timedelta(minutes=30)


def asks_about_events(msg: Inbound, ctx: Context) -> bool:
    """A message that is a question about the calendar (not "燃气泄漏怎么办")."""
    return msg.kind in ("text", "voice") and _query(msg.text, ctx) is not None


_REMIND = re.compile(r"^(?:请)?(?:提醒我?|订阅提醒|设置提醒|预约提醒)")


def asks_for_reminder(msg: Inbound, ctx: Context) -> bool:
    """提醒 <序号|活动>; "提醒大家注意安全" names no event and is left to the other features."""
    if msg.kind not in ("text", "voice") or not _REMIND.match(msg.text):
        return False
    what = _argument(msg.text)
    return not what or what.isdigit() or _named_event(ctx, what) is not None or _has_filters(_reminder_query(ctx, what))


def _reminder_query(ctx: Context, what: str) -> EventQuery:
    return calendar.query_from_words(what, ctx.content.events, ctx.content.townships, ctx.now().date())


def _has_filters(query: EventQuery) -> bool:
    return bool(query.when or query.kinds or query.township or query.words)


def _named_event(ctx: Context, what: str) -> Event | None:
    events = ctx.content.events
    return events.get(what) or next((e for e in events.items if e.title == what), None)


def _query(text: str, ctx: Context) -> EventQuery | None:
    # Asked by the matcher, then by its handler: the calendar remembers the answer (Events.questions).
    return calendar.parse_query(text, ctx.content.events, ctx.content.townships, ctx.now().date())


# --- lists --------------------------------------------------------------------------------------

@router.on(text_in("更多", "下一页", "还有吗", "还有呢", "继续", "更多活动"), state=Browse.listing, pure=True)
def next_page(msg: Inbound, ctx: Context) -> Reply | str:
    """The next page of the last list."""
    _quiet_expiry(ctx)
    page = ctx.conv.data.get("page", 0) + 1
    if page * _page_size(ctx) >= len(ctx.conv.data.get("ids", [])):
        return TEXTS["last_page"]
    ctx.conv.update(page=page)
    return _render_page(ctx)


@router.on(regex(r"^(?:请)?(?:取消|删除|不要|退订|关闭)(?:活动)?提醒\s*(?P<what>.*)$"))
def cancel_reminder(msg: Inbound, ctx: Context) -> str:
    """取消提醒 <序号|活动>: the number is from the last list shown (or 我的提醒)."""
    _quiet_expiry(ctx)
    what = _argument(msg.text)
    mine = calendar.reminders_of(ctx.session, msg.openid, ctx.now())
    if not mine:
        return TEXTS["no_reminders"]
    if not what:
        if len(mine) > 1:
            return TEXTS["cancel_how"] + "\n\n" + _show_reminders(ctx, mine)
        event_id, title = mine[0].event_id, mine[0].title
    elif what.isdigit():
        ids = _listed_ids(ctx) or [r.event_id for r in mine]
        number = int(what)
        if not 1 <= number <= len(ids):
            return TEXTS["bad_number"].format(number=number, count=len(ids))
        event_id = ids[number - 1]
        title = _title(ctx, event_id, mine)
    else:
        matches = [r for r in mine if what in r.title or r.event_id == what]
        if not matches:
            kinds = _reminder_query(ctx, what).kinds
            matches = [r for r in mine if (e := ctx.content.events.get(r.event_id)) and e.kind in kinds]
        if len(matches) != 1:
            return TEXTS["cancel_how"] + "\n\n" + _show_reminders(ctx, mine)
        event_id, title = matches[0].event_id, matches[0].title
    if not calendar.cancel(ctx.session, msg.openid, event_id):
        return TEXTS["not_subscribed"].format(title=title)
    return TEXTS["cancelled"].format(title=title)


@router.on(text_in("我的提醒", "我的活动提醒", "提醒列表", "查看提醒", "已订阅提醒"), help="我的提醒 — 查看或取消活动提醒",
           pure=True)
def my_reminders(msg: Inbound, ctx: Context) -> str:
    """The citizen's reminders, numbered for 取消提醒."""
    _quiet_expiry(ctx)
    mine = calendar.reminders_of(ctx.session, msg.openid, ctx.now())
    gone = "".join("\n" + TEXTS["withdrawn_item"].format(title=r.title, when=_moment(r.event_start))
                   for r in calendar.withdrawn_of(ctx.session, msg.openid, ctx.now()))
    if not mine:
        return TEXTS["no_reminders"] + (f"\n\n{TEXTS['withdrawn']}{gone}" if gone else "")
    return _show_reminders(ctx, mine) + (f"\n\n{TEXTS['withdrawn']}{gone}" if gone else "")


@router.on(asks_for_reminder, help="提醒 序号 — 活动开始前提醒您")
def subscribe_reminder(msg: Inbound, ctx: Context) -> Reply | str:
    """提醒 <序号|活动>: a reminder before the event, through the outbox."""
    _quiet_expiry(ctx)
    what = _argument(msg.text)
    if not what:
        return TEXTS["remind_how"]
    if what.isdigit():
        ids = _listed_ids(ctx)
        if not ids:
            return TEXTS["no_list"]
        number = int(what)
        if not 1 <= number <= len(ids):
            return TEXTS["bad_number"].format(number=number, count=len(ids))
        event = ctx.content.events.get(ids[number - 1])
        return _subscribe(ctx, event) if event else TEXTS["remind_not_found"]
    event = _named_event(ctx, what)
    if event is not None:
        return _subscribe(ctx, event)
    query = _reminder_query(ctx, what)
    if not _has_filters(query):
        return TEXTS["remind_not_found"]
    found = calendar.search(ctx.content.events, query, ctx.now())
    candidates = [e for e in found.items + found.alongside if not e.has_started(ctx.now())]
    if not candidates:
        return TEXTS["remind_not_found"]
    if len(candidates) == 1:
        return _subscribe(ctx, candidates[0])
    return _show(ctx, TEXTS["remind_choose"].format(count=len(candidates)), candidates)


@router.on(text_in("活动", "活动安排", "活动日历", "近期活动", "全部活动", "查看活动"), menu_key("EVENTS"), pure=True)
def upcoming_events(msg: Inbound, ctx: Context) -> Reply | str:
    """Menu 活动日历 (and its words, so that they count as a command inside a flow): what is on now and next."""
    return answer(ctx, EventQuery())


@router.on(menu_key("EVENTS_TODAY"), pure=True)
def todays_events(msg: Inbound, ctx: Context) -> Reply | str:
    """Menu 今日活动."""
    when = parse_when("今天", ctx.now().date())
    return answer(ctx, EventQuery(first=when.first, last=when.last, when_label=when.label))


_PARTICLES = "呢吗啊呀的么"
IMPOSSIBLE_DATE_RESIDUE = 8  # besides the date, at most this many characters that are no event question


def township_named(msg: Inbound, ctx: Context):
    """The whole message is a township's name or alias ("城关镇", "北坡呢")."""
    if msg.kind not in ("text", "voice") or not msg.text:
        return None
    word = keyword_form(msg.text).rstrip(_PARTICLES)
    return next((t for t in ctx.content.townships.items if word in (t.name, *t.aliases)), None)


def names_a_township(msg: Inbound, ctx: Context) -> bool:
    return township_named(msg, ctx) is not None


@router.on(names_a_township, pure=True)
def township_events(msg: Inbound, ctx: Context) -> Reply | str:
    """A bare township name: what is on there, and how to make it one's own township."""
    township = township_named(msg, ctx)
    assert township is not None
    reply = answer(ctx, EventQuery(township=township.id))
    if isinstance(reply, str) and citizens.township_of(ctx.session, msg.openid) != township.id:
        reply += "\n" + TEXTS["township_hint"].format(name=township.name)
    return reply


def _no_such_day(msg: Inbound, ctx: Context):
    if msg.kind not in ("text", "voice") or not msg.text:
        return None
    found = impossible_date(msg.text, ctx.now().date())
    if found is None:
        return None
    impossible, (start, end) = found
    rest = msg.text[:start] + msg.text[end:]
    if len(re.sub(r"[\W_]+", "", rest)) > IMPOSSIBLE_DATE_RESIDUE and _query(rest, ctx) is None:
        return None  # a date in some other sentence: not a calendar question
    return impossible


def asks_about_no_such_day(msg: Inbound, ctx: Context) -> bool:
    return _no_such_day(msg, ctx) is not None


@router.on(asks_about_no_such_day, pure=True)
def no_such_day(msg: Inbound, ctx: Context) -> str:
    """"6月31日有活动吗": that day does not exist; the days on either side of it do."""
    day = _no_such_day(msg, ctx)
    assert day is not None
    return TEXTS["no_such_day"].format(month=day.month, day=day.day, days=day.days_in_month,
                                       before=short_day(day.before), after=short_day(day.after))


@router.on(asks_about_events, help="活动 — 活动安排，可加 今天/明天/本周/6月1日/演练/宣讲/乡镇名", pure=True)
def answer_question(msg: Inbound, ctx: Context) -> Reply | str:
    """A calendar question in the citizen's own words."""
    return answer(ctx, _query(msg.text, ctx) or EventQuery())


# --- answering ----------------------------------------------------------------------------------

def answer(ctx: Context, query: EventQuery) -> Reply | str:
    _quiet_expiry(ctx)
    events, now = ctx.content.events, ctx.now()
    if query.near_me:
        township = citizens.township_of(ctx.session, ctx.msg.openid)
        if township is None:
            ctx.conv.enter(Browse.near, idle=NEAR_IDLE, query=_kept_query(query))
            return TEXTS["ask_township"]
        query = query.with_township(township)
    found = calendar.search(events, query, now)
    what = _describe(ctx, query)
    if found.items:
        note = ""
        if found.alongside:
            note = TEXTS["alongside"].format(items="；".join(f"{e.title}（{e.when_text()}）" for e in found.alongside))
        return _show(ctx, TEXTS["found"].format(what=what, count=len(found.items)), found.items, note,
                     card=not note, what=what)
    filtered = bool(query.kinds or query.township or query.words)
    if query.when is None and filtered:
        past = calendar.matching(events, query)
        if past:
            return _show(ctx, TEXTS["all_ended"].format(what=what), past)
    said = TEXTS["nothing_on" if query.when else "nothing_found"].format(what=what)
    offer, alike = calendar.next_events(events, query, now)
    if not offer:
        _forget_list(ctx)
        lines = [f"· {label}：{dates}" for label, dates in calendar.campaign_summary(events)]
        opening = TEXTS["campaign_over"] if not (query.when or filtered) else f"{said}\n{TEXTS['campaign_over']}"
        return "\n".join([opening, *lines])
    like = _describe(ctx, query.without_when(), default="") if alike else "活动"
    return _show(ctx, f"{said}\n{TEXTS['next'].format(what=like)}", offer[:_page_size(ctx)])


def _kept_query(query: EventQuery) -> dict:
    return {"first": query.first.isoformat() if query.first else None,
            "last": query.last.isoformat() if query.last else None,
            "when_label": query.when_label, "kinds": list(query.kinds), "words": query.words}


def _asked_near(ctx: Context) -> EventQuery:
    kept = ctx.conv.data.get("query") or {}
    day = dt.date.fromisoformat
    return EventQuery(first=day(kept["first"]) if kept.get("first") else None,
                      last=day(kept["last"]) if kept.get("last") else None, when_label=kept.get("when_label", ""),
                      kinds=tuple(kept.get("kinds", ())), words=kept.get("words", ""))


@router.on(kind("location"), state=Browse.near, pure=True)
def near_by_location(msg: Inbound, ctx: Context) -> Reply | str:
    """The location sent after "附近有演练吗": the nearest township's events answer the question."""
    place = msg.location
    assert place is not None
    near = ctx.content.townships.closest(place.latitude, place.longitude)
    if not near.within_reach:
        return TEXTS["too_far"].format(name=near.township.name, km=round(near.distance_m / 1000))
    reply = answer(ctx, _asked_near(ctx).with_township(near.township.id))
    return f"{TEXTS['nearest'].format(name=near.township.name)}\n{reply}" if isinstance(reply, str) else reply


def _township_said(msg: Inbound, ctx: Context):
    """A short answer naming a township ("城关镇", "我在北坡")."""
    if msg.kind not in ("text", "voice") or not msg.text or len(msg.text) > 12:
        return None
    return township_named(msg, ctx) or ctx.content.townships.find(msg.text)


def names_my_township(msg: Inbound, ctx: Context) -> bool:
    return _township_said(msg, ctx) is not None


@router.on(names_my_township, state=Browse.near, pure=True)
def near_by_township(msg: Inbound, ctx: Context) -> Reply | str:
    """The township named after "附近有演练吗" answers the question asked."""
    township = _township_said(msg, ctx)
    assert township is not None
    return answer(ctx, _asked_near(ctx).with_township(township.id))


def _describe(ctx: Context, query: EventQuery, default: str = "近期") -> str:
    """"明天 6月2日（周三）的应急演练", "城关镇的巡回宣讲", "近期的活动"."""
    township = ctx.content.townships.get(query.township) if query.township else None
    where = "".join(filter(None, [query.when_label, township.name if township else "", query.words]))
    what = "、".join(calendar.KINDS[k].label for k in query.kinds) or "活动"
    where = where or default
    return f"{where}的{what}" if where else what


def _show(ctx: Context, header: str, items: list[Event], note: str = "", card: bool = False,
          what: str = "") -> Reply | str:
    """Remember the list (for 更多 and 提醒 <n>) and show its first page; one event with a page, as a card."""
    ctx.conv.enter(Browse.listing, idle=LIST_IDLE, header=header, what=what, ids=[e.id for e in items], page=0,
                   note=note)
    if card and len(items) == 1 and items[0].link:
        return _news(ctx, items[0])
    return _render_page(ctx)


def _render_page(ctx: Context) -> str:
    data, now, size = ctx.conv.data, ctx.now(), _page_size(ctx)
    ids, page = data["ids"], data.get("page", 0)
    pages = (len(ids) + size - 1) // size
    header = data["header"]
    if page and data.get("what"):
        header = data["what"] + TEXTS["page"].format(count=len(ids), page=page + 1, pages=pages)
    lines = [header]
    shown = range(page * size, min(len(ids), (page + 1) * size))
    single = len(ids) == 1
    remindable = None
    marks: set[bool] = set()  # for each remindable event: has its 24-hour mark passed?
    for index in shown:
        event = ctx.content.events.get(ids[index])
        if event is None:  # taken out of the content since the list was shown
            continue
        lines.append(_detail(ctx, event, index + 1) if single else _line(ctx, event, index + 1))
        if not event.has_started(now):
            remindable = remindable or index + 1
            marks.add(_reminder_passed(ctx, event))
    if page == 0 and data.get("note"):
        lines.append(data["note"])
    left = len(ids) - (page + 1) * size
    if left > 0:
        lines.append(TEXTS["more"].format(left=left))
    if remindable is not None:
        lines.append(_remind_hint(ctx, remindable, marks))
    return "\n".join(lines)


def _reminder_passed(ctx: Context, event: Event) -> bool:
    return calendar.remind_at(event, ctx.config.events.reminder_hours_before) <= ctx.now()


def _remind_hint(ctx: Context, example: int, marks: set[bool]) -> str:
    """The 提醒 line: "24 hours before" only where that is still ahead (a list for today has none)."""
    key = "remind_hint_soon" if marks == {True} else "remind_hint_mixed" if True in marks else "remind_hint"
    return TEXTS[key].format(example=example, hours=ctx.config.events.reminder_hours_before)


def _status(event: Event, now: dt.datetime) -> str:
    if event.has_ended(now):
        return "（已结束）"
    return "（进行中）" if event.has_started(now) else ""


def _place(ctx: Context, event: Event) -> str:
    township = ctx.content.townships.get(event.township) if event.township else None
    if township is None or township.name in event.place:
        return event.place
    return f"{event.place}（{township.name}）"


def _line(ctx: Context, event: Event, number: int) -> str:
    lines = [f"{number}. {event.title}{_status(event, ctx.now())}", f"   时间：{event.when_text()}",
             f"   地点：{_place(ctx, event)}"]
    if event.link:
        lines.append(f"   详情：{event.link}")
    return "\n".join(lines)


def _detail(ctx: Context, event: Event, number: int) -> str:
    lines = [f"{number}. {event.title}{_status(event, ctx.now())}", f"类别：{event.kind_label}",
             f"时间：{event.when_text()}", f"地点：{_place(ctx, event)}"]
    if event.audience:
        lines.append(f"对象：{event.audience}")
    lines.append(event.description)
    if event.contact:
        lines.append(f"联系：{event.contact}")
    if event.link:
        lines.append(f"详情：{event.link}")
    return "\n".join(lines)


def _news(ctx: Context, event: Event) -> News:
    """One event with a page of its own: a news card the citizen can open."""
    description = "\n".join([f"时间：{event.when_text()}", f"地点：{_place(ctx, event)}", event.description])
    if not event.has_started(ctx.now()):
        description += "\n" + _remind_hint(ctx, 1, {_reminder_passed(ctx, event)})
    return News((Article(title=f"{event.title}{_status(event, ctx.now())}", description=description, url=event.link),))


# --- reminders ----------------------------------------------------------------------------------

def _subscribe(ctx: Context, event: Event) -> str:
    now = ctx.now()
    if event.has_ended(now):
        return TEXTS["already_ended"].format(title=event.title)
    if event.has_started(now):
        return TEXTS["already_started"].format(title=event.title, when=event.when_text())
    hours = ctx.config.events.reminder_hours_before
    row, created = calendar.subscribe(ctx.session, openid=ctx.msg.openid, event=event, now=now, hours_before=hours)
    if not created:
        if row.queued_at:
            return TEXTS["reminder_was_sent"].format(title=event.title)
        if row.remind_at <= now:
            return TEXTS["reminder_exists_due"].format(title=event.title)
        return TEXTS["reminder_exists"].format(title=event.title, at=_reminded(row, now))
    if row.remind_at <= now:
        return (TEXTS["reminder_soon"].format(title=event.title, when=event.when_text(), hours=hours)
                + "\n" + TEXTS["reminder_rule"])
    return (TEXTS["reminder_set"].format(title=event.title, at=_moment(row.remind_at), when=event.when_text())
            + "\n" + TEXTS["reminder_rule"])


def _show_reminders(ctx: Context, mine: list) -> str:
    ctx.conv.enter(Browse.listing, idle=LIST_IDLE, header=TEXTS["mine"], ids=[r.event_id for r in mine],
                   page=0, note="", reminders=True)
    lines = [TEXTS["mine"]]
    for number, row in enumerate(mine, 1):
        event = ctx.content.events.get(row.event_id)
        when = event.when_text() if event else _moment(row.event_start)
        lines.append(TEXTS["mine_item"].format(number=number, title=row.title, when=when,
                                               at=_reminded(row, ctx.now())))
    lines.append(TEXTS["mine_footer"])
    return "\n".join(lines)


def _title(ctx: Context, event_id: str, mine: list) -> str:
    event = ctx.content.events.get(event_id)
    if event is not None:
        return event.title
    return next((r.title for r in mine if r.event_id == event_id), event_id)


def _listed_ids(ctx: Context) -> list[str]:
    return list(ctx.conv.data.get("ids", [])) if ctx.conv.state == Browse.listing else []


def _quiet_expiry(ctx: Context) -> None:
    """A list that was left to expire is no operation the citizen needs to be told about."""
    if ctx.conv.expired_flow == Browse.flow_name:
        ctx.conv.expired_flow = None


def _forget_list(ctx: Context) -> None:
    if ctx.conv.flow == Browse.flow_name:
        ctx.conv.clear()


def _argument(text: str) -> str:
    match = re.match(r"^\D*?(?:提醒我?)\s*(?P<what>.*)$", text)
    what = match.group("what") if match else ""
    return re.sub(r"^[\s:：,，。.、第]+|[\s。.!！?？项个]+$", "", what)


def _reminded(row, now: dt.datetime) -> str:
    """When the reminder goes out, never a time already past (the job sends a due one within minutes)."""
    if row.queued_at:
        return TEXTS["reminder_sent"]
    return _moment(row.remind_at) if row.remind_at > now else TEXTS["reminder_due"]


def _moment(moment: dt.datetime) -> str:
    return f"{day_label(moment.date())}{moment:%H:%M}"


def _page_size(ctx: Context) -> int:
    return max(1, ctx.config.events.page_size)


@router.on_cancel("events")
def leave_list(msg: Inbound, ctx: Context) -> str:
    """A list on screen is not an operation in progress: 取消 just forgets it."""
    ctx.conv.clear()
    return ctx.texts("nothing_to_cancel")
