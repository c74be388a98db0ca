"""The question bank: every `content/quiz/*.toml` file, validated at start (`python -m bot content check`).

```toml
[[question]]
id = "fire-001"          # stable, unique across all files
category = "fire"        # see CATEGORIES
kind = "single"          # single | multiple | truefalse
text = "题干"
options = ["选项A", "选项B", "选项C", "选项D"]   # 2-6 options; omitted for truefalse
answer = "B"             # letters ("ABD" for multiple, two or more); truefalse: "对" or "错"
explanation = "简短解析"
source = "《中华人民共和国安全生产法》(2014年修正) 第七十一条"
available_from = 2021-06-10   # optional: not served before (a text adopted that day); available_until too
group = "tel-12350"           # optional: questions asking the same fact; a round holds one of a group
distinct_from = ["fire-002"]  # optional: similar stems checked to ask different facts (content check)
```
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import string
from pathlib import Path
from typing import Any

from bot.content import ContentError, read_toml, require_text
from bot.services.content_dates import date_range

CATEGORIES: dict[str, str] = {
    "law": "安全生产法律法规",
    "reporting": "隐患举报",
    "fire": "消防安全",
    "gas": "燃气安全",
    "electricity": "用电安全",
    "ebike": "电动自行车安全",
    "road": "道路交通安全",
    "flood": "防汛防灾",
    "chemicals": "危险化学品",
    "coal_mine": "煤矿安全",
    "non_coal_mine": "非煤矿山",
    "construction": "建筑施工",
    "confined_space": "有限空间作业",
    "first_aid": "应急救护",
    "campus_home": "校园与家庭安全",
}

KINDS: dict[str, str] = {"single": "单选题", "multiple": "多选题", "truefalse": "判断题"}
TRUE, FALSE = "对", "错"
FIELDS = {"id", "category", "kind", "text", "options", "answer", "explanation", "source",
          "available_from", "available_until", "group", "distinct_from"}
LETTERS = string.ascii_uppercase[:6]
# Generous bounds that catch pasted paragraphs; a question, its options and the previous
# question's explanation must fit together in one 2048-byte WeChat reply.
MAX_CHARS = {"text": 300, "option": 100, "explanation": 300, "source": 200}


@dataclasses.dataclass(frozen=True)
class Question:
    id: str
    category: str
    kind: str
    text: str
    options: tuple[str, ...]
    answer: str  # canonical: sorted letters ("B", "ABD") or 对 / 错
    explanation: str
    source: str
    file: str
    available_from: dt.date | None = None  # rounds never serve it outside these days
    available_until: dt.date | None = None
    group: str = ""  # questions asking the same fact share a group; a round holds one of them
    distinct_from: tuple[str, ...] = ()  # similar stems checked by staff to ask different facts

    @property
    def group_key(self) -> str:
        return self.group or self.id

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.options)]

    def is_correct(self, given: str) -> bool:
        return given == self.answer


@dataclasses.dataclass(frozen=True)
class QuizBank:
    questions: tuple[Question, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})

    def get(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.questions)


def load_bank(directory: Path) -> QuizBank:
    """All questions of `directory/quiz/*.toml`, in file order; raises ContentError on the first problem."""
    folder = directory / "quiz"
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if not files:
        raise ContentError(folder, "-", "-", "no question files (content/quiz/*.toml)")
    questions: list[Question] = []
    seen: dict[str, Path] = {}
    for path in files:
        entries = read_toml(path).get("question", [])
        if not isinstance(entries, list):
            raise ContentError(path, "[[question]]", "-", "must be an array of tables")
        for index, entry in enumerate(entries):
            question = parse_question(path, index, entry)
            if question.id in seen:
                raise ContentError(path, question.id, "id", f"duplicate id (also in {seen[question.id].name})")
            seen[question.id] = path
            questions.append(question)
    if not questions:
        raise ContentError(folder, "-", "-", "the question bank is empty")
    return QuizBank(tuple(questions))


def parse_question(path: Path, index: int, entry: Any) -> Question:
    label = f"question #{index + 1}"
    if not isinstance(entry, dict):
        raise ContentError(path, label, "-", "must be a table")
    qid = require_text(path, label, entry, "id")
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        raise ContentError(path, qid, unknown[0], f"unknown field (allowed: {', '.join(sorted(FIELDS))})")
    category = require_text(path, qid, entry, "category")
    if category not in CATEGORIES:
        raise ContentError(path, qid, "category", f"unknown category {category!r} (one of: {', '.join(CATEGORIES)})")
    kind = require_text(path, qid, entry, "kind")
    if kind not in KINDS:
        raise ContentError(path, qid, "kind", f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    text = _bounded(path, qid, "text", require_text(path, qid, entry, "text"))
    explanation = _bounded(path, qid, "explanation", require_text(path, qid, entry, "explanation"))
    source = _bounded(path, qid, "source", require_text(path, qid, entry, "source"))
    options = _options(path, qid, kind, entry.get("options"))
    raw_answer = entry.get("answer")
    if not isinstance(raw_answer, str) or not raw_answer.strip():
        raise ContentError(path, qid, "answer", "missing or empty")
    answer = _answer(path, qid, kind, options, raw_answer.strip())
    available_from, available_until = date_range(path, qid, entry)
    return Question(qid, category, kind, text, options, answer, explanation, source, path.name,
                    available_from, available_until, _group(path, qid, entry), _distinct_from(path, qid, entry))


def _group(path: Path, qid: str, entry: dict[str, Any]) -> str:
    group = entry.get("group", "")
    if not isinstance(group, str):
        raise ContentError(path, qid, "group", "must be text")
    return group.strip()


def _distinct_from(path: Path, qid: str, entry: dict[str, Any]) -> tuple[str, ...]:
    others = entry.get("distinct_from", [])
    if not isinstance(others, list) or not all(isinstance(o, str) and o.strip() for o in others):
        raise ContentError(path, qid, "distinct_from", "must be a list of question ids")
    return tuple(o.strip() for o in others)


def _bounded(path: Path, qid: str, field: str, value: str) -> str:
    if len(value) > MAX_CHARS[field]:
        raise ContentError(path, qid, field, f"too long ({len(value)} characters, at most {MAX_CHARS[field]})")
    return value


def _options(path: Path, qid: str, kind: str, options: Any) -> tuple[str, ...]:
    if kind == "truefalse":
        if options is not None:
            raise ContentError(path, qid, "options", "a truefalse question has no options")
        return ()
    if not isinstance(options, list) or not 2 <= len(options) <= len(LETTERS):
        raise ContentError(path, qid, "options", f"need 2 to {len(LETTERS)} options")
    cleaned = []
    for number, option in enumerate(options):
        if not isinstance(option, str) or not option.strip():
            raise ContentError(path, qid, "options", f"option {LETTERS[number]} is empty")
        cleaned.append(_bounded(path, qid, "option", option.strip()))
    if len(set(cleaned)) != len(cleaned):
        raise ContentError(path, qid, "options", "two options are the same")
    return tuple(cleaned)


def _answer(path: Path, qid: str, kind: str, options: tuple[str, ...], answer: str) -> str:
    if kind == "truefalse":
        if answer not in (TRUE, FALSE):
            raise ContentError(path, qid, "answer", f"a truefalse answer is {TRUE} or {FALSE}, not {answer!r}")
        return answer
    letters = answer.upper()
    allowed = LETTERS[: len(options)]
    if not letters.isascii() or not letters.isalpha() or any(ch not in allowed for ch in letters):
        raise ContentError(path, qid, "answer", f"{answer!r} is not among the options ({'/'.join(allowed)})")
    if len(set(letters)) != len(letters):
        raise ContentError(path, qid, "answer", f"{answer!r} repeats a letter")
    if kind == "single" and len(letters) != 1:
        raise ContentError(path, qid, "answer", f"a single-choice question has one answer, not {answer!r}")
    if kind == "multiple" and len(letters) < 2:
        raise ContentError(path, qid, "answer", "a multiple-choice question needs two or more answers")
    return "".join(sorted(letters))


def check_round_size(content: Any, _dispatcher: Any, config: Any) -> list[str]:
    """A round draws [quiz] questions_per_round distinct questions: the bank must hold that many."""
    per_round = config.quiz.questions_per_round
    problems = []
    if not 1 <= per_round <= 100:
        problems.append(f"[quiz] questions_per_round must be 1..100, not {per_round}")
    if len(content.quiz) < per_round:
        problems.append(f"content/quiz: {len(content.quiz)} questions, fewer than [quiz] questions_per_round = {per_round}")
    return problems
