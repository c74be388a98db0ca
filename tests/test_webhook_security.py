"""Attacks on the webhook (issue 17 items 1–3): replayed signatures, plaintext beside or instead of
the encrypted part, hostile XML. Each test is the attack; each was accepted by the code before the fix.

The attacker here has read one signed URL (an access log, a proxy) and holds neither the token nor
the AES key.
"""

from __future__ import annotations

import logging
import random
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot import create_app
from bot.config import ConfigError
from bot.models.quiz import QuizPrize
from bot.wechat.gateway import sign
from tests.reports_helpers import file_report
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer, cdata


def post(client, query: dict[str, str], body: str):
    return client.post(f"/wechat?{urlencode(query)}", data=body.encode("utf-8"), content_type="text/xml")


def text_push(server: WeChatServer, openid: str, content: str) -> str:
    return Citizen(server, openid)._envelope("text", f"<Content>{cdata(content)}</Content>")


def observed_url(client, server: WeChatServer, openid: str = "o_someone") -> dict[str, str]:
    """A legitimate plaintext push, answered; its query is what the attacker copied."""
    query = server.query(openid=openid)
    assert post(client, query, text_push(server, openid, "帮助")).status_code == 200
    return query


def metric(bot, reason: str) -> float:
    value = bot.metrics.registry.get_sample_value("smb_refused_pushes_total", {"reason": reason})
    return value or 0.0


@pytest.fixture
def plain(app, clock) -> WeChatServer:
    return WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)


# --- item 1: replay ----------------------------------------------------------------------------

def test_a_copied_signature_cannot_list_another_citizens_reports(app, bot, plain, caplog) -> None:
    victim = Citizen(plain, "o_whistleblower")
    ticket, _code = file_report(victim, contact="匿名")
    client = app.test_client()
    copied = observed_url(client, plain)
    caplog.set_level(logging.WARNING)
    response = post(client, copied, text_push(plain, victim.openid, "我的举报"))
    assert response.status_code == 403
    assert ticket not in response.get_data(as_text=True)
    assert metric(bot, "replayed") == 1.0
    refusals = [r for r in caplog.records if "refused push" in r.getMessage()]
    assert [r.getMessage() for r in refusals] == ["refused push: replayed"]  # one line, no nonce or signature
    assert copied["nonce"] not in caplog.text and copied["signature"] not in caplog.text


def test_a_copied_signature_cannot_take_over_a_prize_claim(app, bot, plain, clock) -> None:
    from tests.test_quiz_draws import make_winner, play

    bot.quiz_rng = lambda: random.Random(99)
    winner = Citizen(plain, "o_winner")
    play(winner, bot, clock)
    clock.advance(days=2)
    prize = make_winner(bot, clock, winner.openid)
    client = app.test_client()
    copied = observed_url(client, plain)
    for said in ("领奖", "李四", "13900000000", "确认"):
        assert post(client, copied, text_push(plain, winner.openid, said)).status_code == 403
    with bot.db.session() as s:
        assert s.get(QuizPrize, prize.id).status == "won"
        assert s.scalars(select(QuizPrize.claimant_phone).where(QuizPrize.id == prize.id)).one() is None


@pytest.mark.parametrize("same_query", [True, False])
def test_a_wechat_retry_of_the_same_body_gets_the_first_reply(app, bot, plain, same_query: bool) -> None:
    client = app.test_client()
    body = text_push(plain, "o_retry", "我要举报")  # starts a flow: claimed, its reply kept
    query = plain.query(openid="o_retry")
    first = post(client, query, body)
    again = post(client, query if same_query else plain.query(openid="o_retry"), body)
    assert first.status_code == again.status_code == 200
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    assert metric(bot, "replayed") == 0.0


def test_the_stateless_path_refuses_a_replayed_signature_too(app, bot, plain) -> None:
    # 帮助 from a citizen in no flow claims nothing in the dedupe (gate.py's free path).
    client = app.test_client()
    query, body = plain.query(openid="o_a"), text_push(plain, "o_a", "帮助")
    assert post(client, query, body).status_code == 200
    assert post(client, query, body).status_code == 200  # the same body: a retry
    assert post(client, query, text_push(plain, "o_b", "帮助")).status_code == 403  # another body
    assert metric(bot, "replayed") == 1.0


@pytest.mark.parametrize("skew, status", [(-301, 403), (-299, 200), (299, 200), (301, 403)])
def test_timestamps_far_from_the_clock_are_refused(app, bot, plain, clock, skew: int, status: int) -> None:
    timestamp, nonce = str(int(clock.now().timestamp()) + skew), "n1"
    query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    assert post(app.test_client(), query, text_push(plain, "o_t", "帮助")).status_code == status
    assert metric(bot, "stale") == (1.0 if status == 403 else 0.0)


def test_the_window_is_configured(database_url, clock, store) -> None:
    config = make_config(database_url, wechat={"signature_max_age_seconds": 60})
    app = create_app(config, clock=clock, store=store)
    try:
        server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)
        query = server.query()
        clock.advance(seconds=61)
        assert post(app.test_client(), query, text_push(server, "o_w", "帮助")).status_code == 403
        # URL verification (GET) keeps to the window as well.
        assert app.test_client().get(f"/wechat?{urlencode(query)}&echostr=x").status_code == 403
    finally:
        app.extensions["bot"].close()
    with pytest.raises(ConfigError, match="signature_max_age_seconds"):
        make_config(database_url, wechat={"signature_max_age_seconds": 0})


# --- item 2: safe mode is a promise ----------------------------------------------------------------

@pytest.fixture
def safe_app(database_url, clock, store):
    app = create_app(make_config(database_url, wechat={"message_mode": "safe"}), clock=clock, store=store)
    yield app
    app.extensions["bot"].close()


def test_safe_mode_refuses_plaintext_pushes(safe_app, clock) -> None:
    bot = safe_app.extensions["bot"]
    plain = WeChatServer(safe_app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)
    assert Citizen(plain, "o_s").text("帮助").status == 403
    assert metric(bot, "plaintext_in_safe_mode") == 1.0
    aes = WeChatServer(safe_app.test_client(), TOKEN, APP_ID, AES_KEY, mode="aes", clock=clock)
    assert Citizen(aes, "o_s").text("帮助").status == 200


def test_safe_mode_refuses_an_encrypted_push_without_a_valid_msg_signature(safe_app, clock) -> None:
    server = WeChatServer(safe_app.test_client(), TOKEN, APP_ID, AES_KEY, mode="aes", clock=clock)
    encrypted = server.encrypt(text_push(server, "o_s", "帮助"))
    envelope = f"<xml><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    client = safe_app.test_client()
    assert post(client, server.query(body_encrypt=encrypted) | {"msg_signature": "f" * 40}, envelope).status_code == 403
    no_encrypt = text_push(server, "o_s", "帮助")
    assert post(client, server.query(body_encrypt="") | {"encrypt_type": "aes"}, no_encrypt).status_code == 403


def test_message_mode_is_validated(database_url) -> None:
    with pytest.raises(ConfigError, match=r"\[wechat\] message_mode must be compatible or safe"):
        make_config(database_url, wechat={"message_mode": "secure"})
    with pytest.raises(ConfigError, match="needs \\[wechat\\] encoding_aes_key"):
        make_config(database_url, wechat={"message_mode": "safe", "encoding_aes_key": ""})


def test_in_compatible_mode_the_encrypted_part_counts(app, plain) -> None:
    """A push carrying plaintext fields (another citizen's 我的举报) beside the real Encrypt, without
    encrypt_type: the plaintext must not be what is answered."""
    victim = Citizen(plain, "o_victim")
    ticket, _code = file_report(victim, contact="匿名")
    real = text_push(plain, "o_someone", "帮助")
    encrypted = plain.encrypt(real)
    forged_fields = text_push(plain, victim.openid, "我的举报")[len("<xml>"):-len("</xml>")]
    body = f"<xml>{forged_fields}<Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    client = app.test_client()
    without_msg_signature = plain.query()
    response = post(client, without_msg_signature, body)
    assert response.status_code == 403 and ticket not in response.get_data(as_text=True)
    with_msg_signature = plain.query(body_encrypt=encrypted)
    del with_msg_signature["encrypt_type"]
    aes = WeChatServer(None, TOKEN, APP_ID, AES_KEY, mode="aes")
    reply = aes.parse_reply(post(client, with_msg_signature, body), with_msg_signature)
    assert reply.status == 200
    assert reply.fields["ToUserName"] == "o_someone" and ticket not in reply.xml


# --- item 3: the XML guard -----------------------------------------------------------------------

def hostile(prolog: str, content: str, openid: str = "o_x") -> str:
    return (f"{prolog}<xml><ToUserName>{cdata('gh_test')}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>1622512800</CreateTime><MsgType>text</MsgType><Content>{content}</Content>"
            f"<MsgId>77</MsgId></xml>")


# The processing instruction holds "<xml", which hid the DOCTYPE after it from the old check.
HIDING_PI = "<?note <xml?>"
INTERNAL_ENTITY = '<!DOCTYPE xml [<!ENTITY big "' + "大" * 2000 + '">]>'
LAUGHS = ('<!DOCTYPE xml [<!ENTITY l0 "lol">'
          + "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 5)) + "]>")
EXTERNAL = '<!DOCTYPE xml [<!ENTITY ext SYSTEM "file:///etc/hostname">]>'


@pytest.mark.parametrize("body", [
    hostile(HIDING_PI + INTERNAL_ENTITY, "&big;" * 20),
    hostile('<?xml version="1.0"?>' + HIDING_PI + LAUGHS, "&l4;"),
    hostile(HIDING_PI + EXTERNAL, "&ext;"),
    hostile("", "x") + HIDING_PI + "<!DOCTYPE y>",  # a DTD anywhere, even after the root
], ids=["pi-before-doctype", "billion-laughs", "external-entity", "doctype-after-root"])
def test_dtds_and_entities_are_refused_anywhere(app, body: str) -> None:
    server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain")
    query = server.query()
    query["timestamp"] = "1622512800"
    query["signature"] = sign(TOKEN, query["timestamp"], query["nonce"])
    response = post(app.test_client(), query, body)
    assert response.status_code == 400
    assert "大大" not in response.get_data(as_text=True)


def test_a_5000_level_nested_push_is_400(app, plain) -> None:
    body = hostile("", "x").replace("</xml>", "<a>" * 5000 + "</a>" * 5000 + "</xml>")
    assert post(app.test_client(), plain.query(), body).status_code == 400


@pytest.mark.parametrize("field, length", [("MediaId", 257), ("EventKey", 1025), ("FromUserName", 65),
                                           ("MsgId", 33), ("SomethingNew", 2049)])
def test_fields_longer_than_wechat_sends_are_400(app, plain, field: str, length: int) -> None:
    body = hostile("", "x").replace("</xml>", f"<{field}>{'9' * length}</{field}></xml>")
    if field in ("FromUserName", "MsgId"):
        body = body.replace(f"<{field}>", f"<{field}Old>", 1).replace(f"</{field}>", f"</{field}Old>", 1)
    assert post(app.test_client(), plain.query(), body).status_code == 400
    shorter = body.replace("9" * length, "9" * (length - 1))
    assert post(app.test_client(), plain.query(), shorter).status_code == 200


def test_an_oversized_citizen_text_gets_a_chinese_answer_and_is_not_stored(citizen, bot) -> None:
    from bot.models.reports import ReportDraft

    citizen.dialog([("举报", "请选择隐患类别"), ("1", "请描述隐患情况")])
    reply = citizen.says("楼道堆满纸箱" * 400)  # 2,400 characters
    assert "太长了" in reply and "分成几条" in reply
    with bot.db.session() as s:
        assert all(not d.description for d in s.scalars(select(ReportDraft)))
    assert "请发送隐患位置" in citizen.says("幸福小区3号楼一楼楼道里堆满纸箱，消防通道被堵死了。")


def test_a_report_description_has_a_cap(citizen, bot) -> None:
    citizen.dialog([("消防通道被堵", "回复 是"), ("是", "请选择隐患类别"), ("1", "请再补充几句")])
    assert "描述太长了（最多2000个字）" in citizen.says("堵" * 1999)  # with the start it would pass 2000
    assert "请发送隐患位置" in citizen.says("在城关镇万达广场北门")
