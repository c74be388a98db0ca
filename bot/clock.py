"""Injected clocks. Every timestamp in the app is tz-aware Asia/Shanghai and comes from one of these."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real date: production always uses this."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)


class FixedClock:
    """A clock that moves only when told to; tests use it."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(TZ)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, moment: dt.datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(TZ)

    def advance(self, **delta: float) -> dt.datetime:
        with self._lock:
            self._now += dt.timedelta(**delta)
            return self._now


class SimulatedClock:
    """The demo's clock: starts at a chosen campaign moment and runs forward in real time."""

    def __init__(self, start: dt.datetime) -> None:
        self._start = start.astimezone(TZ)
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._origin)


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=TZ)


def parse_day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
