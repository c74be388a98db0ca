"""`content check`: every event falls inside the campaign window (6月1日–30日), unless the calendar
explicitly extends the window for a kind of event, as the county notice does for the lectures
("6月上旬至7月下旬").

```toml
[[extension]]            # in content/events.toml
kind = "lecture"
until = 2021-07-31
basis = "县活动通知：巡回宣讲“6月上旬至7月下旬”"
```
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.content import read_toml
from bot.services.events import KINDS


def extensions(path: Any) -> tuple[dict[str, dt.date], list[str]]:
    """kind -> last allowed day, and the problems of malformed extensions."""
    raw = read_toml(path).get("extension", [])
    allowed: dict[str, dt.date] = {}
    problems: list[str] = []
    if not isinstance(raw, list):
        return allowed, ["content/events.toml: [[extension]]: must be an array of tables"]
    for number, item in enumerate(raw, start=1):
        label = f"content/events.toml: extension #{number}"
        if not isinstance(item, dict):
            problems.append(f"{label}: must be a table")
            continue
        kind, until, basis = item.get("kind"), item.get("until"), item.get("basis")
        if kind not in KINDS:
            problems.append(f"{label}: kind: unknown kind {kind!r} (one of: {', '.join(KINDS)})")
        elif not isinstance(until, dt.date) or isinstance(until, dt.datetime):
            problems.append(f"{label}: until: a date, e.g. 2021-07-31")
        elif not isinstance(basis, str) or not basis.strip():
            problems.append(f"{label}: basis: say where the extension comes from (the notice's words)")
        else:
            allowed[kind] = until
    return allowed, problems


def check_events_in_campaign(content: Any, _dispatcher: Any, config: Any) -> list[str]:
    start = dt.date.fromisoformat(config.quiz.campaign_start)
    end = dt.date.fromisoformat(config.quiz.campaign_end)
    allowed, problems = extensions(content.directory / "events.toml")
    for event in content.events.items:
        first, last = event.start.date(), event.last_day
        until = allowed.get(event.kind, end)
        if first < start or last > until:
            extended = f" (extended for {event.kind} to {until.isoformat()})" if event.kind in allowed else ""
            problems.append(f"content/events.toml: {event.id}: {first.isoformat()}–{last.isoformat()} is outside "
                            f"the campaign {start.isoformat()}–{end.isoformat()}{extended}; move it, or extend the "
                            f"window for its kind with an [[extension]] that names its basis")
    return problems
