"""content/events.toml: the shipped calendar, and validation errors that name file, entry and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentError
from bot.services.events import KINDS, load_events

CONTENT = Path(__file__).resolve().parent.parent / "content"

GOOD = '''
[[event]]
id = "drill-flood"
title = "防汛应急演练"
kind = "drill"
start = 2021-06-04T09:00:00
end = 2021-06-04T11:30:00
place = "南河镇河道"
township = "nanhe"
description = "模拟汛情。"
'''


def write(tmp_path: Path, text: str) -> Path:
    shutil.copy(CONTENT / "townships.toml", tmp_path / "townships.toml")
    (tmp_path / "events.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_shipped_calendar_covers_the_campaign() -> None:
    events = load_events(CONTENT)
    kinds = {e.kind for e in events.items}
    assert kinds == set(KINDS)
    consultation = [e for e in events.items if e.kind == "consultation"]
    assert all(e.start.date().isoformat() == "2021-06-01" for e in consultation)  # June 1 is the consultation day
    drills = " ".join(e.title for e in events.items if e.kind == "drill")
    for topic in ("防汛", "煤矿", "危险化学品", "尾矿库"):
        assert topic in drills
    lectures = [e for e in events.items if e.kind == "lecture"]
    assert len({e.township for e in lectures}) >= 8  # spread over the townships
    assert min(e.start for e in lectures).day <= 10 and max(e.start for e in lectures).month == 7
    launch = next(e for e in events.items if e.kind == "launch")
    assert "落实安全责任，推动安全发展" in launch.description
    assert all(e.example for e in events.items if e.kind in ("lecture", "drill"))  # invented details are marked


def test_dates_and_all_day_events(tmp_path: Path) -> None:
    events = load_events(write(tmp_path, GOOD + '''
[[event]]
id = "showcase"
title = "展播"
kind = "showcase"
start = 2021-06-01
end = 2021-06-30
place = "线上"
description = "整月展播。"
'''))
    showcase = events.get("showcase")
    assert showcase.all_day and showcase.last_day.isoformat() == "2021-06-30" and showcase.is_programme
    assert showcase.when_text() == "6月1日—6月30日"
    assert events.get("drill-flood").when_text() == "6月4日（周五）09:00—11:30"
    assert [e.id for e in events.items] == ["showcase", "drill-flood"]  # sorted by time


@pytest.mark.parametrize(("text", "message"), [
    (GOOD + GOOD, "events.toml: drill-flood: id: duplicate id"),
    (GOOD.replace("end = 2021-06-04T11:30:00", "end = 2021-06-04T08:00:00"), "drill-flood: end: before start"),
    (GOOD.replace('kind = "drill"', 'kind = "party"'), "drill-flood: kind: unknown kind 'party'"),
    (GOOD.replace('township = "nanhe"', 'township = "atlantis"'), "drill-flood: township: unknown township 'atlantis'"),
    (GOOD.replace("start = 2021-06-04T09:00:00", 'start = "6月4日"'), "drill-flood: start: not a date or date-time"),
    (GOOD.replace("start = 2021-06-04T09:00:00", "start = 20210604"), "drill-flood: start: missing, or not a date"),
    (GOOD.replace("end = 2021-06-04T11:30:00", "end = 2021-06-05"), "drill-flood: end: start and end must both be"),
    (GOOD.replace('place = "南河镇河道"', 'place = ""'), "drill-flood: place: missing or empty text"),
    (GOOD + 'link = "javascript:alert(1)"\n', "drill-flood: link: must be an http(s) URL"),
    (GOOD + 'venue = "x"\n', "drill-flood: venue: unknown field"),
    (GOOD + 'example = "yes"\n', "drill-flood: example: must be true or false"),
    (GOOD.replace('id = "drill-flood"', 'id = "Drill Flood"'), "Drill Flood: id: use lower-case letters"),
    ("", "events.toml: [[event]]: -: no events"),
])
def test_validation_names_file_entry_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ContentError) as caught:
        load_events(write(tmp_path, text))
    assert message in str(caught.value)
    assert caught.value.file.endswith("events.toml")
