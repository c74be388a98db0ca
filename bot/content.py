"""Content staff edit in `content/`: loaded and validated once at start; invalid content stops start-up.

Each part has a loader `load(content_dir) -> object` that raises ContentError naming the file,
the entry and the field. A new part is one line in PARTS.
"""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from typing import Any


class ContentError(Exception):
    def __init__(self, file: str | Path, entry: str, field: str, problem: str) -> None:
        self.file, self.entry, self.field, self.problem = str(file), entry, field, problem
        super().__init__(f"{file}: {entry}: {field}: {problem}")


# name -> "module:function"; imported lazily so a part's code loads only with the content.
PARTS: dict[str, str] = {
    "replies": "bot.services.reply_texts:load_replies",
    "townships": "bot.services.townships:load_townships",
    "report_categories": "bot.services.reports.categories:load_report_categories",
    "knowledge": "bot.services.knowledge:load_knowledge",
    "emergencies": "bot.services.emergencies:load_emergencies",
    "pushes": "bot.services.pushplan:load_plan",
    "quiz": "bot.services.quiz.bank:load_bank",
    "events": "bot.services.events:load_events",
    "menu": "bot.services.menu:load_menu",
    "intents": "bot.services.intents:load_intents",
    "hotlines": "bot.services.hotlines:load_hotlines",
}


class Content:
    """The loaded parts, as attributes: `content.replies`, `content.events`, ..."""

    def __init__(self, directory: Path, parts: dict[str, Any]) -> None:
        self.directory = directory
        self._parts = parts

    def __getattr__(self, name: str) -> Any:
        try:
            return self._parts[name]
        except KeyError:
            raise AttributeError(f"no content part {name!r}") from None

    def names(self) -> list[str]:
        return list(self._parts)

    def replaced(self, **parts: Any) -> Content:
        """The same content with some parts replaced (the console's edits of events and pushes)."""
        return Content(self.directory, {**self._parts, **parts})


def load_content(directory: str | Path) -> Content:
    directory = Path(directory)
    if not directory.is_dir():
        raise ContentError(directory, "-", "-", "content directory not found")
    parts = {}
    for name, target in PARTS.items():
        module, _, function = target.partition(":")
        parts[name] = getattr(importlib.import_module(module), function)(directory)
    return Content(directory, parts)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(path, "-", "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(path, "-", "-", f"not valid TOML ({exc})") from None


def require_text(path: Path, entry: str, data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ContentError(path, entry, field, "missing or empty text")
    return value.strip()
