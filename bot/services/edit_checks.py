"""Checking one console edit of an event or a push item, field by field, in Chinese.

The rules are `content check`'s own: the item goes through the loader (`event_from_entry`,
`item_from_entry`), then the whole calendar or plan with the edit applied goes through the loaders
and the part's cross-check (campaign window, mass-send quota). Their findings are turned into a
message per form field. On top come the console's rules about time: nothing is moved into the
past, an item whose moment has passed is not changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.content import Content, ContentError
from bot.services import content_edits
from bot.services.campaign_window import check_events_in_campaign, extensions
from bot.services.content_edits import EVENTS, PUSHES
from bot.services.dates import short_day
from bot.services.events import KINDS as EVENT_KINDS
from bot.services.events import Event, event_from_entry
from bot.services.pushplan import PlanItem, check_plan, item_from_entry

EVENT_LABELS = {"id": "编号", "title": "活动名称", "kind": "活动类别", "start": "开始时间", "end": "结束时间",
                "place": "地点", "township": "乡镇", "audience": "参加对象", "description": "活动简介",
                "link": "详情链接", "contact": "联系方式", "example": "示例标记"}
PUSH_LABELS = {"id": "编号", "when": "推送时间", "audience": "推送对象", "kind": "类别", "title": "标题",
               "digest": "摘要", "body": "正文", "cover": "封面图片", "source": "原文链接"}
LABELS = {EVENTS: EVENT_LABELS, PUSHES: PUSH_LABELS}
ITEM_NAMES = {EVENTS: "活动", PUSHES: "推送"}
ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
T = TypeVar("T")

# The loaders' findings (English, for developers reading `content check`) as staff read them.
LOADER_PROBLEMS = (
    ("missing or empty text", "不能为空"),
    ("duplicate id", "这个编号已被占用，请换一个"),
    ("use lower-case letters", "只能用小写英文字母、数字、- 和 _（以字母或数字开头，最多 64 个字符）"),
    ("unknown kind", "请从列表中选择"),
    ("must be one of", "请从列表中选择"),
    ("start and end must both be", "开始和结束要么都填时刻，要么都不填（全天活动）"),
    ("before start", "不能早于开始时间"),
    ("unknown township", "请从列表中选择乡镇"),
    ("must be an http(s) URL", "须是以 http:// 或 https:// 开头的网址"),
    ("not a date", "请填写正确的日期和时刻"),
    ("must be a date and time", "请填写推送的日期和时刻"),
    ('must be "all"', "请从列表中选择推送对象"),
    ("must be a file under content/", "须是 content/ 目录下的图片"),
    ("must be text", "须是文字"),
    ("must be true or false", "须是“是”或“否”"),
)
# Where a draft-box problem (already in Chinese, bot/services/articles.py) belongs on the form.
ARTICLE_FIELDS = (("标题", "title"), ("摘要", "digest"), ("正文", "body"), ("原文链接", "source"))


@dataclasses.dataclass
class Problems:
    """Field -> message (in Chinese). Empty when the edit may be saved."""

    part: str
    by_field: dict[str, str] = dataclasses.field(default_factory=dict)

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def lines(self) -> list[str]:
        labels = LABELS[self.part]
        return [f"{labels.get(f, f)}：{m}" for f, m in self.by_field.items()]


def loader_problem(part: str, exc: ContentError) -> tuple[str, str]:
    """(field, Chinese message) for a loader's ContentError."""
    if exc.field == "title/digest/body/source":
        for piece in exc.problem.split("；"):
            for word, field in ARTICLE_FIELDS:
                if piece.startswith(word):
                    return field, piece
        return "body", exc.problem
    field = exc.field if exc.field in LABELS[part] else "id"
    if re.search(r"[\u4e00-\u9fff]", exc.problem):  # already written for staff (cover problems)
        return field, exc.problem
    message = next((zh for en, zh in LOADER_PROBLEMS if en in exc.problem), "填写有误，请检查")
    return field, message


def _known_ids(session: Session, content: Content, part: str) -> set[str]:
    """Every id the file or an edit ever used: a cancelled item's id is not given out again (a push's
    outbox key and an event's reminders hang on it)."""
    seed = {e.get("id") for e in content_edits.seed_entries(content.directory, part)}
    return seed | {item_id for p, item_id in content_edits.latest_edits(session) if p == part}


def _candidate(session: Session, seed: Content, part: str, item_id: str,
               entry: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Every part's entries as they would be after this edit."""
    edits = content_edits.latest_edits(session)
    entries = {p: content_edits.merged_entries(content_edits.seed_entries(seed.directory, p), p, edits)
               for p in content_edits.FILES}
    rest = [e for e in entries[part] if e.get("id") != item_id]
    entries[part] = rest + ([entry] if entry is not None else [])
    return entries


def _whole_part(session: Session, seed: Content, current: Content, config: Any, part: str, item_id: str,
                entry: dict[str, Any] | None, problems: Problems) -> None:
    """The calendar or plan with the edit applied loads, and passes the part's cross-check."""
    try:
        candidate = seed.replaced(**content_edits.build_parts(seed.directory,
                                                              _candidate(session, seed, part, item_id, entry)))
    except ContentError as exc:
        problems.add(*loader_problem(part, exc))
        return
    check = check_events_in_campaign if part == EVENTS else check_plan
    before = set(check(current, None, config))
    for finding in check(candidate, None, config):
        if finding not in before:
            problems.add(*_cross_check_problem(part, finding, candidate, config))


def _cross_check_problem(part: str, finding: str, content: Content, config: Any) -> tuple[str, str]:
    if part == EVENTS:
        start, end = dt.date.fromisoformat(config.quiz.campaign_start), dt.date.fromisoformat(config.quiz.campaign_end)
        allowed, _ = extensions(content.directory / "events.toml")
        longer = "；".join(f"{EVENT_KINDS[k].label}可到{short_day(d)}" for k, d in allowed.items() if k in EVENT_KINDS)
        return "start", (f"活动须在安全生产月 {short_day(start)}—{short_day(end)} 之内"
                         + (f"（{longer}）" if longer else "") + "，请调整日期")
    if "unknown township" in finding:
        return "audience", "没有这个乡镇，请从列表中选择"
    if "mass sends on one day" in finding:
        return "when", "这一天已有别的群发：订阅号每天只能群发一次，请换一天"
    return "when", "这个月的群发已满：服务号每位关注者每月最多收到 4 次群发，请换到别的月份或缩小推送对象"


def check_event(session: Session, seed: Content, current: Content, config: Any, *, item_id: str,
                entry: dict[str, Any] | None, now: dt.datetime, new: bool) -> Problems:
    """Whether this event may be saved (entry None: cancelled)."""
    original: Event | None = None if new else current.events.get(item_id)

    def on_time(event: Event, problems: Problems) -> None:
        if original is not None and original.has_started(now):
            if event.start != original.start or event.all_day != original.all_day:
                problems.add("start", "活动已经开始，开始时间不能再改")
        elif _starts_in_past(event, now):
            problems.add("start", "不能把活动安排到已经过去的时间")
        if event.has_ended(now):
            problems.add("end", "结束时间已经过去")

    ended = original is not None and original.has_ended(now)
    return _check_item(session, seed, current, config, EVENTS, item_id=item_id, entry=entry, new=new,
                       locked=("start", "活动已经结束，不能再修改或取消") if ended else None,
                       load=lambda e: event_from_entry(seed.directory / "events.toml", item_id, e, seed.townships),
                       on_time=on_time)


def _starts_in_past(event: Event, now: dt.datetime) -> bool:
    # An all-day event today has not passed; a timed one has once its start is behind us.
    return event.start.date() < now.date() if event.all_day else event.start <= now


def check_push(session: Session, seed: Content, current: Content, config: Any, *, item_id: str,
               entry: dict[str, Any] | None, now: dt.datetime, new: bool, queued: bool) -> Problems:
    """Whether this push item may be saved (entry None: cancelled). `queued`: it is in the outbox."""
    original: PlanItem | None = None if new else next((i for i in current.pushes.items if i.id == item_id), None)

    def on_time(item: PlanItem, problems: Problems) -> None:
        if item.when <= now:
            problems.add("when", "不能把推送安排到已经过去的时间")

    gone = original is not None and (original.when <= now or queued)
    return _check_item(session, seed, current, config, PUSHES, item_id=item_id, entry=entry, new=new,
                       locked=("when", "推送时间已过或已进入发送队列，不能再修改或取消") if gone else None,
                       load=lambda e: item_from_entry(seed.directory / "pushes.toml", seed.directory, item_id, e),
                       on_time=on_time)


def _check_item(session: Session, seed: Content, current: Content, config: Any, part: str, *, item_id: str,
                entry: dict[str, Any] | None, new: bool, locked: tuple[str, str] | None,
                load: Callable[[dict[str, Any]], T], on_time: Callable[[T, Problems], None]) -> Problems:
    """The steps every edit of an event or a push item passes, stopping at the first that finds a
    problem: a new item's id; the lock on an item whose time has passed (`locked`: its field and
    message); the loader (`load`); the part's own rules about time (`on_time`); the whole calendar or
    plan with the edit applied (a cancellation: without the item)."""
    problems = Problems(part)
    if new and (why := _new_id_problem(session, seed, part, item_id)):
        problems.add("id", why)
    elif locked is not None:
        problems.add(*locked)
    elif entry is None:
        _whole_part(session, seed, current, config, part, item_id, None, problems)
    else:
        try:
            item = load(entry)
        except ContentError as exc:
            problems.add(*loader_problem(part, exc))
            return problems
        on_time(item, problems)
        if not problems:
            _whole_part(session, seed, current, config, part, item_id, entry, problems)
    return problems


def _new_id_problem(session: Session, seed: Content, part: str, item_id: str) -> str | None:
    """Why a new item may not take this id: malformed, or used before (None when it may)."""
    if not re.fullmatch(ID_PATTERN, item_id):
        return LOADER_PROBLEMS[2][1]
    if item_id in _known_ids(session, seed, part):
        return f"这个编号已用过（包括已取消的{ITEM_NAMES[part]}），请换一个"
    return None
