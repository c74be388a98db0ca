"""When content may be shown: `available_from` / `available_until` on quiz questions and knowledge
entries, and the laws and standards whose dates decide them.

A citizen sees every source ("依据：…"), so a source must exist and be in force on the day it is
shown. `content check` (check_citation_dates) finds the documents a source names; one issued after
the campaign start needs an `available_from` on or after its issue date, and one shown before it
takes effect must say so in the source ("……起施行"). Standards name their year ("GB 30871-2022");
laws and rules are listed in KNOWN_DOCUMENTS with the dates of their own text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from bot.content import ContentError

DATE_FIELDS = ("available_from", "available_until")


class Dated(Protocol):
    id: str
    source: str
    file: str
    available_from: dt.date | None
    available_until: dt.date | None


def day_field(path: Path, entry_id: str, raw: dict[str, Any], field: str) -> dt.date | None:
    """A TOML date (2021-06-10) or an ISO text ("2021-06-10"); None when the field is absent."""
    value = raw.get(field)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        raise ContentError(path, entry_id, field, "a date without a time, e.g. 2021-06-10")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ContentError(path, entry_id, field, f"{value!r} is not a date (write 2021-06-10)")


def date_range(path: Path, entry_id: str, raw: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    start, end = (day_field(path, entry_id, raw, f) for f in DATE_FIELDS)
    if start and end and end < start:
        raise ContentError(path, entry_id, "available_until", f"{end} is before available_from {start}")
    return start, end


def available_on(item: Dated, day: dt.date | None) -> bool:
    """Whether the item may be shown on `day` (None: any day, e.g. a staff listing)."""
    if day is None:
        return True
    return (item.available_from is None or item.available_from <= day) and (
        item.available_until is None or day <= item.available_until)


def campaign_days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


# --- the documents sources cite ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Document:
    name: str
    pattern: str  # a regular expression found in a source that cites this text
    issued: dt.date  # adopted or published: it did not exist before
    in_force: dt.date
    basis: str  # where these dates come from

    def cited_in(self, source: str) -> bool:
        return re.search(self.pattern, source) is not None


# Laws, rules and standards whose dates matter around the campaign (June 2021). The texts cited as
# in force in June 2021 (the 2014 安全生产法, GB 30871-2014, GB 6095-2009, ...) need no entry.
KNOWN_DOCUMENTS: tuple[Document, ...] = (
    Document("2021年修改的《安全生产法》", r"安全生产法[》>]?\s*[（(]2021|2021年修正|2021年修改|关于修改〈中华人民共和国安全生产法〉的决定",
             dt.date(2021, 6, 10), dt.date(2021, 9, 1),
             "全国人大常委会关于修改《中华人民共和国安全生产法》的决定，2021年6月10日通过，2021年9月1日起施行"),
    Document("《高层民用建筑消防安全管理规定》", r"高层民用建筑消防安全管理规定", dt.date(2021, 6, 21), dt.date(2021, 8, 1),
             "应急管理部令第5号，2021年6月21日公布，2021年8月1日起施行"),
    Document("《工贸企业粉尘防爆安全规定》", r"工贸企业粉尘防爆安全规定", dt.date(2021, 7, 25), dt.date(2021, 9, 1),
             "应急管理部令第6号，2021年7月25日公布，2021年9月1日起施行"),
    Document("《高等学校实验室安全规范》", r"高等学校实验室安全规范", dt.date(2023, 2, 1), dt.date(2023, 2, 1),
             "教育部办公厅2023年2月印发"),
    Document("GB 6095-2021《坠落防护 安全带》", r"GB\s*6095\s*[-—–]\s*2021", dt.date(2021, 8, 10), dt.date(2022, 9, 1),
             "标准封面：2021-08-10发布，2022-09-01实施"),
    Document("GB 39496-2020《尾矿库安全规程》", r"GB\s*39496\s*[-—–]\s*2020", dt.date(2020, 10, 11), dt.date(2021, 9, 1),
             "2020-10-11发布，2021-09-01实施，代替AQ 2006-2005"),
    # Published in 2020 (the day is not on record here; only the year matters, it is before the campaign).
    Document("GB 16423-2020《金属非金属矿山安全规程》", r"GB\s*16423\s*[-—–]\s*2020", dt.date(2020, 12, 31),
             dt.date(2021, 9, 1), "2020年发布，2021-09-01实施，代替GB 16423-2006"),
    # Current editions of first-aid texts an editor would reach for today; June 2021 had the 2009
    # 规范 (with the 2016 指南 of 中国疾控中心) and the 2018 snake-bite consensus.
    Document("《狂犬病暴露预防处置工作规范（2023年版）》", r"狂犬病暴露预防处置工作规范[（(]2023", dt.date(2023, 9, 1),
             dt.date(2023, 9, 1), "国家疾控局、国家卫生健康委2023年9月印发，代替2009年版（人民日报海外版2023-09-25报道）"),
    Document("《中国蛇伤救治指南2024》", r"蛇伤救治指南\s*[（(]?2024", dt.date(2024, 3, 1), dt.date(2024, 3, 1),
             "中华急诊医学杂志2024年第3期"),
)

# A standard's number ends with its year: GB 30871-2022, GB/T 29639-2020, AQ 2006-2005.
STANDARD = re.compile(r"\b(GB(?:/T)?|AQ(?:/T)?|GBZ|JGJ|XF|GA)\s*(\d+(?:\.\d+)*)\s*[-—–]\s*(\d{4})\b")
IN_FORCE_NOTE = "施行"  # a source shown before its text takes effect says from when: "……起施行"


def cited_documents(source: str, campaign_start: dt.date) -> list[Document]:
    """The documents a source names whose dates are at or after the campaign's year."""
    found = [d for d in KNOWN_DOCUMENTS if d.cited_in(source)]
    for match in STANDARD.finditer(source):
        number = f"{match.group(1)} {match.group(2)}-{match.group(3)}"
        year = int(match.group(3))
        if year < campaign_start.year or any(d.cited_in(match.group(0)) for d in found):
            continue
        # A standard of the campaign's year or later whose dates are not listed: dated 1 January
        # of its year at the earliest, which is after the campaign start unless it is listed.
        earliest = dt.date(year, 1, 1)
        found.append(Document(number, re.escape(match.group(0)), max(earliest, campaign_start + dt.timedelta(days=1)),
                              max(earliest, campaign_start + dt.timedelta(days=1)),
                              "年份不早于活动开始；日期未登记（bot/services/content_dates.py KNOWN_DOCUMENTS）"))
    return found


def citation_problems(items: Iterable[Dated], campaign_start: dt.date, campaign_end: dt.date) -> list[str]:
    """A source naming a text dated after the campaign start, shown on days before it existed or
    before it took effect without saying so."""
    problems = []
    for item in items:
        shown_from = item.available_from or campaign_start
        if item.available_until is not None and item.available_until < campaign_start:
            continue  # never shown in the campaign
        for doc in cited_documents(item.source, campaign_start):
            if doc.issued <= campaign_start and doc.in_force <= shown_from:
                continue
            where = f"content/{item.file}: {item.id}: source"
            if shown_from < doc.issued:
                hint = (f"add available_from = {doc.issued.isoformat()} or later" if item.available_from is None
                        else f"available_from {item.available_from} is before that")
                problems.append(f"{where}: cites {doc.name}, dated {doc.issued.isoformat()} ({doc.basis}), "
                                f"after the campaign start {campaign_start.isoformat()}: {hint}, or cite the text "
                                f"in force then")
            elif shown_from < doc.in_force and shown_from <= campaign_end and IN_FORCE_NOTE not in item.source:
                problems.append(f"{where}: cites {doc.name}, in force only from {doc.in_force.isoformat()} "
                                f"({doc.basis}), as if in force from {shown_from.isoformat()}: say so in the source "
                                f"(e.g. （{doc.in_force.year}年{doc.in_force.month}月{doc.in_force.day}日起施行的修改后条文）) "
                                f"or cite the text in force then")
    return problems


# --- content check ------------------------------------------------------------------------------

def _window(config: Any) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(config.quiz.campaign_start), dt.date.fromisoformat(config.quiz.campaign_end)


def check_citation_dates(content: Any, _dispatcher: Any, config: Any) -> list[str]:
    """Quiz and knowledge sources name only texts that existed, and were in force, on the days shown."""
    start, end = _window(config)
    return citation_problems([*content.quiz.questions, *content.knowledge.entries], start, end)


def check_round_every_day(content: Any, _dispatcher: Any, config: Any) -> list[str]:
    """On each campaign day, enough questions are available for a full round, one per group."""
    start, end = _window(config)
    per_round = config.quiz.questions_per_round
    problems = []
    for day in campaign_days(start, end):
        groups = {q.group_key for q in content.quiz.questions if available_on(q, day)}
        if len(groups) < per_round:
            problems.append(f"content/quiz: {day.isoformat()}: {len(groups)} questions (counting a group once) "
                            f"available that day, fewer than [quiz] questions_per_round = {per_round}")
    return problems
