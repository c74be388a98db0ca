"""`python -m bot keys rotate` (issue 19 item 4): every sealed value is re-sealed with a new identity
key while the old one is given; afterwards, with only the new key, everything a citizen or staff
relies on still works: 我的举报, 查询 with a query code, a draft's contact, every sealed contact
(`keys check`), a prize claim's contact, a published draw's verification. A stopped rotation
continues where it stopped; old `v1:` values (sealed before key ids) are rotated too."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String, Text, func, select

from bot import create_app
from bot.config import ConfigError, from_mapping
from bot.infra.db import Database
from bot.infra.store import MemoryStore, RedisStore, StoreError
from bot.models import AuditEntry, Base, Report, VaultKey
from bot.services.keys import ROTATE_ACTION, ROTATE_BEGIN_ACTION, SEALED, STORE_SEALED, check, column_name, rotate
from bot.services.quiz import draws
from bot.services.reports.identity import (
    HMAC_KEYS,
    REPLY_FIELD,
    TAG_PURPOSES,
    IdentityError,
    IdentityVault,
    key_id,
    vault_for,
)
from tests.console import ConsoleClient, add_staff
from tests.quiz_helpers import current_question, right
from tests.reports_helpers import TICKET, file_report
from tests.services import REDIS_URL, redis_store
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer

ROOT = Path(__file__).resolve().parent.parent
OLD_KEY = "old-identity-key-of-the-rotation-tests-0123456789"
NEW_KEY = "new-identity-key-of-the-rotation-tests-9876543210"
JUNE1 = dt.date(2021, 6, 1)


@contextlib.contextmanager
def deployment(database_url: str, clock, store, key: str, previous: str = "") -> Iterator:
    """The app as it runs with these keys in its environment."""
    config = make_config(database_url, security={"identity_key": key, "previous_identity_key": previous})
    app = create_app(config, clock=clock, store=store)
    app.testing = True
    app.extensions["bot"].quiz_rng = lambda: random.Random(7)
    try:
        yield app
    finally:
        app.extensions["bot"].close()


def person(app, clock, openid: str) -> Citizen:
    return Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock), openid)


def bot_cli(database_url: str, key: str, *args: str, previous: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "BOT_DATABASE_URL": database_url, "BOT_SECURITY_IDENTITY_KEY": key,
           "BOT_SECURITY_PREVIOUS_IDENTITY_KEY": previous, "BOT_WECHAT_TOKEN": TOKEN}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def legacy_seal(key: str, field: str, value: str) -> str:
    """A value as releases before key ids sealed it: `v1:` + base64(nonce + AES-GCM), the AES key
    HKDF-SHA256(key, salt "safety-month-bot", info "reports/identity/aes-gcm/v1") — written out here
    so that the test does not trust the vault to know its own old format."""
    aes = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"safety-month-bot",
               info=b"reports/identity/aes-gcm/v1").derive(key.encode())
    nonce = os.urandom(12)
    return "v1:" + base64.b64encode(nonce + AESGCM(aes).encrypt(nonce, value.encode(), field.encode())).decode()


def play_full_marks(player: Citizen, app, clock) -> None:
    player.says("答题")
    for _ in range(5):
        clock.advance(seconds=12)
        player.says(right(current_question(app.extensions["bot"], player.openid)))


def claim(winner: Citizen) -> None:
    winner.dialog([(lambda c: c.click("QUIZ_CLAIM"), "姓名"), ("1", "姓名请填写"), ("王小明", "11位手机号"),
                   ("13912345678", "确认"), ("确认", "已登记")])


def admin(app, username: str = "boss") -> ConsoleClient:
    add_staff(app, username, "admin")
    console = ConsoleClient(app.test_client())
    assert console.login(username).status_code == 302
    return console


def sealed_values(database_url: str) -> list[str]:
    database = Database(database_url)
    try:
        with database.session() as session:
            return [value for column, _field in SEALED for value in session.scalars(select(column))
                    if value is not None]
    finally:
        database.dispose()


def columns_holding_sealed_values(database_url: str) -> set[str]:
    """Every column of every table that holds a value in the vault's format (vault_keyring aside)."""
    database = Database(database_url)
    found = set()
    try:
        with database.session() as session:
            for table in Base.metadata.sorted_tables:
                for column in table.columns:
                    if table.name != "vault_keyring" and isinstance(column.type, String | Text) and session.scalar(
                            select(func.count()).select_from(table).where(
                                column.like("v1:%") | column.like("v2:%"))):
                        found.add(f"{table.name}.{column.name}")
    finally:
        database.dispose()
    return found


def test_after_a_rotation_only_the_new_key_finds_everything(database_url: str, clock, store) -> None:
    with deployment(database_url, clock, store, OLD_KEY) as old:
        winner = person(old, clock, "o_winner")
        play_full_marks(winner, old, clock)
        clock.advance(days=1)
        with old.extensions["bot"].db.session() as session:
            draw = draws.create_draw(session, old.extensions["bot"].config.quiz, vault=old.extensions["bot"].vault,
                                     title="周抽奖", prize="灭火器一具", winners=1, period_start=JUNE1, period_end=JUNE1,
                                     by="staff", now=clock.now())
            [prize] = draws.reveal_draw(session, old.extensions["bot"].config.quiz, draw.id,
                                        vault=old.extensions["bot"].vault, by="staff", now=clock.now())
            session.commit()
            published = draws.published_list(old.extensions["bot"].vault, session, draw.id)
        claim(winner)
        reporter = person(old, clock, "o_reporter")
        ticket, code = file_report(reporter, contact="张三 13800138000")
        drafting = person(old, clock, "o_drafting")
        drafting.dialog([("举报", "请选择隐患类别"), ("2", "请描述隐患情况"),
                         ("城关镇幸福小区门口的脚手架没有围挡，钢管堆在人行道上。", "请发送隐患位置"),
                         ("跳过", "请上传"), ("完成", "请留下姓名和手机号"), ("李四 13700137000", "请核对您的举报")])
    assert all(value.startswith(f"v2:{key_id(OLD_KEY)}:") for value in sealed_values(database_url))
    assert columns_holding_sealed_values(database_url) <= {column_name(column) for column, _field in SEALED}, \
        "a column holds sealed values that SEALED does not list: the rotation would miss it"

    rotated = bot_cli(database_url, NEW_KEY, "keys", "rotate", "--batch", "2", previous=OLD_KEY)
    assert rotated.returncode == 0, rotated.stderr
    # One batch for each report column (one value each), one for each draft and prize column.
    assert "batch 1 of 7 done" in rotated.stdout and "batch 7 of 7 done" in rotated.stdout
    assert "reports.openid_enc: 1 of 1 re-sealed" in rotated.stdout
    assert "quiz_prizes.claimant_phone: 1 of 1 re-sealed" in rotated.stdout
    assert all(value.startswith(f"v2:{key_id(NEW_KEY)}:") for value in sealed_values(database_url))
    assert "张三" not in rotated.stdout + rotated.stderr and "13800138000" not in rotated.stdout + rotated.stderr

    # Only the new key is configured now; the old one is gone from the environment.
    checked = bot_cli(database_url, NEW_KEY, "keys", "check")
    assert checked.returncode == 0, checked.stderr
    assert "reports.phone_enc: 1 of 1 opened" in checked.stdout
    assert "quiz_prizes.claimant_name: 1 of 1 opened" in checked.stdout
    assert bot_cli(database_url, OLD_KEY, "keys", "check").returncode == 1  # nothing is sealed with it any more
    verified = bot_cli(database_url, NEW_KEY, "quiz", "draw", "verify", str(draw.id))
    assert verified.returncode == 0 and "VERIFIED" in verified.stdout, verified.stdout

    with deployment(database_url, clock, store, NEW_KEY) as new:
        bot = new.extensions["bot"]
        assert ticket in person(new, clock, "o_reporter").says("我的举报")
        assert ticket in person(new, clock, "o_stranger").says(f"查询 {ticket} {code}")
        submitted = person(new, clock, "o_drafting").says("确认")
        drafted = TICKET.search(submitted).group(1)
        console = admin(new)
        shown = console.post(f"/console/reports/{ticket}/reveal", {"reason": "核实需要联系举报人"}).get_data(as_text=True)
        assert "张三" in shown and "13800138000" in shown and "o_reporter" in shown
        shown = console.post(f"/console/reports/{drafted}/reveal", {"reason": "核实需要联系举报人"}).get_data(as_text=True)
        assert "李四" in shown and "13700137000" in shown
        assert "13912345678" in console.post(f"/console/quiz/prizes/{prize.id}/contact").get_data(as_text=True)
        audit_page = console.get("/console/audit").get_data(as_text=True)
        assert "更换身份密钥" in audit_page and "已重新加密" in audit_page
        with bot.db.session() as session:
            assert draws.published_list(bot.vault, session, draw.id) == published
            assert draws.verify_draw(session, draw.id, bot.vault).ok
            entry = session.scalars(select(AuditEntry).where(AuditEntry.action == ROTATE_ACTION)).one()
            assert (entry.actor, entry.target) == ("cli", f"key:{key_id(NEW_KEY)}")
            assert entry.after["resealed"] == 7 and entry.after["unreadable"] == 0


def test_a_stopped_rotation_continues_where_it_stopped(database_url: str, clock, store) -> None:
    with deployment(database_url, clock, store, OLD_KEY) as old:
        tickets = [file_report(person(old, clock, f"o_r{n}"), contact=f"张三 1380013800{n}") for n in range(3)]
    database = Database(database_url)
    try:
        with database.session() as session:  # a report sealed before key ids, as older releases left it
            report = session.scalars(select(Report).where(Report.ticket == tickets[0][0])).one()
            report.phone_enc = legacy_seal(OLD_KEY, "phone", "13800138000")
            session.commit()
        both = vault_for(make_config(database_url, security={"identity_key": NEW_KEY, "previous_identity_key": OLD_KEY}))

        def stop_after_two(done: int, total: int, column: str) -> None:
            if done == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            rotate(database, both, clock.now(), batch_size=2, progress=stop_after_two)
        only_new = vault_for(make_config(database_url, security={"identity_key": NEW_KEY}))
        with database.session() as session:
            left = sum(result.unreadable for result in check(session, only_new))
        assert left == 9 - 3, "the two batches of the openid column (2 + 1 values) were committed, the rest waits"
        with database.session() as session:  # the stopped run is in the audit log, with what it had to do
            [begun] = session.scalars(select(AuditEntry).where(AuditEntry.action == ROTATE_BEGIN_ACTION))
            assert begun.after == {"pending": 9}
            assert session.scalars(select(AuditEntry).where(AuditEntry.action == ROTATE_ACTION)).all() == []

        again = rotate(database, both, clock.now(), batch_size=2)
        assert again.counts() == {"pending": 6, "resealed": 6, "unreadable": 0, "changed_meanwhile": 0}
        with database.session() as session:
            assert all(result.unreadable == 0 for result in check(session, only_new))
            report = session.scalars(select(Report).where(Report.ticket == tickets[0][0])).one()
            assert only_new.decrypt("phone", report.phone_enc) == "13800138000"
        assert rotate(database, both, clock.now()).counts()["pending"] == 0  # a third run finds nothing to do
    finally:
        database.dispose()

    with deployment(database_url, clock, store, NEW_KEY) as new:
        for n, (ticket, code) in enumerate(tickets):
            assert ticket in person(new, clock, f"o_r{n}").says("我的举报")
            assert ticket in person(new, clock, "o_stranger").says(f"查询 {ticket} {code}")


def test_a_second_rotation_keeps_the_keyed_hashes(database_url: str, clock, store) -> None:
    third = "third-identity-key-of-the-rotation-tests-24680"
    with deployment(database_url, clock, store, OLD_KEY) as old:
        ticket, code = file_report(person(old, clock, "o_reporter"))
    assert bot_cli(database_url, NEW_KEY, "keys", "rotate", previous=OLD_KEY).returncode == 0
    rotated = bot_cli(database_url, third, "keys", "rotate", previous=NEW_KEY)
    assert rotated.returncode == 0, rotated.stderr
    assert bot_cli(database_url, third, "keys", "check").returncode == 0
    with deployment(database_url, clock, store, third) as latest:
        assert ticket in person(latest, clock, "o_reporter").says("我的举报")
        assert ticket in person(latest, clock, "o_stranger").says(f"查询 {ticket} {code}")


def test_while_rotating_the_bot_opens_both_and_seals_with_the_new_key(database_url: str, clock, store) -> None:
    with deployment(database_url, clock, store, OLD_KEY) as old:
        first, _ = file_report(person(old, clock, "o_reporter"))
    with deployment(database_url, clock, store, NEW_KEY, previous=OLD_KEY) as during:
        second, _ = file_report(person(during, clock, "o_reporter"), contact="王五 13600136000")
        reply = person(during, clock, "o_reporter").says("我的举报")
        assert first in reply and second in reply
        shown = admin(during).post(f"/console/reports/{first}/reveal", {"reason": "核实需要联系举报人"})
        assert "13800138000" in shown.get_data(as_text=True)
    with Database(database_url).session() as session:
        phones = {r.ticket: r.phone_enc for r in session.scalars(select(Report))}
    assert phones[first].startswith(f"v2:{key_id(OLD_KEY)}:") and phones[second].startswith(f"v2:{key_id(NEW_KEY)}:")


def test_rotate_refuses_without_the_previous_key_and_tells_a_wrong_one(database_url: str, clock, store) -> None:
    with deployment(database_url, clock, store, OLD_KEY) as old:
        file_report(person(old, clock, "o_reporter"))
    alone = bot_cli(database_url, NEW_KEY, "keys", "rotate")
    assert alone.returncode != 0 and "previous_identity_key" in alone.stderr
    wrong = bot_cli(database_url, NEW_KEY, "keys", "rotate", previous="not-the-key-the-data-was-sealed-with-000")
    assert wrong.returncode == 1 and "nothing was changed" in wrong.stderr, wrong.stderr
    assert bot_cli(database_url, OLD_KEY, "keys", "check").returncode == 0, "nothing was re-sealed, no keys were kept"
    # After a rotation, a key other than the last rotation's opens no keyring: told, not a traceback.
    assert bot_cli(database_url, NEW_KEY, "keys", "rotate", previous=OLD_KEY).returncode == 0
    stale = bot_cli(database_url, OLD_KEY, "keys", "check")
    assert stale.returncode == 1 and "configure the key of the last rotation" in stale.stderr, stale.stderr


def test_values_no_key_opens_are_counted_and_left(database_url: str, clock, store) -> None:
    with deployment(database_url, clock, store, OLD_KEY) as old:
        ticket, _ = file_report(person(old, clock, "o_reporter"))
    foreign = legacy_seal("another-deployment-key-0123456789abcdefghij", "name", "赵六")
    with Database(database_url).session() as session:
        session.scalars(select(Report).where(Report.ticket == ticket)).one().name_enc = foreign
        session.commit()
    rotated = bot_cli(database_url, NEW_KEY, "keys", "rotate", previous=OLD_KEY)
    assert rotated.returncode == 1 and "1 sealed values open with neither" in rotated.stderr, rotated.stderr
    assert "reports.phone_enc: 1 of 1 re-sealed" in rotated.stdout
    with Database(database_url).session() as session:
        assert session.scalars(select(Report.name_enc)).one() == foreign


def test_production_checks_the_previous_key_like_the_identity_key() -> None:
    strong = {"server": {"mode": "production", "secret_key": "s3cr3t-" + "k" * 2 + "abcdefghijklmnopqrstuvwxyz0123456789"},
              "wechat": {"app_id": APP_ID, "app_secret": "real-app-secret", "token": "real-token"},
              "security": {"identity_key": NEW_KEY}}
    assert from_mapping(strong | {"security": {"identity_key": NEW_KEY, "previous_identity_key": OLD_KEY}})
    with pytest.raises(ConfigError, match="previous_identity_key holds about"):
        from_mapping(strong | {"security": {"identity_key": NEW_KEY, "previous_identity_key": "short-old-key"}})
    with pytest.raises(ConfigError, match="previous_identity_key is the same as identity_key"):
        from_mapping(strong | {"security": {"identity_key": NEW_KEY, "previous_identity_key": NEW_KEY}})


def test_the_keyring_gives_back_neither_the_old_key_nor_what_it_sealed(database_url: str, clock, store) -> None:
    """Whoever holds the new key and a database copy must not get the old key from the keyring: with
    it, a backup taken before the rotation (or a contact erased since) would open again."""
    with deployment(database_url, clock, store, OLD_KEY) as old:
        file_report(person(old, clock, "o_reporter"))
    assert bot_cli(database_url, NEW_KEY, "keys", "rotate", previous=OLD_KEY).returncode == 0
    with Database(database_url).session() as session:
        [sealed] = session.scalars(select(VaultKey.sealed))
    opened = IdentityVault(NEW_KEY).decrypt(HMAC_KEYS, sealed)
    old_aes = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"safety-month-bot",
                   info=b"reports/identity/aes-gcm/v1").derive(OLD_KEY.encode())
    assert OLD_KEY not in opened and base64.b64encode(OLD_KEY.encode()).decode() not in opened
    assert base64.b64encode(old_aes).decode() not in opened and old_aes.hex() not in opened
    before_rotation = legacy_seal(OLD_KEY, "phone", "13800138000")  # as a pre-rotation backup holds it
    with pytest.raises(IdentityError):
        vault_for(make_config(database_url, security={"identity_key": NEW_KEY})).decrypt("phone", before_rotation)


def test_every_keyed_tag_purpose_is_registered() -> None:
    """A purpose missing from TAG_PURPOSES would get another key after the first rotation, and its
    stored tags would stop matching; so the vault refuses it, and every one the code uses is listed."""
    purposes = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]:
        purposes.update(re.findall(r'^[A-Z_]+_TAG = "([^"]+)"', path.read_text(encoding="utf-8"), re.M))
    assert purposes and purposes <= set(TAG_PURPOSES), purposes - set(TAG_PURPOSES)
    with pytest.raises(ValueError, match="TAG_PURPOSES"):
        IdentityVault(NEW_KEY).keyed_tag("some/new-purpose", "x")


def test_a_claim_typed_across_the_removal_of_the_old_key_is_asked_again(database_url: str, clock, store) -> None:
    """The claim's name waits in the store sealed with the old key, and this rotation did not reach
    the store (`keys rotate` here has no [redis] url, as when Redis was not configured for it); once
    only the new key is given it cannot be opened: the winner is asked again in Chinese, not
    answered with an error."""
    with deployment(database_url, clock, store, OLD_KEY) as old:
        half_typed_claim(old, clock)
    assert bot_cli(database_url, NEW_KEY, "keys", "rotate", previous=OLD_KEY).returncode == 0
    with deployment(database_url, clock, store, NEW_KEY) as new:
        winner = person(new, clock, "o_winner")
        winner.dialog([("13912345678", "请重新回复领奖人姓名"), ("王小明", "11位手机号"),
                       ("13912345678", ["王小明", "确认"]), ("确认", "已登记")])


def test_keys_check_tells_owner_hashes_made_with_other_keys(database_url: str, clock, store) -> None:
    """An owner hash made with other HMAC keys (here: the reports of another deployment's keys,
    as a database restored under the wrong keyring would have) makes 我的举报 find nothing, though
    every contact opens: `keys check` says so."""
    with deployment(database_url, clock, store, OLD_KEY) as old:
        ticket, _ = file_report(person(old, clock, "o_reporter"))
    checked = bot_cli(database_url, OLD_KEY, "keys", "check")
    assert checked.returncode == 0 and "reports.owner (keyed hash of the openid): 1 of 1 match" in checked.stdout
    other = IdentityVault("another-deployment-key-0123456789abcdefghij")
    with Database(database_url).session() as session:
        session.scalars(select(Report).where(Report.ticket == ticket)).one().owner = other.owner("o_reporter")
        session.commit()
    wrong = bot_cli(database_url, OLD_KEY, "keys", "check")
    assert wrong.returncode == 1 and "1 reports' owner hashes do not match" in wrong.stderr, wrong.stderr
    assert "reports.phone_enc: 1 of 1 opened" in wrong.stdout


# --- values sealed in the store (Redis in production) --------------------------------------------

SEALED_TOKEN = re.compile(r"v1:[A-Za-z0-9+/=]+|v2:[0-9a-f]{8}:[A-Za-z0-9+/=]+")


@pytest.fixture(params=["memory", "redis"])
def each_store(request: pytest.FixtureRequest) -> Iterator[MemoryStore | RedisStore]:
    """Both stores in every run: Redis only where the run has one (BOT_TEST_REDIS_URL)."""
    if request.param == "memory":
        yield MemoryStore()
    elif not REDIS_URL:
        pytest.skip("BOT_TEST_REDIS_URL is not set")
    else:
        yield from redis_store(REDIS_URL)


def store_values(store: MemoryStore | RedisStore) -> dict[str, str]:
    """Every string the store holds (the leaderboard, a sorted set, aside)."""
    values = {}
    for key in store.scan(""):
        with contextlib.suppress(StoreError):  # Redis: WRONGTYPE for the sorted set
            value = store.get(key)
            if value is not None:
                values[key] = value
    return values


def seconds_left(store: MemoryStore | RedisStore, key: str) -> float:
    """The key's remaining time to live, read inside the store (the Store protocol has no TTL read)."""
    if isinstance(store, RedisStore):
        return store._redis.pttl(store._k(key)) / 1000
    return store._values[key][1] - time.monotonic()


def opened_with(vault: IdentityVault, key: str, value: str) -> list[str]:
    [part] = [part for part in STORE_SEALED if key.startswith(part.prefix)]
    return [vault.decrypt(field, token) for field, token in part.parts(value)]


def half_typed_claim(app, clock) -> Citizen:
    """A full-marks winner of the next day's draw who gave a name and not yet a phone: the name
    waits sealed in the conversation."""
    winner = person(app, clock, "o_winner")
    play_full_marks(winner, app, clock)
    clock.advance(days=1)
    bot = app.extensions["bot"]
    with bot.db.session() as session:
        draw = draws.create_draw(session, bot.config.quiz, vault=bot.vault, title="周抽奖", prize="灭火器一具",
                                 winners=1, period_start=JUNE1, period_end=JUNE1, by="staff", now=clock.now())
        draws.reveal_draw(session, bot.config.quiz, draw.id, vault=bot.vault, by="staff", now=clock.now())
        session.commit()
    winner.dialog([(lambda c: c.click("QUIZ_CLAIM"), "姓名"), ("1", "姓名请填写"), ("王小明", "11位手机号")])
    return winner


def claim_half_typed_and_report_filed(app, clock) -> tuple[Citizen, Citizen, str]:
    """A winner who gave a name and not yet a phone (the name waits sealed in the conversation), and
    a reporter whose last reply (with the query code) is kept sealed for WeChat's retries."""
    winner = half_typed_claim(app, clock)
    reporter = person(app, clock, "o_reporter")
    _ticket, code = file_report(reporter)
    return winner, reporter, code


def test_rotation_reseals_the_stores_values_keeping_their_time_to_live(database_url: str, clock, each_store) -> None:
    """Before, the store's sealed values were left with the old key: once it was removed, a claim
    typed across the rotation was asked again and a retry of the report's last message got
    `success` instead of its reply. Now they are re-sealed, and open with only the new key."""
    with deployment(database_url, clock, each_store, OLD_KEY) as old:
        winner, reporter, code = claim_half_typed_and_report_filed(old, clock)
        first_reply = reporter.resend_last().text
    assert code in first_reply
    before = store_values(each_store)
    found = {key: SEALED_TOKEN.findall(value) for key, value in before.items() if SEALED_TOKEN.search(value)}
    for key, tokens in found.items():  # every sealed value in the store is one STORE_SEALED knows
        assert any(key.startswith(part.prefix) for part in STORE_SEALED), f"{key} holds sealed values nobody re-seals"
        assert sorted(tokens) == sorted(token for _field, token in next(
            part for part in STORE_SEALED if key.startswith(part.prefix)).parts(before[key])), key
    assert {key.split(":", 1)[0] for key in found} == {"dedupe", "conv"}
    ttls = {key: seconds_left(each_store, key) for key in found}

    both = vault_for(make_config(database_url, security={"identity_key": NEW_KEY, "previous_identity_key": OLD_KEY}))
    database = Database(database_url)
    try:
        rotation = rotate(database, both, clock.now(), store=each_store)
    finally:
        database.dispose()
    after = store_values(each_store)
    ttls_after = {key: seconds_left(each_store, key) for key in found}

    # Only the new key now: what waited in the store still opens.
    with deployment(database_url, clock, each_store, NEW_KEY) as new:
        again = person(new, clock, "o_reporter").send(reporter.last_xml)
        assert again.text == first_reply, "the retry is answered with the kept reply, not `success`"
        person(new, clock, "o_winner").dialog([("13912345678", ["王小明", "确认"]), ("确认", "已登记")])

    sealed_values_in_store = len(found)
    assert sum(part.resealed for part in rotation.stored) == sealed_values_in_store
    assert [part.column for part in rotation.stored] == [
        "store dedupe:* (replies kept for WeChat's retries)", "store conv:* (conversations: a prize claim's contact)"]
    only_new = IdentityVault(NEW_KEY)
    for key in found:
        assert all(token.startswith(f"v2:{key_id(NEW_KEY)}:") for token in SEALED_TOKEN.findall(after[key]))
        assert opened_with(only_new, key, after[key]) == opened_with(both, key, before[key])
        assert 0 < ttls_after[key] <= ttls[key], f"{key} lost its time to live"
        assert ttls[key] - ttls_after[key] < 60, f"{key}'s time to live was not kept"
    assert rotate(Database(database_url), both, clock.now(), store=each_store).counts()["pending"] == 0
    with Database(database_url).session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == ROTATE_ACTION)
                                .order_by(AuditEntry.id)).first()
        assert entry.after["resealed"] == rotation.counts()["resealed"] >= sealed_values_in_store + 3


class BotWritesFirst:
    """The store as the rotation sees it while the running bot rewrites `key` just before the
    rotation writes it back."""

    def __init__(self, store: MemoryStore | RedisStore, key: str, value: str) -> None:
        self.store, self.key, self.value = store, key, value

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def replace_if_equals(self, key: str, expected: str, value: str) -> bool:
        if key == self.key:
            self.store.set(key, self.value, ttl=600)
        return self.store.replace_if_equals(key, expected, value)


def test_a_store_value_the_bot_changed_meanwhile_is_left_as_the_bot_wrote_it(database_url: str, clock, each_store) -> None:
    old, new = IdentityVault(OLD_KEY), IdentityVault(NEW_KEY, OLD_KEY)
    each_store.set("dedupe:m1", old.encrypt(REPLY_FIELD, "<xml>回复一</xml>"), ttl=300)
    each_store.set("dedupe:m2", old.encrypt(REPLY_FIELD, "<xml>回复二</xml>"), ttl=300)
    each_store.set("dedupe:m3", "success", ttl=300)
    each_store.set("dedupe:m4", legacy_seal("another-deployment-key-0123456789abcdefghij", REPLY_FIELD, "x"), ttl=300)
    by_the_bot = new.encrypt(REPLY_FIELD, "<xml>机器人刚写的</xml>")
    database = Database(database_url)
    try:
        rotation = rotate(database, new, clock.now(), store=BotWritesFirst(each_store, "dedupe:m2", by_the_bot))
    finally:
        database.dispose()
    assert each_store.get("dedupe:m2") == by_the_bot
    assert IdentityVault(NEW_KEY).decrypt(REPLY_FIELD, each_store.get("dedupe:m1")) == "<xml>回复一</xml>"
    assert each_store.get("dedupe:m3") == "success"
    replies = rotation.stored[0]
    assert (replies.pending, replies.resealed, replies.changed, replies.unreadable) == (3, 1, 1, 1)
    assert rotation.counts()["changed_meanwhile"] == 1 and rotation.unreadable == 1


def test_a_stopped_store_rotation_continues_where_it_stopped(database_url: str, clock, each_store) -> None:
    old, both = IdentityVault(OLD_KEY), IdentityVault(NEW_KEY, OLD_KEY)
    for n in range(5):
        each_store.set(f"dedupe:m{n}", old.encrypt(REPLY_FIELD, f"回复{n}"), ttl=300)

    def stop_after_two(done: int, total: int, part: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    database = Database(database_url)
    try:
        with pytest.raises(KeyboardInterrupt):
            rotate(database, both, clock.now(), batch_size=2, progress=stop_after_two, store=each_store)
        left = [key for key, value in store_values(each_store).items() if not value.startswith(both.sealed_prefix)]
        assert len(left) == 1, "two batches of two were written, the fifth value waits"
        again = rotate(database, both, clock.now(), batch_size=2, store=each_store)
    finally:
        database.dispose()
    assert again.counts() == {"pending": 1, "resealed": 1, "unreadable": 0, "changed_meanwhile": 0}
    assert sorted(IdentityVault(NEW_KEY).decrypt(REPLY_FIELD, v) for v in store_values(each_store).values()) == \
        [f"回复{n}" for n in range(5)]


def test_keys_rotate_without_redis_says_the_in_process_store_has_nothing_to_reseal(database_url: str, clock,
                                                                                  store) -> None:
    with deployment(database_url, clock, store, OLD_KEY) as old:
        file_report(person(old, clock, "o_reporter"))
    rotated = bot_cli(database_url, NEW_KEY, "keys", "rotate", previous=OLD_KEY)
    assert rotated.returncode == 0, rotated.stderr
    assert "the in-process store lives in the bot's own process" in rotated.stdout
