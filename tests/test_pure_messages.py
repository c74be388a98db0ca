"""Read-only messages from a citizen in no flow: no dedupe claim, no lock, one store round trip;
and the safety net when a rule declared pure writes after all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot import create_app
from bot.chat.routing import Router, text_in
from bot.models import Citizen as CitizenRow
from handlers import common
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer

careless = Router("careless")


@careless.on(text_in("登记我"), pure=True)  # declared pure, but it writes
def register_me(msg, ctx) -> str:
    ctx.session.add(CitizenRow(openid=msg.openid + "_twin", first_seen_at=ctx.now()))
    ctx.session.flush()
    return "已登记"


@careless.on(text_in("只读"), pure=True)
def read_only(msg, ctx) -> str:
    return f"共{ctx.session.scalar(sa.select(sa.func.count()).select_from(CitizenRow))}人"


@pytest.fixture
def careless_app(config, clock, store):
    app = create_app(config, clock=clock, store=store, routers=[common.escapes, careless, common.fallback])
    yield app
    app.extensions["bot"].close()


def dedupe_key(person: Citizen) -> str:
    return person.last_dedupe_key()


def test_a_question_from_an_idle_citizen_claims_nothing_and_its_retry_answers_the_same(app, citizen, store) -> None:
    first = citizen.says("燃气泄漏怎么办")
    assert "燃气" in first
    assert store.get(dedupe_key(citizen)) is None and store.get("lock:o_citizen_1") is None
    assert citizen.resend_last().text == first
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert "smb_dedupe_hits_total 0.0" in metrics


def test_an_events_list_is_kept_as_context_and_pages_without_a_lock(app, citizen, store) -> None:
    citizen.says("活动")
    assert '"context": true' in store.get("conv:o_citizen_1")
    assert store.get(dedupe_key(citizen)) is None
    citizen.says("更多")
    assert store.get(dedupe_key(citizen)) is None  # paging the list is pure too
    assert store.get("lock:o_citizen_1") is None


def test_in_a_flow_the_same_question_takes_the_ordinary_path(app, citizen, store) -> None:
    citizen.says("我要举报")
    citizen.says("燃气泄漏怎么办")
    assert store.get(dedupe_key(citizen)) not in (None, "\x00pending")  # claimed, its reply kept


def test_a_pure_rule_that_writes_is_rolled_back_and_run_again_under_the_lock(careless_app, mode, clock, store) -> None:
    person = Citizen(WeChatServer(careless_app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock), "o_w")
    assert person.says("登记我") == "已登记"
    bot = careless_app.extensions["bot"]
    with bot.db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).where(CitizenRow.openid == "o_w_twin")) == 1
    assert store.get(dedupe_key(person)) not in (None, "\x00pending")  # the second run was claimed
    assert person.says("只读").startswith("共")
    assert store.get(dedupe_key(person)) is None  # a rule that only reads stays free
