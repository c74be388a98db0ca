"""The quiz pages in Debian's chromium: citizens play through the signed webhook, an editor runs a draw
(the commitment first, then the reveal), verifies it, and marks the prize of a winner who claimed
it through the webhook as delivered."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import shanghai
from bot.models.quiz import QuizDraw, QuizPrize
from tests.browser.test_console_browser import log_in
from tests.console import add_staff
from tests.quiz_helpers import current_question, right
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

pytestmark = pytest.mark.browser


def play_full_marks(person: Citizen, bot: Any, clock: Any) -> None:
    person.says("答题")
    for _ in range(bot.config.quiz.questions_per_round):
        clock.advance(seconds=12)  # a believable pace: not flagged
        person.says(right(current_question(bot, person.openid)))


def test_run_a_draw_and_verify_it(app, live_server, page, screenshot, clock) -> None:
    bot = app.extensions["bot"]
    server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)
    people = {openid: Citizen(server, openid) for openid in (f"oQuizPlayer_0123456789ab{n:04d}" for n in range(3))}
    for person in people.values():
        play_full_marks(person, bot, clock)
    clock.set(shanghai(2021, 6, 2, 9, 0))  # June 1 is over: its rounds can be drawn
    add_staff(app, "ed", "editor")
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "ed")
    page.wait_for_url(f"{live_server}/console/")
    assert page.locator("[data-panel=quiz_participation] [data-figure='quiz.participants']").get_attribute(
        "data-value") == "3"
    page.click("nav.nav >> text=有奖答题")
    page.wait_for_selector("#question-table")
    assert page.locator("[data-figure='quiz.counted.2021-06-01']").get_attribute("data-value") == "3"
    screenshot(page, "console-quiz")

    page.click("nav.nav >> text=抽奖兑奖")
    form = page.locator("#create-form")
    form.locator("input[name=title]").fill("6月1日答题抽奖")
    form.locator("input[name=prize]").fill("家用灭火器一具")
    form.locator("input[name=winners]").fill("2")
    assert form.locator("input[name=end]").input_value() == "2021-06-01"
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#commitment-value")
    with bot.db.session() as session:
        draw = session.scalar(select(QuizDraw))
    assert page.locator("#commitment-value").inner_text() == draw.commitment
    assert page.locator("#draw-status").get_attribute("data-status") == "committed"
    assert draw.seed not in page.content()
    screenshot(page, "console-quiz-draw-commitment")
    with page.expect_download() as download:  # a POST form with the CSRF token (it writes an audit row)
        page.click("#entries-link")
    assert download.value.suggested_filename == f"draw-{draw.id}-entries.txt"

    page.fill("#reveal-form input[name=beacon]", "福彩3D 2021153期 415")
    page.click("#reveal-form button[type=submit]")
    page.wait_for_selector("#draw-status[data-status=revealed]")
    assert page.locator("#seed-value").inner_text() == draw.seed
    assert page.locator("#winner-table tr[data-prize]").count() == 2

    page.click("#verify-link")
    page.wait_for_selector("#verification[data-ok='1']")
    passed = page.locator("#verification li[data-passed='1']")
    checks = {passed.nth(i).get_attribute("data-check") for i in range(passed.count())}
    assert checks == {"entries", "digest", "pseudonyms", "commitment", "winners"}
    assert page.locator("#verification li[data-passed='0']").count() == 0
    assert page.locator("#verification-summary").inner_text().startswith("核验通过")

    with bot.db.session() as session:
        first = session.scalar(select(QuizPrize).where(QuizPrize.pick_order == 1))
    people[first.openid].dialog([("领奖", "姓名"), ("王小明", "手机号"), ("13912345678", "确认"), ("确认", "已登记")])
    page.reload()
    row = page.locator(f"#winner-table tr[data-prize='{first.id}']")
    assert row.get_attribute("data-status") == "claimed"
    assert row.locator("[data-field=phone]").inner_text().startswith("139****5678")
    row.locator("button", has_text="查看完整号码").click()  # to deliver the phone credit
    page.wait_for_selector(f"#winner-table tr[data-prize='{first.id}'] .revealed")
    assert row.locator("[data-field=phone]").inner_text() == "13912345678"
    row.locator("button", has_text="标记已发放").click()
    page.wait_for_selector(f"#winner-table tr[data-prize='{first.id}'][data-status=delivered]")
    assert re.search(r"已标记为已发放", page.locator(".flash-success").inner_text())
    screenshot(page, "console-quiz-draw")
    with bot.db.session() as session:
        assert (session.get(QuizPrize, first.id).status, session.get(QuizPrize, first.id).delivered_by) == (
            "delivered", "ed")
