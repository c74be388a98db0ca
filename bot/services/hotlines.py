"""Where to turn with what this account cannot handle (`content/hotlines.toml`)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from bot.content import ContentError, read_toml, require_text

FILE = "hotlines.toml"
_NUMBER = re.compile(r"[0-9-]{3,20}")


@dataclasses.dataclass(frozen=True)
class Line:
    number: str
    name: str
    words: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Hotlines:
    default: Line
    lines: tuple[Line, ...]

    def for_text(self, text: str) -> Line:
        """The line whose words the message names first; the default (12345) otherwise."""
        return next((line for line in self.lines if any(w in text for w in line.words)), self.default)


def _number(path: Path, entry: str, data: dict, field: str) -> str:
    value = require_text(path, entry, data, field)
    if not _NUMBER.fullmatch(value):
        raise ContentError(path, entry, field, "a phone number (digits and -)")
    return value


def load_hotlines(directory: Path) -> Hotlines:
    path = directory / FILE
    data = read_toml(path)
    default = Line(_number(path, "-", data, "default"), require_text(path, "-", data, "default_name"))
    lines = []
    for index, raw in enumerate(data.get("line") or []):
        entry = f"[[line]] #{index + 1}"
        words = raw.get("words")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise ContentError(path, entry, "words", "a list of words")
        lines.append(Line(_number(path, entry, raw, "number"), require_text(path, entry, raw, "name"),
                          tuple(w.strip() for w in words)))
    return Hotlines(default, tuple(lines))
