"""Security cases not covered beside their features: injection strings and JSON logs."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from bot.infra.observability import JsonFormatter
from bot.models.reports import Report
from tests.reports_helpers import file_report

HOSTILE = "'); DROP TABLE reports;-- 楼道里\" OR 1=1 堆满纸箱 <script>alert(1)</script>"


def test_sql_injection_strings_are_stored_literally(citizen, bot) -> None:
    file_report(citizen, description=HOSTILE)
    with bot.db.session() as s:
        [report] = s.scalars(select(Report)).all()
        assert report.description == HOSTILE


def test_production_logs_are_one_json_object_a_line() -> None:
    record = logging.LogRecord("bot.chat.pipeline", logging.WARNING, __file__, 1, "handled %s", ("msg:abc",), None)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line) | {"time": "-"} == {"time": "-", "level": "WARNING", "logger": "bot.chat.pipeline",
                                               "message": "handled msg:abc"}
