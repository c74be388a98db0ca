"""An edit made in the console reaches every worker of a running deployment within seconds, without
a restart: gunicorn with two workers on PostgreSQL and Redis, as in production (tests/test_deployment.py)."""

from __future__ import annotations

import itertools
import re
import time
import uuid

import pytest
import requests

from bot.clock import shanghai
from bot.infra.db import Database
from bot.services import staff
from tests.console import PASSWORD
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.test_console_calendar import LECTURE, form_values
from tests.test_deployment import HttpClient, campaign_clock, instance, production_env
from tests.wechat import Citizen, WeChatServer

pytestmark = pytest.mark.slow
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_session(base: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    token = TOKEN_FIELD.search(session.get(f"{base}/console/login", timeout=30).text).group(1)
    response = session.post(f"{base}/console/login", data={"username": "ed", "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False, timeout=30)
    assert response.status_code == 302 and "/console/login" not in response.headers["Location"]
    return session


def test_every_worker_answers_with_an_edit_within_seconds(pg_url: str) -> None:
    database = Database(pg_url)
    with database.session() as session:
        staff.add(session, "ed", "editor", actor="test", now=shanghai(2021, 6, 1, 9), password=PASSWORD)
        session.commit()
    database.dispose()
    with instance(production_env(pg_url)) as base:
        citizen = Citizen(WeChatServer(HttpClient(base), TOKEN, APP_ID, AES_KEY, mode="aes", clock=campaign_clock(),
                                       # Redis keeps each (timestamp, nonce) taken for minutes, and the
                                       # campaign clock starts at the same moment every run: nonces
                                       # unique to this run, so that a rerun is not refused as a replay.
                                       nonces=itertools.count(uuid.uuid4().int % 10**12)),
                          f"o_edit_{uuid.uuid4().hex[:6]}")
        for _ in range(4):  # both workers have built their content from the files
            assert "县政府二楼会议室" in citizen.says("宣讲")
        browser = console_session(base)
        form = form_values(browser.get(f"{base}/console/calendar/{LECTURE}/edit", timeout=30).text)
        token = TOKEN_FIELD.search(browser.get(f"{base}/console/calendar", timeout=30).text).group(1)
        response = browser.post(f"{base}/console/calendar/{LECTURE}/edit", timeout=30, allow_redirects=False,
                                data=form | {"place": "县应急管理局三楼报告厅", "csrf_token": token})
        assert response.status_code == 302, response.text
        saved, in_a_row = time.monotonic(), 0
        # The worker that saved serves the edit at once, the other at its next check (every 2 s):
        # wait for a run of answers, from whichever worker, that all have the new venue.
        while in_a_row < 12:
            assert time.monotonic() - saved < 10, "a worker still answers with the file's venue"
            in_a_row = in_a_row + 1 if "县应急管理局三楼报告厅" in citizen.says("宣讲") else 0
