"""Report categories and the words that tell a hazard statement from a question."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from bot.content import ContentError, read_toml, require_text


@dataclasses.dataclass(frozen=True)
class Category:
    id: str
    name: str
    aliases: tuple[str, ...]
    department: str
    phone: str
    in_remit: bool
    example: str


@dataclasses.dataclass(frozen=True)
class Detector:
    hazards: tuple[str, ...]
    problems: tuple[str, ...]
    questions: tuple[str, ...]

    def looks_like_hazard(self, text: str) -> bool:
        """A statement of a situation ("消防通道被堵"), not a question ("电动车能在楼道充电吗")."""
        text = text.strip()
        if len(text) < 4 or any(q in text for q in self.questions):
            return False
        hazard = next((h for h in self.hazards if h in text), None)
        if hazard is None:
            return False
        # The problem word must be more than the hazard word itself.
        rest = text.replace(hazard, " ")
        return any(p in rest for p in self.problems)


@dataclasses.dataclass(frozen=True)
class ReportCategories:
    items: tuple[Category, ...]
    detect: Detector

    def get(self, category_id: str) -> Category | None:
        return next((c for c in self.items if c.id == category_id), None)

    def choose(self, text: str) -> Category | None:
        """By number ("3", "3."), exact name, or alias."""
        text = re.sub(r"[\s。.、，,]+", "", text)
        if text.isdigit():
            number = int(text)
            return self.items[number - 1] if 1 <= number <= len(self.items) else None
        for category in self.items:
            if text == category.name or text in category.aliases or text == category.name.replace("/", ""):
                return category
        return None

    def guess(self, text: str) -> Category | None:
        """The one category whose name or aliases the text names (消防通道, 煤气罐); None when none
        or several do, so the citizen chooses."""
        found = {c.id: c for c in self.items if c.id != "other"
                 for word in (c.name, *c.aliases) if len(word) >= 2 and word in text}
        return next(iter(found.values())) if len(found) == 1 else None

    def numbered(self) -> str:
        return "\n".join(f"{i}. {c.name}" for i, c in enumerate(self.items, start=1))


def _words(path: Path, table: dict, field: str) -> tuple[str, ...]:
    words = table.get(field)
    if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
        raise ContentError(path, "[detect]", field, "must be a non-empty list of text")
    return tuple(words)


def load_report_categories(directory: Path) -> ReportCategories:
    path = directory / "report_categories.toml"
    raw = read_toml(path)
    entries = raw.get("category")
    if not isinstance(entries, list) or not entries:
        raise ContentError(path, "[[category]]", "-", "no categories")
    items, seen = [], set()
    for index, entry in enumerate(entries):
        category_id = require_text(path, f"category #{index + 1}", entry, "id")
        if category_id in seen:
            raise ContentError(path, category_id, "id", "duplicate id")
        seen.add(category_id)
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ContentError(path, category_id, "aliases", "must be a list of text")
        in_remit = entry.get("in_remit")
        if not isinstance(in_remit, bool):
            raise ContentError(path, category_id, "in_remit", "must be true or false")
        items.append(Category(
            id=category_id, name=require_text(path, category_id, entry, "name"), aliases=tuple(aliases),
            department=require_text(path, category_id, entry, "department"),
            phone=require_text(path, category_id, entry, "phone"), in_remit=in_remit,
            example=require_text(path, category_id, entry, "example"),
        ))
    detect = raw.get("detect")
    if not isinstance(detect, dict):
        raise ContentError(path, "[detect]", "-", "missing table")
    detector = Detector(_words(path, detect, "hazards"), _words(path, detect, "problems"),
                        _words(path, detect, "questions"))
    return ReportCategories(tuple(items), detector)
