"""Danger now (`content/emergencies.toml`): tell whom to call before anything else.

A message is folded once (traditional → simplified by OpenCC, lower case, emoji and typos from the
content file, no punctuation or spaces) and searched for each kind's words:
- a `now` word ("着火了", "有人晕倒") is danger now, unless the message is a calm hypothetical
  ("如果着火了怎么办") with no pressing word ("救命", "快", "现在");
- a `topic` word ("触电") is danger now only beside a pressing or present word ("有人触电",
  "快来人 触电"), and otherwise a knowledge question whose answer still names the number first.
Pinyin typed instead of characters ("jiu ming", "wo jia zhao huo le") is matched against the
pinyin of the same words, generated at build time (`python -m bot understanding build`) into
`content/generated/emergency_pinyin.json`, so pypinyin (~55 MB) never loads in a serving process.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from bot.content import ContentError, read_toml, require_text
from bot.services.script import to_simplified

FILE = "emergencies.toml"
PINYIN_FILE = Path("generated") / "emergency_pinyin.json"
BUILD_COMMAND = "python -m bot understanding build"
MIN_PINYIN = 5  # shorter pinyin ("huo", "dian") occurs inside too many harmless words
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_NOT_LETTER = re.compile(r"[^a-z]+")
_PHONE = re.compile(r"[0-9-]{3,20}")
# An emergency number standing alone ("110 119 120 随便哪个快来", "119!!!"): the 救命 kind's topic,
# danger now beside a pressing word. Not inside a longer number (a ticket, a phone) nor an address
# or an amount ("119号楼", "120块").
_CALL_NUMBER = re.compile(r"(?<![0-9])(?:110|119|120|122)(?![0-9号楼路室栋弄幢单米块元斤分岁个年月日次级])")


@dataclasses.dataclass(frozen=True)
class Kind:
    id: str
    name: str
    numbers: tuple[str, ...]
    first: str
    then: str
    now: tuple[str, ...]
    topic: tuple[str, ...]
    knowledge: tuple[str, ...]
    report: bool = True  # a hazard one may report afterwards (not a fall, a fight or a poisoning)


@dataclasses.dataclass(frozen=True)
class Alarm:
    """What a message says about danger: `now` (call at once) or `calm` (a question about it)."""

    mode: str
    kinds: tuple[Kind, ...]
    said_now: bool = False  # a phrase for danger happening now was in it, even if asked calmly

    @property
    def kind(self) -> Kind:
        return self.kinds[0]


@dataclasses.dataclass(frozen=True)
class _Words:
    """One alphabet's trigger words: the folded Chinese ones, or their pinyin."""

    strong: tuple[str, ...]
    present: tuple[str, ...]
    calm: tuple[str, ...]
    now: dict[str, tuple[str, ...]]
    topic: dict[str, tuple[str, ...]]
    calm_if_asked: tuple[str, ...] = ()  # "的时候": calm in a question, a story of now in a statement
    asking: tuple[str, ...] = ()

    @functools.cached_property
    def _patterns(self) -> tuple[re.Pattern[str] | None, ...]:
        return tuple(_alternation(words) for words in (self.strong, self.present, self.calm,
                                                       self.calm_if_asked, self.asking))

    @functools.cached_property
    def _kind_patterns(self) -> tuple[dict[str, re.Pattern[str]], dict[str, re.Pattern[str]]]:
        now = {k: p for k, words in self.now.items() if (p := _alternation(words))}
        topic = {k: p for k, words in self.topic.items() if (p := _alternation(words))}
        return now, topic

    @functools.cached_property
    def _any(self) -> re.Pattern[str] | None:
        every = [w for words in (*self.now.values(), *self.topic.values()) for w in words]
        return _alternation(every)

    def read(self, text: str, *, question_mark: bool = False) -> tuple[list[str], list[str], bool, bool, bool]:
        """(kinds said to happen now, kinds only named, strong?, present?, calm?) for folded text."""
        if not text or self._any is None or not self._any.search(text):
            return [], [], False, False, False  # nearly every message: one regex and out
        now_patterns, topic_patterns = self._kind_patterns
        now = [k for k, p in now_patterns.items() if p.search(text)]
        topic = [k for k, p in topic_patterns.items() if k not in now and p.search(text)]
        strong, present, calm, calm_if_asked, asking = (bool(p and p.search(text)) for p in self._patterns)
        calm = calm or calm_if_asked and (asking or question_mark)
        return now, topic, strong, present, calm


def _alternation(words: tuple[str, ...] | list[str]) -> re.Pattern[str] | None:
    words = sorted({w for w in words if w}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words))) if words else None


class Emergencies:
    def __init__(self, kinds: list[Kind], words: _Words, pinyin: _Words, *, typos: dict[str, str],
                 emoji: dict[str, str], ignore: tuple[str, ...], gas_line: str, gas_unknown: str,
                 maybe_line: str) -> None:
        self.kinds = tuple(kinds)
        self._by_id = {k.id: k for k in kinds}
        self._words = words
        self._pinyin = pinyin
        self._typos = typos
        self._emoji = emoji
        self._ignore = _alternation(ignore)
        self.gas_line = gas_line
        self.gas_unknown = gas_unknown
        self.maybe_line = maybe_line  # the safety net's first line (bot/services/emergency_net.py)
        self.read = functools.lru_cache(maxsize=1024)(self._read)

    def get(self, kind_id: str) -> Kind | None:
        return self._by_id.get(kind_id)

    def fold(self, text: str) -> str:
        """The text as the Chinese words are matched: simplified, lower case, no punctuation."""
        text = to_simplified(text.lower())
        for mark, word in self._emoji.items():
            text = text.replace(mark, word)
        text = _NOT_WORD.sub("", text)
        for wrong, right in self._typos.items():
            text = text.replace(wrong, right)
        return self._ignore.sub("|", text) if self._ignore else text

    def _read(self, text: str) -> Alarm | None:
        if not text or not text.strip():
            return None
        question_mark = "?" in text or "？" in text
        now, topic, strong, present, calm = self._words.read(self.fold(text), question_mark=question_mark)
        letters = _NOT_LETTER.sub("", text.lower())
        if len(letters) >= MIN_PINYIN:
            p_now, p_topic, p_strong, p_present, p_calm = self._pinyin.read(letters, question_mark=question_mark)
            now += [k for k in p_now if k not in now]
            topic += [k for k in p_topic if k not in now and k not in topic]
            strong, present, calm = strong or p_strong, present or p_present, calm or p_calm
        if "help" in self._by_id and "help" not in now and "help" not in topic and _CALL_NUMBER.search(text):
            topic.append("help")
        strong = strong or "!" in text or "！" in text
        mode = _mode(bool(now), bool(topic), strong=strong, present=present, calm=calm)
        if mode is None:
            return None
        ids = set(now) | set(topic)
        kinds = [k for k in self.kinds if k.id in ids]
        if len(kinds) > 1:
            kinds = [k for k in kinds if k.id != "help"]  # a named danger says more than 救命 alone
        return Alarm(mode, tuple(kinds), said_now=bool(now))

    def numbers(self, kind: Kind) -> str:
        """The numbers to call, as one phrase ("119、120"; the gas company's line where known)."""
        numbers = list(kind.numbers)
        if "{gas}" in kind.first:
            numbers.append(self.gas_line or "燃气公司抢修电话")
        return "、".join(numbers)

    def first_line(self, kind: Kind) -> str:
        return kind.first.replace("{gas}", self.gas_line and f"燃气公司抢修电话{self.gas_line}" or self.gas_unknown)

    def then_line(self, kind: Kind) -> str:
        return kind.then.replace("{gas}", self.gas_line or self.gas_unknown)


def _mode(now: bool, topic: bool, *, strong: bool, present: bool, calm: bool) -> str | None:
    if now:
        return "now" if strong or not calm else "calm"
    if topic:
        return "now" if (strong or present) and not calm else "calm"
    return None


# --- loading ---------------------------------------------------------------------------------------

def load_emergencies(directory: Path) -> Emergencies:
    path = directory / FILE
    data = read_toml(path)
    words = _section(path, data, "words")
    lines = _section(path, data, "lines")
    gas_line = lines.get("gas", "")
    if not isinstance(gas_line, str) or (gas_line and not _PHONE.fullmatch(gas_line)):
        raise ContentError(path, "[lines]", "gas", "a phone number (digits and -) or empty")
    gas_unknown = require_text(path, "[lines]", lines, "gas_unknown")
    maybe_line = require_text(path, "[lines]", lines, "maybe")
    raw_kinds = data.get("kind")
    if not isinstance(raw_kinds, list) or not raw_kinds:
        raise ContentError(path, "[[kind]]", "-", "no kinds")
    kinds: list[Kind] = []
    for index, raw in enumerate(raw_kinds):
        kind = _kind(path, index, raw)
        if any(k.id == kind.id for k in kinds):
            raise ContentError(path, kind.id, "id", "duplicate id")
        kinds.append(kind)
    typos, emoji = _table(path, words, "typos"), _table(path, words, "emoji")
    fold_words = _Words(_list(path, words, "strong"), _list(path, words, "present"), _list(path, words, "calm"),
                        {k.id: k.now for k in kinds}, {k.id: k.topic for k in kinds},
                        _list(path, words, "calm_if_asked"), _list(path, words, "asking"))
    emergencies = Emergencies(kinds, fold_words, _Words((), (), (), {}, {}), typos=typos, emoji=emoji,
                              ignore=_list(path, words, "ignore"), gas_line=gas_line, gas_unknown=gas_unknown,
                              maybe_line=maybe_line)
    # Trigger words are matched folded: fold them the same way (a traditional or typo'd trigger still works).
    def fold_all(ws: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(emergencies.fold(w) for w in ws)

    folded = _Words(fold_all(fold_words.strong), fold_all(fold_words.present), fold_all(fold_words.calm),
                    {k: fold_all(ws) for k, ws in fold_words.now.items()},
                    {k: fold_all(ws) for k, ws in fold_words.topic.items()},
                    fold_all(fold_words.calm_if_asked), fold_all(fold_words.asking))
    emergencies._words = folded
    emergencies._pinyin = _load_pinyin(directory, path)
    return emergencies


def _section(path: Path, data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    if not isinstance(value, dict):
        raise ContentError(path, f"[{name}]", "-", "missing table")
    return value


def _list(path: Path, data: dict[str, Any], field: str, entry: str = "[words]") -> tuple[str, ...]:
    value = data.get(field)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ContentError(path, entry, field, "a list of non-empty texts")
    return tuple(v.strip() for v in value)


def _table(path: Path, data: dict[str, Any], field: str) -> dict[str, str]:
    value = data.get(field)
    if not isinstance(value, dict) or not all(isinstance(v, str) and v and k for k, v in value.items()):
        raise ContentError(path, f"[words.{field}]", "-", "a table of text = text")
    return dict(value)


def _kind(path: Path, index: int, raw: Any) -> Kind:
    if not isinstance(raw, dict):
        raise ContentError(path, f"kind #{index + 1}", "-", "not a table")
    kind_id = require_text(path, f"kind #{index + 1}", raw, "id")
    first = require_text(path, kind_id, raw, "first")
    numbers = _list(path, raw, "numbers", kind_id)
    if not numbers:
        raise ContentError(path, kind_id, "numbers", "at least one number to call")
    for number in numbers:
        if number not in first:
            raise ContentError(path, kind_id, "first", f"{number} must be said in the first line")
    if "{" in first.replace("{gas}", "") or "}" in first.replace("{gas}", ""):
        raise ContentError(path, kind_id, "first", "the only placeholder is {gas}")
    now = tuple(raw.get("now") or ())
    topic = tuple(raw.get("topic") or ())
    if not now or not all(isinstance(w, str) and w.strip() for w in (*now, *topic)):
        raise ContentError(path, kind_id, "now", "needs words for danger happening now (and topic words, if any)")
    report = raw.get("report", True)
    if not isinstance(report, bool):
        raise ContentError(path, kind_id, "report", "true or false")
    return Kind(kind_id, require_text(path, kind_id, raw, "name"), numbers, first, require_text(path, kind_id, raw, "then"),
                now, topic, _list(path, raw, "knowledge", kind_id), report)


# --- the generated pinyin ---------------------------------------------------------------------------

def source_digest(directory: Path) -> str:
    return hashlib.sha256((directory / FILE).read_bytes()).hexdigest()


def _load_pinyin(directory: Path, source: Path) -> _Words:
    path = directory / PINYIN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(path, "-", "-", f"missing: run `{BUILD_COMMAND}`") from None
    except json.JSONDecodeError as exc:
        raise ContentError(path, "-", "-", f"not valid JSON ({exc}): run `{BUILD_COMMAND}`") from None
    if data.get("source_sha256") != source_digest(directory):
        raise ContentError(path, "-", "source_sha256", f"stale against {source.name}: run `{BUILD_COMMAND}`")
    return _Words(tuple(data["strong"]), tuple(data["present"]), tuple(data["calm"]),
                  {k: tuple(v) for k, v in data["now"].items()}, {k: tuple(v) for k, v in data["topic"].items()},
                  tuple(data["calm_if_asked"]), tuple(data["asking"]))


def build_pinyin(directory: Path) -> dict[str, Any]:
    """The pinyin table for content/emergencies.toml (needs pypinyin: a build step, never serving)."""
    from pypinyin import lazy_pinyin

    data = read_toml(directory / FILE)
    words = data["words"]

    def spell(items: list[str]) -> list[str]:
        out = sorted({"".join(lazy_pinyin(w)).lower() for w in items})
        return [_NOT_LETTER.sub("", w) for w in out if len(_NOT_LETTER.sub("", w)) >= MIN_PINYIN]

    return {
        "comment": f"Generated from {FILE} by `{BUILD_COMMAND}`; do not edit.",
        "source_sha256": source_digest(directory),
        "strong": spell(words["strong"]), "present": spell(words["present"]), "calm": spell(words["calm"]),
        "calm_if_asked": spell(words["calm_if_asked"]), "asking": spell(words["asking"]),
        "now": {k["id"]: spell(k["now"]) for k in data["kind"]},
        "topic": {k["id"]: spell(k.get("topic") or []) for k in data["kind"]},
    }


def write_pinyin(directory: Path) -> Path:
    path = directory / PINYIN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_pinyin(directory), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
