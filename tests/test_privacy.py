"""Reporters and winners must not be linkable (issue 17, items 5–9): what the database, the store
and the logs hold about a citizen, read the way an attacker without the identity key would."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import re
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic import command
from gunicorn.config import Config as GunicornConfig

from bot import create_app
from bot.background.jobs import reports as jobs
from bot.background.sender import Sender
from bot.cli.serve import gunicorn_options
from bot.infra.migrate import alembic_config
from bot.infra.observability import configure_logging
from bot.infra.store import MemoryStore, RedisStore
from bot.models import Citizen as CitizenRow
from bot.models import Delivery, ReportPhoto
from bot.models.quiz import QuizAnswer, QuizDraw, QuizDrawEntry, QuizPrize, QuizRound
from bot.services import notices
from bot.services.quiz import draws
from bot.services.reports import evidence, triage
from tests.console import ConsoleClient, add_staff
from tests.quiz_helpers import current_question, right
from tests.reports_helpers import file_report
from tests.services import redis_store
from tests.settings import AES_KEY, APP_ID, APP_SECRET, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer

IDENTITY_KEY = "identity-key-for-the-privacy-tests-0123456789"
NAME, PHONE = "王小明", "13912345678"
JUNE1 = dt.date(2021, 6, 1)
REPORTER_NAME, REPORTER_PHONE = "张三", "13800138000"


def unkeyed_sender(openid: str) -> str:
    """What the old code stored as a message's sender: anyone with a list of openids computes it."""
    return hashlib.sha256(openid.encode()).hexdigest()[:16]


def stored_message_keys(session: sa.orm.Session) -> list[str]:
    return [*session.scalars(sa.select(ReportPhoto.msg_key)), *session.scalars(sa.select(QuizRound.start_key)),
            *session.scalars(sa.select(QuizAnswer.message_key)), *session.scalars(sa.select(Delivery.key))]


def play_round(citizen: Citizen, bot, clock) -> None:
    citizen.says("答题")
    for _ in range(5):
        clock.advance(seconds=12)
        citizen.says(right(current_question(bot, citizen.openid)))


# --- 7. keyed hashes ---------------------------------------------------------------------------

def test_the_citizens_table_does_not_find_a_reporters_photos_or_answers(citizen, bot, clock) -> None:
    file_report(citizen, photos=2)
    play_round(citizen, bot, clock)
    with bot.db.session() as s:
        openids = list(s.scalars(sa.select(CitizenRow.openid)))
        keys = stored_message_keys(s)
    assert citizen.openid in openids and len(keys) >= 8  # 2 photos, a round and its 5 answers
    # The attack: hash every openid in the citizens table and look the hashes up.
    guesses = {unkeyed_sender(openid) for openid in openids}
    assert [key for key in keys if any(guess in key for guess in guesses)] == []
    # With the identity key the bot still recognises its own keys (retries of the same message).
    mine = bot.vault.sender(citizen.openid)
    assert sum(mine in key for key in keys) >= 8


def test_the_migration_replaces_unkeyed_message_keys(citizen, bot, clock, database_url) -> None:
    file_report(citizen, photos=1)
    play_round(citizen, bot, clock)
    old = f"msg:{unkeyed_sender(citizen.openid)}:123"
    with bot.db.session() as s:
        photo = s.scalars(sa.select(ReportPhoto)).one()
        rnd = s.scalars(sa.select(QuizRound)).one()
        answers = s.scalars(sa.select(QuizAnswer.id).order_by(QuizAnswer.id)).all()
        # As rows written before the upgrade look:
        s.execute(sa.update(ReportPhoto).values(msg_key=old))
        s.execute(sa.update(QuizRound).values(start_key=f"evt:{unkeyed_sender(citizen.openid)}:1:click:QUIZ"))
        s.commit()
    for engine in bot.db.engines:
        engine.dispose()
    config = alembic_config(database_url)
    command.downgrade(config, "0010_prize_contacts_sealed")
    command.upgrade(config, "heads")
    with bot.db.session() as s:
        assert s.scalar(sa.select(ReportPhoto.msg_key)) == f"legacy:{photo.id}"
        assert s.scalar(sa.select(QuizRound.start_key)) == f"legacy:{rnd.id}"
        # Every key present at the upgrade was written by the old code: all are replaced.
        assert s.scalars(sa.select(QuizAnswer.message_key).order_by(QuizAnswer.id)).all() == [
            f"legacy:{i}" for i in answers]
        assert not [key for key in stored_message_keys(s) if unkeyed_sender(citizen.openid) in key]


# --- 5. logs -----------------------------------------------------------------------------------

class RecordingServer(WeChatServer):
    """WeChat's side, remembering every signature and nonce it put in a query (to look for them
    in the logs); nonces are long and random so that finding one is never a coincidence."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.signed: set[str] = set()
        self.codes: set[str] = set()

    def nonce(self) -> str:
        return uuid.uuid4().hex

    def query(self, body_encrypt: str | None = None, **extra: str) -> dict[str, str]:
        query = super().query(body_encrypt, **extra)
        self.signed |= {query["nonce"], query["signature"], query.get("msg_signature", query["signature"])}
        return query


class GunicornAccessLog:
    """WSGI middleware that writes each request's access line with gunicorn's own logger, set up
    from the options `python -m bot serve` runs gunicorn with (as gunicorn's worker does)."""

    def __init__(self, app, logger) -> None:
        self.app, self.logger = app, logger

    def __call__(self, environ, start_response):
        query = environ.get("QUERY_STRING", "")
        environ.setdefault("RAW_URI", environ["PATH_INFO"] + (f"?{query}" if query else ""))
        answer: dict = {}

        def capture(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, capture))
        response = SimpleNamespace(status=answer["status"], sent=len(body), headers=answer["headers"])
        self.logger.access(response, SimpleNamespace(headers=[]), environ, dt.timedelta(milliseconds=3))
        return [body]


@pytest.fixture
def every_log_line():
    """Production logging (bot/cli.py's configure_logging, JSON) with the root at DEBUG, so every
    level of the bot's and urllib3's loggers is written, and gunicorn's access and error logs as
    `serve` configures them, all into one buffer. (Libraries keep the levels they set themselves:
    SQLAlchemy's statement echo, parameters included, stays off unless an operator turns it on.)"""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("production", buffer)
    root.setLevel(logging.DEBUG)
    cfg = GunicornConfig()
    for key, value in gunicorn_options("127.0.0.1", 8000, 2, json_logs=True).items():
        cfg.set(key, value)
    gunicorn_log = cfg.logger_class(cfg)
    for handler in gunicorn_log.access_log.handlers + gunicorn_log.error_log.handlers:
        handler.setStream(buffer)
    yield SimpleNamespace(buffer=buffer, gunicorn=gunicorn_log)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.fixture
def logged_app(database_url, fake_wechat, clock, store, every_log_line):
    config = make_config(database_url, wechat={"api_base_url": fake_wechat.base_url},
                         security={"identity_key": IDENTITY_KEY})
    app = create_app(config, clock=clock, store=store)
    app.wsgi_app = GunicornAccessLog(app.wsgi_app, every_log_line.gunicorn)
    yield app
    app.extensions["bot"].close()


def report_then_claim_a_prize(app, server: RecordingServer, fake, clock, tmp_path) -> Citizen:
    """A citizen files a report (a photo, a contact), staff accept it and the notice is sent; they
    play a full-marks round, win the draw, are told, and claim the prize with a name and phone."""
    bot = app.extensions["bot"]
    citizen = Citizen(server, "oPRIV_" + uuid.uuid4().hex[:20])
    citizen.follow()
    fake.record_interaction(citizen.openid)
    media = fake.add_media(b"\xff\xd8 a photo")
    ticket, code = file_report(citizen, media_ids=[media], contact=f"{REPORTER_NAME} {REPORTER_PHONE}")
    server.codes.add(code)
    assert ticket in citizen.says("我的举报") and ticket in citizen.says(f"查询 {ticket} {code}")
    with bot.db.session() as s:
        evidence.download_pending_photos(s, bot.extensions["api"], tmp_path, clock.now())
        triage.change_status(s, bot.vault, ticket, "accepted", actor="王科长", role="reviewer", now=clock.now(),
                            settings=bot.config.reports)
        s.commit()
    play_round(citizen, bot, clock)
    clock.advance(days=1)
    with bot.db.session() as s:
        day = (clock.now() - dt.timedelta(days=1)).date()
        draw = draws.create_draw(s, bot.config.quiz, title="周抽奖", prize="灭火器一具", winners=1,
                                 period_start=day, period_end=day, by="staff", now=clock.now(), vault=bot.vault)
        draws.reveal_draw(s, bot.config.quiz, draw.id, by="staff", now=clock.now(), vault=bot.vault)
        s.commit()
    fake.record_interaction(citizen.openid)
    assert Sender.from_bot(bot).drain() >= 2
    citizen.dialog([("领奖", "姓名"), (NAME, "手机号"), (PHONE, [NAME, PHONE]), ("确认", "已登记")])
    assert "已登记" in citizen.says("我的成绩")
    return citizen


def test_no_log_line_holds_an_openid_a_signature_a_nonce_or_a_secret(logged_app, mode, fake_wechat, clock,
                                                                     every_log_line, tmp_path) -> None:
    server = RecordingServer(logged_app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock)
    citizen = report_then_claim_a_prize(logged_app, server, fake_wechat, clock, tmp_path)
    text = every_log_line.buffer.getvalue()
    # Production logs are one JSON object a line, gunicorn's access and error lines too (the journal).
    lines = [json.loads(line)["message"] for line in text.splitlines()]
    # The capture is real: access lines of the pushes, urllib3's debug lines of the API calls.
    assert sum('"POST /wechat' in line for line in lines) >= 20
    assert any(re.search(r"/cgi-bin/(stable_)?token", line) for line in lines)
    assert any("message/custom/send" in line for line in lines)
    secrets = {citizen.openid, TOKEN, APP_SECRET, IDENTITY_KEY, *server.signed}
    assert [(secret, line) for line in lines for secret in secrets if secret in line] == []
    assert not re.search(r"access_token=[^-]", text)  # the API's credential, in urllib3's lines


def test_a_traceback_naming_the_token_url_is_redacted(every_log_line) -> None:
    # urllib3's MaxRetryError (and requests' errors wrapping it) put the whole URL in their message.
    url = f"/cgi-bin/token?grant_type=client_credential&appid={APP_ID}&secret={APP_SECRET}"
    try:
        raise ConnectionError(f"Max retries exceeded with url: {url}")
    except ConnectionError:
        logging.getLogger("bot.background.sender").exception("token fetch failed for %s", url)
    text = every_log_line.buffer.getvalue()
    assert "Max retries exceeded" in text and "token fetch failed" in text
    assert APP_SECRET not in text and "secret=-" in text


# --- 8. the store ------------------------------------------------------------------------------

def store_contents(store: MemoryStore | RedisStore) -> list[str]:
    """Every key and every value in the store, as text (a sorted set's members, a hash's fields...)."""
    if isinstance(store, MemoryStore):
        with store._guard:
            items = [(key, value) for key, (value, _) in store._values.items()]
        return [text for key, value in items
                for text in (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))]
    r, texts = store._redis, []
    for key in r.scan_iter(store._prefix + "*", count=1000):
        kind = r.type(key)
        if kind == "string":
            value = r.get(key) or ""
        elif kind == "zset":
            value = json.dumps(r.zrange(key, 0, -1, withscores=True), ensure_ascii=False)
        elif kind == "hash":
            value = json.dumps(r.hgetall(key), ensure_ascii=False)
        elif kind == "list":
            value = json.dumps(r.lrange(key, 0, -1), ensure_ascii=False)
        elif kind == "set":
            value = json.dumps(sorted(r.smembers(key)), ensure_ascii=False)
        else:
            value = ""
        texts += [key, value]
    return texts


class ScanningServer(RecordingServer):
    """After every push, reads the whole store: a value that lives only between two messages (a
    claim's name, while the phone is asked for) is seen too."""

    def __init__(self, *args, store, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.store, self.seen = store, set()

    def push(self, xml: str, openid: str = ""):
        reply = super().push(xml, openid)
        self.seen.update(store_contents(self.store))
        return reply


@pytest.fixture(params=["memory", "redis"])
def scanned_store(request):
    if request.param == "memory":
        yield MemoryStore()
    else:
        yield from redis_store()


@pytest.fixture
def store_app(database_url, fake_wechat, clock, scanned_store):
    config = make_config(database_url, wechat={"api_base_url": fake_wechat.base_url},
                         security={"identity_key": IDENTITY_KEY})
    app = create_app(config, clock=clock, store=scanned_store)
    yield app
    app.extensions["bot"].close()


def in_clear(secret: str) -> tuple[str, ...]:
    """How a value can sit in the store in clear: as itself, or JSON-escaped (ensure_ascii)."""
    return (secret, json.dumps(secret)[1:-1])


def test_the_store_never_holds_a_query_code_a_name_or_a_phone_in_clear(store_app, scanned_store, fake_wechat,
                                                                        clock, tmp_path) -> None:
    server = ScanningServer(store_app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock,
                            store=scanned_store)
    report_then_claim_a_prize(store_app, server, fake_wechat, clock, tmp_path)
    assert len(server.codes) == 1 and any("dedupe:msg:" in text for text in server.seen)  # replies were kept
    secrets = [form for secret in (*server.codes, REPORTER_PHONE, NAME, PHONE, REPORTER_NAME) for form in in_clear(secret)]
    assert [(secret, text[:200]) for text in server.seen for secret in secrets if secret in text] == []


def test_a_retry_still_gets_the_first_reply_from_its_sealed_copy(store_app, scanned_store, clock) -> None:
    server = ScanningServer(store_app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock,
                            store=scanned_store)
    citizen = Citizen(server, "oPRIV_retry")
    ticket, code = file_report(citizen, contact=f"{REPORTER_NAME} {REPORTER_PHONE}")
    retry = citizen.resend_last().text  # WeChat's retry of 确认, answered from the kept reply
    assert ticket in retry and code in retry
    assert not [text for text in server.seen if code in text]


# --- 9. published draw lists -------------------------------------------------------------------

def test_the_published_draw_list_names_no_openid_and_each_winner_finds_their_number(app, citizens, bot,
                                                                                   clock) -> None:
    people = [citizens(f"oPRIV_draw_{i}_" + uuid.uuid4().hex[:12]) for i in range(4)]
    for person in people:
        play_round(person, bot, clock)
    clock.advance(days=1)
    console = ConsoleClient(app.test_client())
    add_staff(app, "drawer", "admin")
    assert console.login("drawer").status_code == 302
    created = console.post("/console/quiz/draws/create", {"title": "第一周抽奖", "prize": "灭火器", "winners": "2",
                                                           "start": "2021-06-01", "end": "2021-06-01"})
    draw_id = int(created.headers["Location"].rsplit("/", 1)[1])
    console.post(f"/console/quiz/draws/{draw_id}/reveal", {"beacon": "3D 123"})
    published = console.post(f"/console/quiz/draws/{draw_id}/entries").get_data(as_text=True)
    lines = [line.split("\t") for line in published.split("\n")]
    assert len(lines) == 4
    # The attack: the published list against the citizens table (and its unkeyed hashes).
    with bot.db.session() as s:
        openids = list(s.scalars(sa.select(CitizenRow.openid)))
        draw = s.get(QuizDraw, draw_id)
        prizes = list(s.scalars(sa.select(QuizPrize).where(QuizPrize.draw_id == draw_id).order_by(QuizPrize.pick_order)))
        notices = {d.openid: d.payload["content"] for d in s.scalars(sa.select(Delivery).where(
            Delivery.purpose == "quiz_prize"))}
    assert [o for o in openids if o in published] == []
    hashed = {h(x.encode()).hexdigest()[:16] for o in openids for x in (o, f"{draw_id}:{o}")
              for h in (hashlib.sha256, hashlib.md5, hashlib.sha1)}
    assert not hashed & {name for _, name, _ in lines}
    # Anyone recomputes the winners from the published list, the seed and the beacon.
    assert hashlib.sha256(published.encode()).hexdigest() == draw.list_digest
    positions = draws.pick_winners([name for _, name, _ in lines], draw.seed, draw.list_digest, "3D 123", 2)
    assert positions == [p.entry_position for p in prizes]
    # Each winner was told their number, finds it at their winning place, and sees it in 我的成绩.
    for prize in prizes:
        number = lines[prize.entry_position][1]
        assert f"抽奖编号是 {number}" in notices[prize.openid]
        winner = next(p for p in people if p.openid == prize.openid)
        assert number in winner.says("我的成绩")
    loser = next(p for p in people if p.openid not in {prize.openid for prize in prizes})
    assert any(name in loser.says("我的成绩") for _, name, _ in lines)


def test_an_entrant_swapped_behind_a_pseudonym_is_caught(players_of_one_day, bot, clock) -> None:
    vault = bot.vault
    with bot.db.session() as s:
        draw = draws.create_draw(s, bot.config.quiz, title="t", prize="p", winners=1, period_start=JUNE1,
                                 period_end=JUNE1, by="a", now=clock.now(), vault=vault)
        s.execute(sa.update(QuizDrawEntry).where(QuizDrawEntry.draw_id == draw.id, QuizDrawEntry.position == 0)
                  .values(openid="o_smuggled"))
        s.expire_all()
        verification = draws.verify_draw(s, draw.id, vault)
        assert not verification.ok and [c.name for c in verification.checks if not c.passed] == ["pseudonyms"]
        assert draws.verify_draw(s, draw.id).ok  # the public check cannot see behind the pseudonyms
        with pytest.raises(draws.DrawError, match="no longer matches their published pseudonym"):
            draws.reveal_draw(s, bot.config.quiz, draw.id, by="a", now=clock.now(), vault=vault)


def test_a_draw_from_before_pseudonyms_still_verifies_and_publishes_none(players_of_one_day, bot, clock) -> None:
    vault = bot.vault
    with bot.db.session() as s:
        draw = draws.create_draw(s, bot.config.quiz, title="t", prize="p", winners=1, period_start=JUNE1,
                                 period_end=JUNE1, by="a", now=clock.now(), vault=vault)
        # As migration 0014 leaves a draw created before it: openids in the list, no pseudonyms.
        s.execute(sa.update(QuizDrawEntry).where(QuizDrawEntry.draw_id == draw.id).values(pseudonym=None))
        s.expire_all()
        draw.list_digest = draws.list_digest(draws.entries_of(s, draw.id))
        s.flush()
        draws.reveal_draw(s, bot.config.quiz, draw.id, by="a", now=clock.now(), vault=vault)
        assert draws.verify_draw(s, draw.id, vault).ok
        published = draws.published_list(vault, s, draw.id)
        assert not [p.openid for p in players_of_one_day if p.openid in published]
        assert len(published.split("\n")) == len(players_of_one_day)
        s.rollback()


@pytest.fixture
def players_of_one_day(citizens, bot, clock):
    people = [citizens(f"oPRIV_day_{i}") for i in range(3)]
    for person in people:
        play_round(person, bot, clock)
    clock.advance(days=1)
    return people


# --- 6. outbox rows ----------------------------------------------------------------------------

@pytest.fixture
def api_citizen(api_app, clock) -> Citizen:
    return Citizen(WeChatServer(api_app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock),
                   "oPRIV_anon_" + uuid.uuid4().hex[:12])


def close_report(bot, ticket: str, clock) -> None:
    settings = bot.config.reports
    with bot.db.session() as s:
        for status, note in (("accepted", ""), ("verifying", ""), ("rectified", "已清理"), ("closed", "")):
            triage.change_status(s, bot.vault, ticket, status, actor="王科长", role="reviewer", now=clock.now(),
                                settings=settings, note=note)
        s.commit()


def test_an_anonymous_reporters_notices_name_no_ticket_and_forget_the_openid(api_bot, api_citizen, fake_wechat,
                                                                            clock) -> None:
    citizen = api_citizen
    citizen.follow()
    fake_wechat.record_interaction(citizen.openid)
    ticket, _ = file_report(citizen, photos=0, location=None, contact="匿名")
    close_report(api_bot, ticket, clock)
    assert Sender.from_bot(api_bot).drain() == 4
    with api_bot.db.session() as s:
        rows = list(s.scalars(sa.select(Delivery)))
    assert len(rows) == 4 and {r.status for r in rows} == {"sent"}
    # The attack: the outbox table alone ties a ticket to an openid.
    assert [r.key for r in rows if ticket in r.key] == []
    clock.advance(hours=49)  # past the 48 hours the sender counts customer-service messages over
    jobs.forget_notice_recipients(api_bot)
    with api_bot.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Delivery).where(Delivery.openid == citizen.openid)) == 0
        assert len(notices.of_report(s, api_bot.vault, ticket)) == 4  # staff still see what became of them


def test_a_notice_is_not_forgotten_while_it_counts_against_the_window(api_bot, api_citizen, fake_wechat,
                                                                     clock) -> None:
    api_citizen.follow()
    fake_wechat.record_interaction(api_citizen.openid)
    ticket, _ = file_report(api_citizen, photos=0, location=None, contact="匿名")
    close_report(api_bot, ticket, clock)
    Sender.from_bot(api_bot).drain()
    clock.advance(hours=47)
    jobs.forget_notice_recipients(api_bot)
    with api_bot.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
            Delivery.openid == api_citizen.openid)) == 4


def test_erasing_a_reports_contacts_purges_its_notices(citizen, bot, clock) -> None:
    ticket, _ = file_report(citizen, photos=0, location=None)
    other, _ = file_report(citizen, photos=0, location=None)
    close_report(bot, ticket, clock)
    with bot.db.session() as s:
        triage.change_status(s, bot.vault, other, "accepted", actor="王科长", role="reviewer", now=clock.now(),
                            settings=bot.config.reports)
        s.commit()
    clock.advance(days=bot.config.reports.contact_retention_days + 1)
    jobs.erase_contacts(bot)
    with bot.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 1
        assert notices.of_report(s, bot.vault, ticket) == {}
        assert len(notices.of_report(s, bot.vault, other)) == 1  # still open: kept


def test_the_migration_takes_tickets_out_of_old_notice_keys(citizen, bot, clock, database_url) -> None:
    ticket, _ = file_report(citizen, photos=0, location=None)
    close_report(bot, ticket, clock)
    with bot.db.session() as s:
        rows = list(s.scalars(sa.select(Delivery).order_by(Delivery.id)))
        events = notices.of_report(s, bot.vault, ticket)
        by_row = {row.id: event_id for event_id, row in events.items()}
        for row in rows:  # as the old code keyed them
            row.key = f"report:{ticket}:status:{by_row[row.id]}"
        s.commit()
    for engine in bot.db.engines:
        engine.dispose()
    config = alembic_config(database_url)
    command.downgrade(config, "0014_draw_pseudonyms")
    command.upgrade(config, "heads")
    with bot.db.session() as s:
        keys = list(s.scalars(sa.select(Delivery.key).order_by(Delivery.id)))
        assert keys == [f"report-legacy:{by_row[row.id]}" for row in rows]
        assert {e: d.id for e, d in notices.of_report(s, bot.vault, ticket).items()} == {
            e: d.id for e, d in events.items()}
