"""Traditional characters as simplified (OpenCC), the one script every matcher compares in."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _converter() -> Any:
    import opencc  # a C++ table lookup, ~2 µs a message; loaded once per process

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """參加競賽 → 参加竞赛; simplified text is unchanged."""
    return _converter().convert(text) if text else text
