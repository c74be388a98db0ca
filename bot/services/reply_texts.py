"""Reply wording staff can edit without code: `content/replies.toml`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.content import ContentError, read_toml, require_text

REQUIRED = ("welcome", "help_header", "help_footer", "fallback", "apology", "busy", "busy_system", "timeout",
            "cancelled", "nothing_to_cancel", "not_understood_media", "voice_unrecognised")


def load_replies(directory: Path) -> Mapping[str, str]:
    path = directory / "replies.toml"
    texts = read_toml(path).get("texts")
    if not isinstance(texts, dict):
        raise ContentError(path, "[texts]", "-", "missing table")
    return {key: require_text(path, "[texts]", texts, key) for key in REQUIRED} | {
        key: value for key, value in texts.items() if isinstance(value, str) and key not in REQUIRED
    }
