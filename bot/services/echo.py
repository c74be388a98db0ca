"""What a citizen wrote, said back in a reply: only its start when it is long, so the question after it
always fits (a passive reply is cut at 2048 bytes, and a cut would take the instruction with it)."""

from __future__ import annotations

ECHO_CHARS = 40  # a quote in a prompt: enough to recognise one's own words


def quoted(text: str, limit: int = ECHO_CHARS) -> str:
    """The text, or its first `limit` characters and "……（共N字，已完整保存）"."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return f"{text[:limit]}……（共{len(text)}字，已完整保存）"
