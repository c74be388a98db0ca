"""The warning-education push plan (`content/pushes.toml`): items go out as mass sends when due.

Each item: id, when (Asia/Shanghai), audience ("all", "township:<id>", "tag:<WeChat tag id>"),
kind, and the article: title, digest, body, cover (an image file under content/), source (optional
"阅读原文" link). The scheduled job enqueues due items into the outbox under the key `plan:<id>`, so
however often it runs an item is one push; the sender turns the article into a draft and mass-sends
it as `mpnews` (bot/services/articles.py).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import TZ
from bot.content import ContentError, read_toml, require_text
from bot.models import Delivery, JobPause
from bot.services import articles
from bot.services.outbox import enqueue

KINDS = {"case": "事故案例", "lesson": "警示启示", "calligraphy": "书法作品", "painting": "绘画作品",
         "video": "警示视频", "notice": "活动通知"}
SUBSCRIPTION_MASS_PER_DAY = 1
SERVICE_MASS_PER_MONTH = 4


@dataclasses.dataclass(frozen=True)
class PlanItem:
    id: str
    when: dt.datetime
    audience: dict[str, Any]
    audience_text: str
    kind: str
    title: str
    digest: str
    body: str
    cover: str
    source: str = ""

    @property
    def key(self) -> str:
        return f"plan:{self.id}"

    @property
    def article_title(self) -> str:
        return f"【{KINDS[self.kind]}】{self.title}"

    def payload(self) -> dict[str, Any]:
        return {"type": "news", "articles": [articles.article(
            title=self.article_title, digest=self.digest, body=self.body, cover=self.cover,
            source_url=self.source)]}


@dataclasses.dataclass(frozen=True)
class PushPlan:
    items: tuple[PlanItem, ...]

    def due(self, now: dt.datetime) -> list[PlanItem]:
        """Items whose moment has come today. An item missed on its day is not sent the next day:
        that day's quota belongs to that day's item."""
        today = now.astimezone(TZ).date()
        return [i for i in self.items if i.when <= now and i.when.date() == today]

    def on_day(self, day: dt.date) -> list[PlanItem]:
        return [i for i in self.items if i.when.date() == day]


def parse_audience(text: str) -> dict[str, Any] | None:
    if text == "all":
        return {"all": True}
    kind, _, value = text.partition(":")
    if kind == "township" and value:
        return {"township": value}
    if kind == "tag" and value.isdigit():
        return {"tag_id": int(value)}
    return None


def load_plan(directory: Path) -> PushPlan:
    path = directory / "pushes.toml"
    return plan_from_entries(path, directory, read_toml(path).get("push", []))


def plan_from_entries(path: Path, directory: Path, entries: Any) -> PushPlan:
    """The plan from its `[[push]]` tables: the file's, or the file's with the console's edits."""
    if not isinstance(entries, list):
        raise ContentError(path, "[[push]]", "-", "must be a list of [[push]] tables")
    items, seen = [], set()
    for index, entry in enumerate(entries):
        item_id = require_text(path, f"push #{index + 1}", entry, "id")
        if item_id in seen:
            raise ContentError(path, item_id, "id", "duplicate id")
        seen.add(item_id)
        items.append(item_from_entry(path, directory, item_id, entry))
    return PushPlan(tuple(sorted(items, key=lambda i: (i.when, i.id))))


def item_from_entry(path: Path, directory: Path, item_id: str, entry: dict[str, Any]) -> PlanItem:
    """One `[[push]]` table checked and read; raises ContentError naming the field."""
    when = entry.get("when")
    if not isinstance(when, dt.datetime):
        raise ContentError(path, item_id, "when", "must be a date and time, e.g. 2021-06-01T20:00:00")
    when = when.replace(tzinfo=TZ) if when.tzinfo is None else when.astimezone(TZ)
    audience_text = require_text(path, item_id, entry, "audience")
    audience = parse_audience(audience_text)
    if audience is None:
        raise ContentError(path, item_id, "audience", 'must be "all", "township:<id>" or "tag:<number>"')
    kind = require_text(path, item_id, entry, "kind")
    if kind not in KINDS:
        raise ContentError(path, item_id, "kind", f"must be one of {', '.join(KINDS)}")
    item = PlanItem(item_id, when, audience, audience_text, kind, require_text(path, item_id, entry, "title"),
                    require_text(path, item_id, entry, "digest"), require_text(path, item_id, entry, "body"),
                    require_text(path, item_id, entry, "cover"), str(entry.get("source") or "").strip())
    _check_article(path, directory, item)
    return item


def _check_article(path: Path, directory: Path, item: PlanItem) -> None:
    """The item is an article WeChat's draft box accepts, with a real cover image."""
    problems = articles.text_problems(title=item.article_title, digest=item.digest, body=item.body,
                                      source_url=item.source)
    if problems:
        raise ContentError(path, item.id, "title/digest/body/source", "；".join(problems))
    cover = (directory / item.cover).resolve()
    if directory.resolve() not in cover.parents:
        raise ContentError(path, item.id, "cover", "must be a file under content/")
    problem = articles.cover_problem(cover)
    if problem:
        raise ContentError(path, item.id, "cover", problem)


def enqueue_due(session: Session, plan: PushPlan, now: dt.datetime) -> list[Delivery]:
    """Put today's due plan items in the outbox (idempotent on `plan:<id>`)."""
    due = plan.due(now)
    if not due:
        return []
    known = set(session.scalars(select(Delivery.key).where(Delivery.key.in_([i.key for i in due]))))
    # Items paused in the console (job_pauses keys are "plan:<id>", as item.key) wait until resumed.
    held = set(session.scalars(select(JobPause.key).where(JobPause.key.in_([i.key for i in due]))))
    return [enqueue(session, key=item.key, purpose="push_plan", payload=item.payload(), now=now,
                    audience=item.audience, not_before=item.when)
            for item in due if item.key not in known and item.key not in held]


# --- content check -------------------------------------------------------------------------------

def check_plan(content: Any, dispatcher: Any, config: Any) -> list[str]:
    """The plan goes out as mass sends, so it must fit the account's quota (and name real townships)."""
    plan: PushPlan = content.pushes
    problems = [f"content/pushes.toml: {i.id}: audience: unknown township {i.audience['township']!r}"
                for i in plan.items if "township" in i.audience and content.townships.get(i.audience["township"]) is None]
    if config.wechat.account_type == "subscription":
        by_day: dict[dt.date, list[str]] = collections.defaultdict(list)
        for item in plan.items:
            by_day[item.when.date()].append(item.id)
        for day, ids in sorted(by_day.items()):
            if len(ids) > SUBSCRIPTION_MASS_PER_DAY:
                problems.append(f"content/pushes.toml: {day}: {len(ids)} mass sends on one day ({', '.join(ids)}); "
                                f"a subscription account may mass-send once a day")
        return problems
    # A service account: each follower receives at most 4 mass sends a calendar month. Tag
    # audiences may include anyone, so they count for every township.
    by_month: dict[tuple[int, int], list[PlanItem]] = collections.defaultdict(list)
    for item in plan.items:
        by_month[(item.when.year, item.when.month)].append(item)
    for (year, month), items in sorted(by_month.items()):
        for township in content.townships.items:
            reaching = [i.id for i in items if "township" not in i.audience or i.audience["township"] == township.id]
            if len(reaching) > SERVICE_MASS_PER_MONTH:
                problems.append(f"content/pushes.toml: {year}-{month:02d}: followers in {township.name} would get "
                                f"{len(reaching)} mass sends ({', '.join(reaching)}); a service account may send "
                                f"each follower at most {SERVICE_MASS_PER_MONTH} a month")
                break
    return problems
