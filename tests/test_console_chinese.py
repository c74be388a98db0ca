"""Every console page an admin can reach, with seeded data, shows staff Chinese: no job ids, purposes,
file or part names, English error text or ids such as plan:<id> (issue 20, "no internal names").

The oracle is a rule about the text, not the console's label table: any ASCII word on a page must be
on ALLOWED (words staff use as they are: WeChat, IP, XLSX...) or be data the seed itself put there
(openids, usernames, ticket numbers, hashes), and a lone letter (a quiz option) passes. So an identifier like `close_idle_quiz_rounds`, a word
like `pushes` or a sentence like "outside the 48-hour window" fails, whichever page shows it.
"""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy import select

from bot.models import Report
from tests.console_seed import ADMIN, OPENIDS, act, seed, triage

# ASCII words staff read as they are (product names, file formats, units) — not internal names.
ALLOWED = {"WeChat", "IP", "XLSX", "CSV", "SHA", "SHA-256", "SHA256", "HTTPS", "https", "http", "URL", "ID",
           "GB", "MB", "KB", "JPG", "JPEG", "PNG", "Excel", "AppID", "APP"}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_.:/'\-][A-Za-z0-9]+)*")
TICKET = re.compile(r"^YH\d{8}-[A-Z0-9]{6}$")
OPTIONS = re.compile(r"^[A-F]{1,6}$")  # a quiz answer: 选项 letters
HASH = re.compile(r"^[0-9a-f]{16,}$")
SKIP = ("/console/logout", "/console/static/", "/console/reports/photos/", "/console/reports/export")
VISIBLE_ATTRS = ("title", "placeholder", "aria-label", "alt", "data-confirm")


class Visible(HTMLParser):
    """The text a person sees or hears on a page: text nodes outside script/style, option labels,
    button values, and the attributes shown as tooltips, placeholders or confirm dialogs."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style"):
            self._hidden += 1
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        for name in VISIBLE_ATTRS:
            if values.get(name):
                self.parts.append(values[name] or "")
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


# Keys of content/*.toml whose values are identifiers or references to other entries (file names,
# ids, kinds): their words are internal names. Every other string in the content is text staff wrote.
CONTENT_IDENTIFIERS = {"id", "key", "kind", "type", "township", "category", "cover", "knowledge", "file", "group",
                       "distinct_from", "audience", "entry_ids", "report"}
CONTENT = Path(__file__).resolve().parent.parent / "content"


def content_words() -> set[str]:
    """The ASCII words in the content's own text (standards like GB/T, units like km/h, URLs, the
    pinyin citizens type): data, shown as written."""
    words: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key not in CONTENT_IDENTIFIERS:
            words.update(WORD.findall(value))

    for path in CONTENT.rglob("*.toml"):
        walk(tomllib.loads(path.read_text(encoding="utf-8")))
    return words


def seeded_words(values: set[str]) -> set[str]:
    """The seed's values and every word in them (a masked openid shows pieces of one)."""
    return values | {w for v in values for w in WORD.findall(v)} | {w for v in values for w in WORD.findall(v[-4:]) + WORD.findall(v[:6])}


def internal_words(html: str, data: set[str]) -> list[str]:
    parser = Visible()
    parser.feed(html)
    found = []
    for text in parser.parts:
        for word in WORD.findall(text):
            if len(word) == 1 or word in ALLOWED or word in data or TICKET.match(word) or OPTIONS.match(word) or HASH.match(word.lower()):
                continue
            found.append(word)
    return found


def test_the_rule_catches_identifiers_and_sentences_and_lets_data_through() -> None:
    page = ("<p>任务 close_idle_quiz_rounds 已暂停（plan:2021-launch）</p><p title='outside the 48-hour window'>x</p>"
            "<td>report_categories</td><td>pushes</td><script>var ignored_name = 1;</script>"
            "<p>WeChat 返回 45157，举报 YH20210602-AB12CD，IP 127.0.0.1，o_seed</p>")
    assert internal_words(page, {"o_seed"}) == ["close_idle_quiz_rounds", "plan:2021-launch", "outside", "the",
                                                "hour", "window", "report_categories", "pushes"]


def crawl(console, start: list[str]) -> dict[str, str]:
    """Every /console page reachable by links from `start` (GET only), by path."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue:
        path = queue.pop(0)
        if path in seen or any(path.startswith(s) for s in SKIP):
            continue
        response = console.get(path)
        assert response.status_code == 200, (path, response.status_code)
        html = response.get_data(as_text=True)
        seen[path] = html
        parser = Visible()
        parser.feed(html)
        for link in parser.links:
            target = urlsplit(urljoin(f"http://localhost{path}", link))
            if target.netloc == "localhost" and target.path.startswith("/console"):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
        assert len(seen) < 200, "the crawl does not end"
    return seen


def test_no_internal_names_on_any_console_page(app, clock) -> None:
    console = seed(app, clock)
    answers = act(console)
    with app.extensions["bot"].db.session() as session:
        ticket = session.scalar(select(Report.ticket))
    answers += triage(console, ticket)
    pages = crawl(console, ["/console/", "/console/notices/undelivered", "/console/quiz/draws/1/verify"])
    assert {"/console/", "/console/schedule", "/console/content", "/console/audit", "/console/broadcasts",
            "/console/reports", "/console/staff", "/console/quiz", "/console/quiz/draws",
            "/console/quiz/draws/1", "/console/notices/undelivered"} <= set(pages)
    assert any(p.startswith("/console/reports/YH") for p in pages)
    passwords = set(re.findall(r'id="new-password">([^<]+)<', "".join(answers)))
    # Seeded: openids, usernames (the helper's "test" actor too), the QR scene, handed-out passwords.
    data = seeded_words(set(OPENIDS) | {ADMIN, "wang", "test", "poster"} | passwords) | content_words()
    leaks = {path: sorted(set(internal_words(html, data))) for path, html in pages.items()}
    leaks |= {f"after action {n}": sorted(set(internal_words(html, data))) for n, html in enumerate(answers)}
    assert {where: words for where, words in leaks.items() if words} == {}


def test_a_broadcast_failure_in_english_reaches_staff_in_chinese(app, clock) -> None:
    from sqlalchemy import update

    from bot.models import Broadcast, Delivery
    from bot.services.outbox import enqueue

    console = seed(app, clock)
    act(console)
    with app.extensions["bot"].db.session() as session:  # broadcast 1 went out and WeChat refused it in English
        row = enqueue(session, key="broadcast:1", purpose="broadcast", audience={"all": True},
                      payload=session.get(Broadcast, 1).payload, now=clock.now())
        session.execute(update(Delivery).where(Delivery.id == row.id).values(
            status="failed", last_error="api unauthorized rid: 6123", last_errcode=48001))
        session.execute(update(Broadcast).where(Broadcast.id == 1).values(status="queued"))
        session.commit()
    reasons = console.get("/console/broadcasts/1/progress").get_json()["reasons"]
    assert reasons == ["公众号没有这个接口的权限（订阅号不能发模板消息）（错误码 48001）"]
    html = console.get("/console/broadcasts").get_data(as_text=True)
    assert "api unauthorized" not in html and "错误码 48001" in html
