"""Safety knowledge (`content/knowledge/*.toml`): loading, validation and matching plain Chinese.

Matching works on character bigrams, so no word segmenter is needed and a typo costs one or two
bigrams rather than the whole word. A question is scored against every entry by three parts:
- how close it is to the entry's closest text (question or one phrasing): TF-IDF cosine;
- how much of the question the entry covers at all (IDF-weighted share of its bigrams);
- the entry's keywords found in the question, by weight.
IDF and the vectors are computed once at load time; a query touches only the entries that share
a bigram with it (an inverted index), well under a millisecond for about a hundred entries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from bot.content import ContentError, read_toml, require_text
from bot.services.content_dates import available_on, date_range
from bot.services.script import to_simplified
from bot.wechat.replies import TEXT_LIMIT_BYTES

ANSWER_LIMIT_BYTES = 1800  # WeChat drops text replies over 2048 bytes; leave room for the frame

# Score bands, tuned with tests/understanding_cases.py (run bench/understanding.py after changes).
DIRECT = 0.50      # at or above: answer directly ...
MARGIN = 0.10      # ... if the runner-up is this far behind,
SURE = 0.72        # ... or the score is this high anyway;
CHOOSE = 0.33      # at or above (and not direct): offer the top three as numbered choices.
LEAD_MIN = 0.33    # between LEAD_MIN and DIRECT, answer directly only with a clear lead:
LEAD_RATIO = 1.6   # the best scores at least this many times the runner-up.
CHOICES = 3
CANDIDATE_FLOOR = 0.6  # a choice must score at least this share of the best one

W_TEXT, W_COVER, W_KEYWORD = 0.40, 0.30, 0.30
KEYWORD_SCALE = 3.0  # matched keyword weight at which the keyword part reaches 1 - 1/e
UNKNOWN_IDF_SHARE = 0.5

# Voice recognition and typing slips seen in citizens' messages, mapped to the intended word.
# Each is either a homophone typed through pinyin input or a near-sound that speech recognition
# produces; none of the wrong forms is a word of its own in this domain.
TYPOS = {
    "燃汽": "燃气", "煤汽": "煤气", "天燃气": "天然气", "漏汽": "漏气", "泄露": "泄漏",
    "灭火气": "灭火器", "灭火机": "灭火器", "灭活器": "灭火器", "消防拴": "消防栓", "消火拴": "消火栓",
    "一氧化炭": "一氧化碳", "中署": "中暑", "地振": "地震", "安全冒": "安全帽", "脚手驾": "脚手架",
    "海姆利克": "海姆立克", "海姆里克": "海姆立克", "心肺腹苏": "心肺复苏", "心肺复酥": "心肺复苏",
    "酒架": "酒驾", "醉架": "醉驾", "骨拆": "骨折", "电平车": "电瓶车",
    "触点了": "触电了", "烫上": "烫伤", "逃身": "逃生", "尾旷库": "尾矿库",
    "有限空问": "有限空间", "化粪他": "化粪池",
}

# Fillers that voice input and chatty typing add; they carry no meaning for matching.
_FILLERS = re.compile(r"嗯+|呃+|唉+|哎+|那个|这个|就是说|请问一下|请问|我想问一下|我想问|问一下|想问下|问下|"
                      r"你好|您好|小编|麻烦|谢谢|帮我|告诉我")
# Question words: everyone asks "怎么办", so they say nothing about which entry is meant.
_QUESTION_WORDS = re.compile(r"的时候|时候|一下|的|怎么办|怎么样|怎么弄|怎么做|怎样|怎么|咋办|咋整|咋|如何|什么|啥|哪些|哪里|"
                             r"要注意|注意事项|注意|需要|应该|可以吗|能不能|可不可以|是不是|有没有|吗|呢|吧|啊|呀|哦|嘛|了")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Simplified, lower-case, known slips fixed, fillers and punctuation dropped (the gateway
    already did NFKC)."""
    text = to_simplified(text).lower()
    for wrong, right in TYPOS.items():
        text = text.replace(wrong, right)
    text = _FILLERS.sub("", text)
    return _PUNCT.sub("", text)


def content_words(text: str) -> str:
    """The normalised text without question words: what the bigrams are taken from."""
    return _QUESTION_WORDS.sub("", normalise(text))


def bigrams(text: str) -> set[str]:
    """Character bigrams; a single character stands for itself."""
    if len(text) == 1:
        return {text}
    return {text[i:i + 2] for i in range(len(text) - 1)}


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    question: str
    phrasings: tuple[str, ...]
    keywords: tuple[tuple[str, float], ...]
    answer: str
    source: str
    file: str
    # The days it may be shown (None: open-ended). One id may have several versions with
    # disjoint dates: the one valid on the day is answered.
    available_from: dt.date | None = None
    available_until: dt.date | None = None

    def reply(self) -> str:
        """The text a citizen gets: the question it answers, the answer, and what it rests on."""
        return f"【{self.question}】\n{self.answer}\n\n依据：{self.source}"


@dataclasses.dataclass(frozen=True)
class Topic:
    name: str
    example: str
    entry_ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Match:
    entry: Entry
    score: float


@dataclasses.dataclass(frozen=True)
class Understanding:
    """What a message means to the knowledge base: `direct` (one entry), `choose` (2-3), or `none`."""

    band: str
    matches: tuple[Match, ...]

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None


class Knowledge:
    def __init__(self, entries: list[Entry], topics: list[Topic]) -> None:
        self.entries = tuple(entries)
        self.topics = tuple(topics)
        self._versions: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            self._versions[entry.id].append(entry)
        self._index_entries()
        self.understand = functools.lru_cache(maxsize=512)(self._understand)

    def get(self, entry_id: str, day: dt.date | None = None) -> Entry | None:
        """The entry's version valid on `day` (None: its first version, whatever the day)."""
        versions = self._versions.get(entry_id, ())
        return next((e for e in versions if available_on(e, day)), None)

    def _index_entries(self) -> None:
        texts_grams: list[list[set[str]]] = []
        df: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            grams = [bigrams(content_words(t)) for t in (entry.question, *entry.phrasings)]
            grams = [g for g in grams if g]
            texts_grams.append(grams)
            for gram in set().union(*grams, *(bigrams(normalise(k)) for k, _ in entry.keywords)):
                df[gram] += 1
        n = len(self.entries)
        self._idf = {g: math.log((n + 1) / (c + 0.5)) for g, c in df.items()}
        # A bigram no entry contains says nothing about which entry is meant; counted at a
        # modest weight so that chatty words around a clear question do not drown it.
        self._unknown_idf = UNKNOWN_IDF_SHARE * sum(self._idf.values()) / len(self._idf)
        # gram -> [(entry index, text index)], and each text's norm, for cosine by accumulation.
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._norms: list[list[float]] = []
        self._union: list[set[str]] = []
        for ei, (entry, grams) in enumerate(zip(self.entries, texts_grams, strict=True)):
            self._norms.append([math.sqrt(sum(self._idf[g] ** 2 for g in t)) for t in grams])
            for ti, text in enumerate(grams):
                for gram in text:
                    self._postings[gram].append((ei, ti))
            keyword_grams = set().union(*(bigrams(normalise(k)) for k, _ in entry.keywords))
            self._union.append(set().union(*grams, keyword_grams))
        self._keywords = [[(normalise(k), w) for k, w in e.keywords] for e in self.entries]

    def idf(self, gram: str) -> float:
        return self._idf.get(gram, self._unknown_idf)

    def score_all(self, text: str) -> list[Match]:
        """Every entry with any evidence for it, best first."""
        words = content_words(text)
        # Digits alone (a phone number, a quiz answer) are no question.
        query = bigrams(words) if words and not words.isdigit() else set()
        if not query:
            return []
        plain = normalise(text)
        weights = {g: self.idf(g) for g in query}
        q_norm = math.sqrt(sum(w * w for w in weights.values()))
        q_mass = sum(weights.values())
        dots: dict[tuple[int, int], float] = defaultdict(float)
        for gram, w in weights.items():
            for posting in self._postings.get(gram, ()):
                dots[posting] += w * w
        best_cos: dict[int, float] = defaultdict(float)
        for (ei, ti), dot in dots.items():
            best_cos[ei] = max(best_cos[ei], dot / (q_norm * self._norms[ei][ti]))
        candidates = set(best_cos)
        matched_kw: dict[int, float] = {}
        for ei, keywords in enumerate(self._keywords):
            weight = sum(w for k, w in keywords if k and k in plain)
            if weight:
                matched_kw[ei] = weight
                candidates.add(ei)
        matches = []
        for ei in candidates:
            cover = sum(weights[g] for g in query if g in self._union[ei]) / q_mass
            keyword = 1 - math.exp(-matched_kw.get(ei, 0.0) / KEYWORD_SCALE)
            score = W_TEXT * best_cos.get(ei, 0.0) + W_COVER * cover + W_KEYWORD * keyword
            matches.append(Match(self.entries[ei], round(score, 4)))
        matches.sort(key=lambda m: (-m.score, m.entry.id))
        return matches

    def _understand(self, text: str, day: dt.date | None = None) -> Understanding:
        """What `text` asks, among the entries that may be shown on `day` (None: all of them)."""
        matches = [m for m in self.score_all(text) if available_on(m.entry, day)]
        if not matches or matches[0].score < CHOOSE:
            return Understanding("none", tuple(matches[:CHOICES]))
        top = matches[0].score
        runner_up = matches[1].score if len(matches) > 1 else 0.0
        if top >= DIRECT and (top - runner_up >= MARGIN or top >= SURE) or (
                top >= LEAD_MIN and top >= LEAD_RATIO * runner_up):
            return Understanding("direct", (matches[0],))
        offered = [m for m in matches[:CHOICES] if m.score >= top * CANDIDATE_FLOOR]
        return Understanding("choose", tuple(offered))


def load_knowledge(directory: Path) -> Knowledge:
    folder = directory / "knowledge"
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if not files:
        raise ContentError(folder, "-", "-", "no knowledge files (*.toml)")
    entries: list[Entry] = []
    topics: list[Topic] = []
    seen: dict[str, Path] = {}
    for path in files:
        data = read_toml(path)
        topic = data.get("topic")
        if not isinstance(topic, dict):
            raise ContentError(path, "[topic]", "-", "missing table")
        name = require_text(path, "[topic]", topic, "name")
        example = require_text(path, "[topic]", topic, "example")
        raw_entries = data.get("entry")
        if not isinstance(raw_entries, list) or not raw_entries:
            raise ContentError(path, "[[entry]]", "-", "no entries")
        ids = []
        for index, raw in enumerate(raw_entries):
            entry = _entry(path, name, index, raw)
            if entry.id in seen:
                _check_version(path, entry, [e for e in entries if e.id == entry.id], seen[entry.id])
            seen[entry.id] = path
            entries.append(entry)
            if entry.id not in ids:
                ids.append(entry.id)
        topics.append(Topic(name, example, tuple(ids)))
    return Knowledge(entries, topics)


def _check_version(path: Path, entry: Entry, earlier: list[Entry], earlier_file: Path) -> None:
    """A second entry with an id is another version of it: both dated, no day shared, one file."""
    if earlier_file != path or entry.available_from is None and entry.available_until is None:
        raise ContentError(path, entry.id, "id", f"duplicate id (also in {earlier_file.name}); a version "
                           "of an entry needs available_from/available_until and the same file")
    for other in earlier:
        if other.available_from is None and other.available_until is None or _overlap(entry, other):
            raise ContentError(path, entry.id, "available_from", "versions of one entry must not share a day")


def _overlap(a: Entry, b: Entry) -> bool:
    low, high = dt.date.min, dt.date.max
    return max(a.available_from or low, b.available_from or low) <= min(a.available_until or high,
                                                                        b.available_until or high)


def _entry(path: Path, topic: str, index: int, raw: Any) -> Entry:
    if not isinstance(raw, dict):
        raise ContentError(path, f"entry #{index + 1}", "-", "not a table")
    entry_id = require_text(path, f"entry #{index + 1}", raw, "id")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", entry_id):
        raise ContentError(path, entry_id, "id", "use lower-case letters, digits and hyphens")
    question = require_text(path, entry_id, raw, "question")
    answer = require_text(path, entry_id, raw, "answer")
    source = require_text(path, entry_id, raw, "source")
    if len(answer.encode("utf-8")) > ANSWER_LIMIT_BYTES:
        raise ContentError(path, entry_id, "answer",
                           f"{len(answer.encode('utf-8'))} bytes, over the {ANSWER_LIMIT_BYTES}-byte limit")
    phrasings = raw.get("phrasings")
    if (not isinstance(phrasings, list) or not phrasings
            or not all(isinstance(p, str) and p.strip() for p in phrasings)):
        raise ContentError(path, entry_id, "phrasings", "needs at least one phrasing, each non-empty text")
    keywords = raw.get("keywords")
    if not isinstance(keywords, dict) or not keywords:
        raise ContentError(path, entry_id, "keywords", "needs at least one keyword with a weight")
    for word, weight in keywords.items():
        if not word.strip() or isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 5:
            raise ContentError(path, entry_id, "keywords", f"{word!r}: weight must be a number in (0, 5]")
    available_from, available_until = date_range(path, entry_id, raw)
    entry = Entry(entry_id, topic, question, tuple(p.strip() for p in phrasings),
                  tuple((w.strip(), float(v)) for w, v in keywords.items()), answer, source, path.name,
                  available_from, available_until)
    if len(entry.reply().encode("utf-8")) > TEXT_LIMIT_BYTES - 100:
        raise ContentError(path, entry_id, "source", "answer, question and source together are too long for one reply")
    return entry
