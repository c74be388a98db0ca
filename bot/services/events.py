"""The campaign's event calendar (`content/events.toml`): loading, understanding questions, reminders.

A citizen asks in their own words ("这周有什么活动", "明天有演练吗", "城关镇 宣讲"); `parse_query`
decides whether a message is about events at all (a safety question such as "燃气泄漏怎么办" must
fall through to knowledge) and what it asks for; `search` answers it. Reminders are rows in
`event_reminders`, pushed through the outbox by `enqueue_due_reminders` (the scheduler's job).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import TZ
from bot.content import ContentError, read_toml, require_text
from bot.models.events import EventReminder, ReminderStatus
from bot.services import outbox
from bot.services.dates import When, day_label, find_when, short_day
from bot.services.townships import Townships, load_townships

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Kind:
    id: str
    label: str
    # Words that on their own make a message an event question ("演练"), and words that only
    # count next to a date, a place or a question about time/place ("咨询" alone may be a question).
    strong: tuple[str, ...]
    weak: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {k.id: k for k in (
    Kind("launch", "启动仪式", ("启动仪式", "启动会", "启动大会", "开幕式", "启动式"), ("启动", "仪式", "开幕")),
    Kind("consultation", "宣传咨询日", ("咨询日", "宣传咨询", "咨询活动", "咨询点", "咨询台", "咨询展台", "在线访谈",
                                   "网络公开课", "公开课"), ("咨询", "展台", "场馆体验", "直播", "访谈")),
    Kind("lecture", "巡回宣讲", ("宣讲", "巡讲", "讲座", "培训", "讲课", "报告会", "授课"), ("上课",)),
    Kind("drill", "应急演练", ("演练", "演习", "实战演练"), ("演示",)),
    Kind("showcase", "警示教育展播", ("展播", "警示教育", "警示片", "作品展", "书画", "书法", "绘画"), ("展览", "视频")),
    Kind("five_into", '安全宣传"五进"', ("五进", "进企业", "进学校", "进校园", "进社区", "进农村", "进家庭", "宣传队",
                                     "志愿宣传"), ("志愿者",)),
)}

# Words that say "I am asking about the schedule".
EVENT_WORDS = ("活动", "日程", "日历", "安排", "行程", "节目")
# Asking when or where; they let a weak word or a bare date count.
ASK_WORDS = ("哪里", "在哪", "哪儿", "哪个地方", "什么地方", "地点", "地址", "什么时候", "啥时候", "几点", "时间", "哪天",
             "几号", "有没有", "有什么", "有啥", "有哪些", "哪些", "有吗", "举办", "举行", "开展", "参加", "报名", "干嘛", "干啥")
# A how-to or what-is question is for the knowledge base, unless it also asks when or where.
HOWTO_WORDS = ("怎么办", "怎么做", "怎么处理", "如何", "怎样", "为什么", "注意什么", "注意事项", "是什么", "什么是",
               "什么意思", "要点", "方法", "技巧", "常识", "知识")
TIME_PLACE_WORDS = ("哪里", "在哪", "哪儿", "地点", "什么时候", "啥时候", "几点", "哪天", "几号", "时间")
# Other features' words: "答题活动" is the quiz's, not the calendar's.
OTHER_FEATURE_WORDS = ("答题", "竞答", "答卷", "举报", "随手拍", "隐患", "领奖", "抽奖", "奖品", "排名", "排行", "成绩")
NEAR_WORDS = ("附近", "我这", "我们这", "我家", "身边", "本地", "家门口", "周边")
FILLER_WORDS = ("安全生产月", "安全月", "安全生产", "安全宣传", "宣传", "本次", "今年", "全县", "县里", "请问", "我想",
                "想知道", "知道", "看看", "查一下", "查查", "查询", "一下", "可以", "能不能", "是不是", "上午",
                "下午", "晚上", "早上", "中午", "全天", "最近", "近期", "接下来", "以后", "之后", "还", "都", "会",
                "有", "的", "吗", "呢", "吧", "啊", "呀", "了", "么", "在", "是", "去", "我", "你", "您", "请", "和",
                "与", "及", "要", "想", "个", "场", "次", "哪", "里", "啥", "什么", "几")
# Words in many titles that name no event in particular ("注意安全" is not about 安全宣传"五进").
GENERIC_WORDS = ("安全", "应急", "宣传", "生产", "专场", "县级", "教育", "事故", "活动", "巡回", "线上", "现场")
# How citizens shorten what the titles spell out.
TOPIC_ALIASES = {"危化品": "危险化学品", "危化": "危险化学品", "化学品": "危险化学品", "矿山": "煤矿", "防洪": "防汛"}
MAX_QUERY_LENGTH = 60  # longer messages are questions or reports, not calendar look-ups
PROGRAMME_DAYS = 3     # an event running this many days or more is a programme (e.g. the showcase)
SUMMARY_DAYS = 5       # the campaign summary lists up to this many dates of a kind, else the span


@dataclasses.dataclass(frozen=True)
class Event:
    id: str
    title: str
    kind: str
    start: dt.datetime
    end: dt.datetime  # exclusive for all-day events (midnight after the last day)
    all_day: bool
    place: str
    description: str
    township: str | None = None
    audience: str = ""
    link: str = ""
    contact: str = ""
    example: bool = False

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind].label

    @property
    def last_day(self) -> dt.date:
        return (self.end - dt.timedelta(days=1)).date() if self.all_day else self.end.date()

    @property
    def is_programme(self) -> bool:
        """Runs for days (the showcase): mentioned alongside a day's events rather than among them."""
        return (self.last_day - self.start.date()).days + 1 >= PROGRAMME_DAYS

    def has_ended(self, now: dt.datetime) -> bool:
        return self.end <= now if self.end > self.start else self.start < now

    def has_started(self, now: dt.datetime) -> bool:
        return self.start <= now

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        begin = dt.datetime.combine(first, dt.time(), TZ)
        finish = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TZ)
        return self.start < finish and (self.end > begin or self.start >= begin)

    def when_text(self) -> str:
        """"6月1日（周二）09:00—10:30", "6月1日（周二）全天", "6月1日—6月30日"."""
        first, last = self.start.date(), self.last_day
        if self.all_day:
            return f"{day_label(first)}全天" if first == last else f"{short_day(first)}—{short_day(last)}"
        start = self.start.strftime("%H:%M")
        if self.end <= self.start:
            return f"{day_label(first)}{start}"
        if first == last:
            return f"{day_label(first)}{start}—{self.end.strftime('%H:%M')}"
        return f"{short_day(first)} {start}—{short_day(last)} {self.end.strftime('%H:%M')}"


@dataclasses.dataclass(frozen=True)
class Events:
    items: tuple[Event, ...]  # sorted by start, then end

    @functools.cached_property
    def titles_and_places(self) -> str:
        """Every title and place in one string, so a piece of a question is looked up with one `in`."""
        return "\n".join(f"{e.title} {e.place}" for e in self.items)

    @functools.cached_property
    def questions(self) -> Callable[[str, Townships, dt.date], EventQuery | None]:
        """`parse_query` for this calendar, remembering its answers: citizens ask the same few
        questions all day, and reading one took ~80 µs (like Knowledge.understand)."""
        return functools.lru_cache(maxsize=2048)(functools.partial(_parse_query, events=self))

    def get(self, event_id: str) -> Event | None:
        return next((e for e in self.items if e.id == event_id), None)

    def upcoming(self, now: dt.datetime) -> list[Event]:
        """Not yet over: what is on now, then what comes next."""
        return [e for e in self.items if not e.has_ended(now)]


# --- loading ------------------------------------------------------------------------------------

FIELDS = {"id", "title", "kind", "start", "end", "place", "township", "audience", "description", "link",
          "contact", "example"}


def load_events(directory: Path) -> Events:
    path = directory / "events.toml"
    return events_from_entries(path, read_toml(path).get("event"), load_townships(directory))


def events_from_entries(path: Path, entries: Any, townships: Townships) -> Events:
    """The calendar from its `[[event]]` tables: the file's, or the file's with the console's edits."""
    if not isinstance(entries, list) or not entries:
        raise ContentError(path, "[[event]]", "-", "no events")
    items: list[Event] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        event_id = require_text(path, f"event #{index + 1}", entry, "id")
        if event_id in seen:
            raise ContentError(path, event_id, "id", "duplicate id")
        seen.add(event_id)
        items.append(event_from_entry(path, event_id, entry, townships))
    return Events(tuple(sorted(items, key=lambda e: (e.start, e.end, e.id))))


def event_from_entry(path: Path, event_id: str, entry: dict[str, Any], townships: Townships) -> Event:
    """One `[[event]]` table checked and read; raises ContentError naming the field."""
    unknown = set(entry) - FIELDS
    if unknown:
        raise ContentError(path, event_id, sorted(unknown)[0], "unknown field")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", event_id):
        raise ContentError(path, event_id, "id", "use lower-case letters, digits, - and _ (at most 64)")
    kind = require_text(path, event_id, entry, "kind")
    if kind not in KINDS:
        raise ContentError(path, event_id, "kind", f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    start, start_all_day = _moment(path, event_id, entry, "start")
    end, end_all_day = _moment(path, event_id, entry, "end") if "end" in entry else (start, start_all_day)
    if start_all_day != end_all_day:
        raise ContentError(path, event_id, "end", "start and end must both be dates or both date-times")
    if start_all_day:
        end += dt.timedelta(days=1)  # the whole last day
    if end < start:
        raise ContentError(path, event_id, "end", "before start")
    township = entry.get("township") or None
    if township is not None and (not isinstance(township, str) or townships.get(township) is None):
        raise ContentError(path, event_id, "township", f"unknown township {township!r} (ids are in townships.toml)")
    link = _optional_text(path, event_id, entry, "link")
    if link and not re.match(r"https?://\S+$", link):
        raise ContentError(path, event_id, "link", "must be an http(s) URL")
    example = entry.get("example", False)
    if not isinstance(example, bool):
        raise ContentError(path, event_id, "example", "must be true or false")
    return Event(
        id=event_id, title=require_text(path, event_id, entry, "title"), kind=kind, start=start, end=end,
        all_day=start_all_day, place=require_text(path, event_id, entry, "place"),
        description=require_text(path, event_id, entry, "description"), township=township,
        audience=_optional_text(path, event_id, entry, "audience"), link=link,
        contact=_optional_text(path, event_id, entry, "contact"), example=example,
    )


def _optional_text(path: Path, event_id: str, entry: dict[str, Any], field: str) -> str:
    value = entry.get(field, "")
    if not isinstance(value, str):
        raise ContentError(path, event_id, field, "must be text")
    return value.strip()


def _moment(path: Path, event_id: str, entry: dict[str, Any], field: str) -> tuple[dt.datetime, bool]:
    """A TOML date (all day) or date-time (Asia/Shanghai unless it names an offset); ISO text works too."""
    value = entry.get(field)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if "T" in value or " " in value.strip() else \
                dt.date.fromisoformat(value)
        except ValueError:
            raise ContentError(path, event_id, field, f"not a date or date-time: {value!r}") from None
    if isinstance(value, dt.datetime):
        return (value.replace(tzinfo=TZ) if value.tzinfo is None else value.astimezone(TZ)), False
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), TZ), True
    raise ContentError(path, event_id, field, "missing, or not a date (2021-06-01) or date-time (2021-06-01T09:00:00)")


# --- understanding a question -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EventQuery:
    """What a citizen asked for; every part optional."""

    first: dt.date | None = None
    last: dt.date | None = None
    when_label: str = ""
    kinds: tuple[str, ...] = ()
    township: str | None = None
    words: str = ""        # a piece of an event's title or place the citizen named ("人民广场", "防汛")
    near_me: bool = False  # "附近": the citizen's own township, if we know it

    @property
    def when(self) -> When | None:
        return When(self.first, self.last, self.when_label) if self.first and self.last else None

    def with_township(self, township: str | None) -> EventQuery:
        return dataclasses.replace(self, township=township, near_me=False)

    def without_when(self) -> EventQuery:
        return dataclasses.replace(self, first=None, last=None, when_label="")


@dataclasses.dataclass(frozen=True)
class _Reading:
    query: EventQuery
    strong_kind: bool
    weak_kind: bool
    residue: str  # what is left once every known word is taken out


@functools.cache
def _kind_words() -> list[tuple[str, str, bool]]:
    words = [(w, k.id, True) for k in KINDS.values() for w in k.strong]
    words += [(w, k.id, False) for k in KINDS.values() for w in k.weak]
    return sorted(words, key=lambda w: -len(w[0]))


def _blank(text: str, word: str) -> str:
    return text.replace(word, " ")


_PHRASES = sorted({*EVENT_WORDS, *ASK_WORDS, *NEAR_WORDS, *FILLER_WORDS}, key=len, reverse=True)
LONG_PHRASES = tuple(w for w in _PHRASES if len(w) > 1)
SINGLE_CHARACTERS = tuple(w for w in _PHRASES if len(w) == 1)


def _read(text: str, events: Events, townships: Townships, today: dt.date) -> _Reading:
    rest = text
    when_match = find_when(text, today)
    if when_match:
        for start, end in when_match.spans:
            rest = rest[:start] + " " * (end - start) + rest[end:]
    kinds: list[str] = []
    strong = weak = False
    for word, kind_id, is_strong in _kind_words():
        if word in rest:
            rest = _blank(rest, word)
            if kind_id not in kinds:
                kinds.append(kind_id)
            strong, weak = strong or is_strong, weak or not is_strong
    township = townships.find(rest)
    if township is not None:
        for name in sorted((township.name, *township.aliases), key=len, reverse=True):
            rest = _blank(rest, name)
    near = any(w in rest for w in NEAR_WORDS)
    # Phrases first; single characters (有, 的, 吗) only after looking for a place or title, so that
    # "人民广场" keeps its 场.
    for word in LONG_PHRASES:
        if word in rest:
            rest = _blank(rest, word)
    leftover = re.sub(r"[\W_]+", "", rest)
    for short, full in TOPIC_ALIASES.items():
        if short in leftover and full not in leftover:
            leftover = leftover.replace(short, full)
    named = _named_words(leftover, events)
    residue = leftover.replace(named, "") if named else leftover
    for char in SINGLE_CHARACTERS:
        residue = residue.replace(char, "")
    when = when_match.when if when_match else None
    query = EventQuery(first=when.first if when else None, last=when.last if when else None,
                       when_label=when.label if when else "", kinds=tuple(kinds),
                       township=township.id if township else None, words=named, near_me=near and township is None)
    return _Reading(query, strong, weak, residue)


def _named_words(leftover: str, events: Events) -> str:
    """The longest piece (two characters or more) of what is left that names an event's title or place."""
    haystack = events.titles_and_places
    for size in range(len(leftover), 1, -1):
        for start in range(len(leftover) - size + 1):
            piece = leftover[start:start + size]
            # "泉镇" is a piece of 龙泉镇, never a place of its own: a citizen's 柳泉镇 is not it.
            if piece[-1] in "镇乡" and len(piece) < 3:
                continue
            if piece in haystack and len(_without_generic(piece)) >= 2:
                return piece
    return ""


def _without_generic(piece: str) -> str:
    for word in GENERIC_WORDS:
        piece = piece.replace(word, "")
    return piece


def parse_query(text: str, events: Events, townships: Townships, today: dt.date) -> EventQuery | None:
    """The event question in a citizen's message, or None when the message is about something else."""
    return events.questions(text, townships, today)


def _parse_query(text: str, townships: Townships, today: dt.date, *, events: Events) -> EventQuery | None:
    text = text.strip()
    if not text or len(text) > MAX_QUERY_LENGTH:
        return None
    reading = _read(text, events, townships, today)
    q = reading.query
    has_kind = reading.strong_kind or reading.weak_kind
    if any(w in text for w in OTHER_FEATURE_WORDS) and not has_kind:
        return None
    asks_time_or_place = any(w in text for w in TIME_PLACE_WORDS)
    if any(w in text for w in HOWTO_WORDS) and not (q.when or asks_time_or_place):
        return None
    asks = asks_time_or_place or any(w in text for w in ASK_WORDS)
    if any(w in text for w in EVENT_WORDS) or reading.strong_kind:
        return q
    if reading.weak_kind and (q.when or q.township or asks or q.words):
        return q
    if q.when and not reading.residue:
        return q  # "明天", "6月1号有什么": a bare date asks for that day's events
    if q.words and (q.when or asks_time_or_place):
        return q
    return None


def query_from_words(text: str, events: Events, townships: Townships, today: dt.date) -> EventQuery:
    """Read an event's description however it is phrased (for 提醒 <活动>); never None."""
    return _read(text, events, townships, today).query


# --- answering ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Found:
    items: list[Event]
    alongside: list[Event]  # programmes running over the days asked about (date questions only)


def _filtered(items: Iterable[Event], query: EventQuery) -> list[Event]:
    out = []
    for event in items:
        if query.kinds and event.kind not in query.kinds:
            continue
        if query.township and event.township != query.township:
            continue
        if query.words and query.words not in f"{event.title} {event.place}":
            continue
        out.append(event)
    return out


def matching(events: Events, query: EventQuery) -> list[Event]:
    """Every event of the kind, township and words asked for, past ones included (dates ignored)."""
    return _filtered(events.items, query)


def search(events: Events, query: EventQuery, now: dt.datetime) -> Found:
    """Events matching the query, by time: on the days asked about, or (no date) not over yet."""
    matching = _filtered(events.items, query)
    when = query.when
    if when is None:
        return Found([e for e in matching if not e.has_ended(now)], [])
    on_days = [e for e in matching if e.overlaps(when.first, when.last)]
    if query.kinds:
        return Found(on_days, [])
    return Found([e for e in on_days if not e.is_programme], [e for e in on_days if e.is_programme])


def next_events(events: Events, query: EventQuery, now: dt.datetime) -> tuple[list[Event], bool]:
    """What to offer when the days asked about have nothing: the next ones like it (True), else the next ones."""
    after = now
    if query.when is not None:
        after = max(now, dt.datetime.combine(query.when.last + dt.timedelta(days=1), dt.time(), TZ))
    later = [e for e in events.items if e.start >= after and not e.has_ended(now)]
    alike = _filtered(later, query.without_when())
    return (alike, True) if alike else (later, False)


def campaign_summary(events: Events) -> list[tuple[str, str]]:
    """(kind label, dates) per kind, in calendar order: the campaign's events once it is over."""
    lines = []
    for kind in sorted(KINDS.values(), key=lambda k: min((e.start for e in events.items if e.kind == k.id),
                                                          default=dt.datetime.max.replace(tzinfo=TZ))):
        of_kind = [e for e in events.items if e.kind == kind.id]
        if not of_kind:
            continue
        first = min(e.start.date() for e in of_kind)
        last = max(e.last_day for e in of_kind)
        days = sorted({e.start.date() for e in of_kind})
        if len(of_kind) == 1 or first == last:
            dates = of_kind[0].when_text().split("（")[0] if first == last else f"{short_day(first)}—{short_day(last)}"
        elif len(days) <= SUMMARY_DAYS:
            dates = "、".join(short_day(d) for d in days)
        else:
            dates = f"{short_day(first)}—{short_day(last)}"
        if len(of_kind) > 1:
            dates += f"（共{len(of_kind)}场）"
        lines.append((kind.label, dates))
    return lines


# --- reminders ----------------------------------------------------------------------------------

REMINDER_TEXT = "【活动提醒】{title}\n时间：{when}\n地点：{place}{link}\n请合理安排时间，注意出行安全。发送 我的提醒 可查看或取消提醒。"


def remind_at(event: Event, hours_before: int) -> dt.datetime:
    return event.start - dt.timedelta(hours=hours_before)


def subscribe(session: Session, *, openid: str, event: Event, now: dt.datetime,
              hours_before: int) -> tuple[EventReminder, bool]:
    """The citizen's reminder for the event, and whether it is new (asking twice keeps one)."""
    existing = _reminder(session, openid, event.id)
    if existing is not None:
        return existing, False
    row = EventReminder(openid=openid, event_id=event.id, title=event.title[:200], place=event.place[:200],
                        event_start=event.start, remind_at=remind_at(event, hours_before),
                        status=ReminderStatus.WAITING, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same citizen, twice at once: the other one won
        found = _reminder(session, openid, event.id)
        if found is None:
            raise
        return found, False
    return row, True


def _reminder(session: Session, openid: str, event_id: str) -> EventReminder | None:
    return session.scalar(select(EventReminder).where(EventReminder.openid == openid,
                                                      EventReminder.event_id == event_id))


def cancel(session: Session, openid: str, event_id: str) -> bool:
    row = _reminder(session, openid, event_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def reminders_of(session: Session, openid: str, now: dt.datetime) -> list[EventReminder]:
    """The citizen's reminders for events that have not started, soonest first."""
    return list(session.scalars(
        select(EventReminder)
        .where(EventReminder.openid == openid, EventReminder.event_start > now,
               EventReminder.status.in_((ReminderStatus.WAITING, ReminderStatus.QUEUED)))
        .order_by(EventReminder.event_start, EventReminder.id)))


def withdrawn_of(session: Session, openid: str, now: dt.datetime) -> list[EventReminder]:
    """The citizen's reminders of events taken off the calendar (cancelled) that had not begun yet:
    told to them when they look at their reminders, since the notice may not have reached them."""
    return list(session.scalars(
        select(EventReminder)
        .where(EventReminder.openid == openid, EventReminder.event_start > now,
               EventReminder.status == ReminderStatus.WITHDRAWN)
        .order_by(EventReminder.event_start, EventReminder.id)))


def refresh_reminders(session: Session, events: Events, hours_before: int) -> int:
    """Bring waiting reminders in line with the content (staff may have moved or removed an event)."""
    changed = 0
    for row in session.scalars(select(EventReminder).where(EventReminder.status == ReminderStatus.WAITING)):
        event = events.get(row.event_id)
        if event is None:
            row.status = ReminderStatus.WITHDRAWN
            changed += 1
            continue
        wanted = (event.title[:200], event.place[:200], event.start, remind_at(event, hours_before))
        if (row.title, row.place, row.event_start, row.remind_at) != wanted:
            row.title, row.place, row.event_start, row.remind_at = wanted
            changed += 1
    session.flush()
    return changed


def due_reminders(session: Session, now: dt.datetime) -> list[EventReminder]:
    """Waiting reminders whose time has come."""
    return list(session.scalars(
        select(EventReminder)
        .where(EventReminder.status == ReminderStatus.WAITING, EventReminder.remind_at <= now)
        .order_by(EventReminder.remind_at, EventReminder.id)))


def reminder_text(row: EventReminder, event: Event | None) -> str:
    when = event.when_text() if event else f"{day_label(row.event_start.date())}{row.event_start:%H:%M}"
    link = f"\n详情：{event.link}" if event and event.link else ""
    return REMINDER_TEXT.format(title=row.title, when=when, place=row.place, link=link)


def enqueue_due_reminders(session: Session, now: dt.datetime, events: Events | None = None) -> int:
    """Put every due reminder into the outbox, exactly once; returns how many. The caller commits.

    A reminder whose event has already started is marked missed instead: a late "it starts soon"
    helps no one.
    """
    queued = 0
    for row in due_reminders(session, now):
        if row.event_start <= now:
            row.status = ReminderStatus.MISSED
            continue
        event = events.get(row.event_id) if events else None
        outbox.enqueue(session, key=f"event-reminder:{row.id}", purpose="event_reminder", openid=row.openid,
                       payload=outbox.text_payload(reminder_text(row, event)), now=now)
        row.status = ReminderStatus.QUEUED
        row.queued_at = now
        queued += 1
    session.flush()
    if queued:
        log.info("queued %d event reminders", queued)
    return queued
