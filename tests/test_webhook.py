"""The WeChat server protocol: signatures, modes, status codes, hard edges, dedupe, per-user lock."""

from __future__ import annotations

import base64
import itertools
import logging
import threading
import time
from urllib.parse import urlencode

import pytest
from wechatpy.crypto import PrpCrypto
from werkzeug.test import EnvironBuilder

from bot import create_app
from bot.chat.routing import Router, kind, text_in
from bot.services.reports.identity import vault_for
from bot.wechat.gateway import Gateway, sign
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer, cdata

# --- a probe router: echoes what the gateway parsed, so each protocol rule is visible ---------

calls: list[str] = []
probe = Router("probe")
active = {"now": 0, "overlap": False}
guard = threading.Lock()


@probe.on(text_in("慢"))
def slow(msg, ctx):
    with guard:
        active["now"] += 1
        if active["now"] > 1:
            active["overlap"] = True
    calls.append(msg.dedupe_key)
    time.sleep(0.3)
    with guard:
        active["now"] -= 1
    return f"处理了{msg.msg_id}"


@probe.on(text_in("出错"))
def broken(msg, ctx):
    raise RuntimeError("boom")


@probe.on(text_in("长"))
def long_text(msg, ctx):
    return "\n".join(f"第{i}行：安全生产人人有责。" for i in range(400))


@probe.on(kind("event"))
def echo_event(msg, ctx):
    calls.append(msg.dedupe_key)
    loc = f"{msg.location.latitude},{msg.location.longitude},{msg.location.label}" if msg.location else ""
    return f"event={msg.event}|key={msg.event_key}|text={msg.text}|loc={loc}"


@probe.on()
def echo(msg, ctx):
    calls.append(msg.dedupe_key)
    loc = f"{msg.location.latitude},{msg.location.longitude},{msg.location.label}" if msg.location else ""
    return f"kind={msg.kind}|text={msg.text}|media={msg.media_id}|pic={msg.pic_url}|loc={loc}|url={msg.link_url}"


@pytest.fixture
def probe_app(config, clock, store):
    calls.clear()
    active.update(now=0, overlap=False)
    app = create_app(config, clock=clock, store=store, routers=[probe])
    yield app
    app.extensions["bot"].close()


@pytest.fixture
def server(probe_app, mode, clock) -> WeChatServer:
    return WeChatServer(probe_app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock)


@pytest.fixture
def user(server) -> Citizen:
    return Citizen(server, "o_probe")


def sender(openid: str) -> str:
    """The keyed stand-in for an openid in dedupe keys and log lines, under the tests' config."""
    from tests.settings import make_config

    return vault_for(make_config("sqlite://")).sender(openid)


NOW = "1622512800"  # the clock fixture's moment: a push's timestamp must be near the server's clock
_nonces = itertools.count(1)


def signed(timestamp: str = NOW, nonce: str = "", **extra: str) -> str:
    """A signed query with a fresh nonce (each (timestamp, nonce) is taken with one body only)."""
    nonce = nonce or f"n{next(_nonces)}"
    return urlencode({"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra})


def aes_signed(encrypted: str, **extra: str) -> str:
    nonce = f"n{next(_nonces)}"
    return signed(nonce=nonce, encrypt_type="aes", msg_signature=sign(TOKEN, NOW, nonce, encrypted), **extra)


# --- known answers ---------------------------------------------------------------------------

def test_official_signature_vectors() -> None:
    assert sign("AAAAA", "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"
    assert sign("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"


def test_official_aes_vector_encrypts_byte_exact() -> None:
    key = base64.b64decode("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG=")
    crypto = PrpCrypto(key)
    crypto.get_random_string = lambda: "aaaabbbbccccdddd"
    assert crypto.encrypt("我是中文abcd123", "wxb11529c136998cb6").decode() == (
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==")
    gateway = Gateway("pamtest", "wxb11529c136998cb6", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    encrypted = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    body = f"<xml><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    signature = sign("pamtest", "1409304348", "xxxxxx", encrypted)
    assert gateway.decrypt(body, signature, "1409304348", "xxxxxx") == "我是中文abcd123"


# --- URL verification ------------------------------------------------------------------------

def test_get_echoes_echostr_with_valid_signature(probe_app) -> None:
    response = probe_app.test_client().get(f"/wechat?{signed(echostr='4917562342')}")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "4917562342"


@pytest.mark.parametrize("query", ["", "signature=abc&timestamp=1&nonce=2&echostr=x", "timestamp=1&nonce=2&echostr=x"])
def test_get_without_valid_signature_is_403(probe_app, query: str) -> None:
    response = probe_app.test_client().get(f"/wechat?{query}")
    assert response.status_code == 403
    assert "x" not in response.get_data(as_text=True)


# --- modes and parsing -----------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["plain", "aes", "compatible"], indirect=False)
def test_reply_comes_back_in_the_mode_of_the_message(probe_app, clock, mode: str) -> None:
    server = WeChatServer(probe_app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock)
    reply = Citizen(server, "o_mode").text("你好")
    assert reply.status == 200
    assert "text=你好" in reply.text
    assert ("<Encrypt>" in reply.body) == (mode != "plain")


def test_every_message_kind_is_parsed(user: Citizen) -> None:
    assert "kind=text|text=ABC 1" in user.text("ＡＢＣ　１").text  # NFKC: full width becomes ASCII
    assert "kind=image|text=|media=M1|pic=http://p/1.jpg" in user.image("M1", "http://p/1.jpg").text
    assert "kind=voice|text=燃气泄漏怎么办?" in user.voice("燃气泄漏怎么办？").text
    assert "kind=video|text=|media=V1" in user.video("V1").text
    assert "kind=shortvideo|text=|media=V2" in user.video("V2", kind="shortvideo").text
    assert "loc=36.19,113.11,城关镇人民路" in user.location(36.19, 113.11, "城关镇人民路").text
    assert "kind=link|text=说明|media=|pic=|loc=|url=http://a/b" in user.link("http://a/b", "题", "说明").text


@pytest.mark.parametrize(("event", "key", "extra", "expected"), [
    ("subscribe", "qrscene_township_01", "", "event=subscribe|key=township_01"),
    ("unsubscribe", "", "", "event=unsubscribe"),
    ("SCAN", "123", "<Ticket>T</Ticket>", "event=scan|key=123"),
    ("LOCATION", None, "<Latitude>36.1</Latitude><Longitude>113.2</Longitude><Precision>50</Precision>",
     "loc=36.1,113.2,"),
    ("CLICK", "QUIZ", "", "event=click|key=QUIZ"),
    ("VIEW", "http://x/y", "", "event=view|key=http://x/y"),
    ("scancode_push", "SC", "<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>abc</ScanResult></ScanCodeInfo>",
     "event=scancode_push|key=SC|text=abc"),
    ("scancode_waitmsg", "SC", "<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>x</ScanResult></ScanCodeInfo>",
     "text=x"),
    ("pic_sysphoto", "P", "<SendPicsInfo><Count>1</Count></SendPicsInfo>", "event=pic_sysphoto|key=P"),
    ("pic_photo_or_album", "P", "", "event=pic_photo_or_album"),
    ("pic_weixin", "P", "", "event=pic_weixin"),
    ("location_select", "L", "<SendLocationInfo><Location_X>36.2</Location_X><Location_Y>113.1</Location_Y>"
                             "<Scale>15</Scale><Label>县政府</Label></SendLocationInfo>", "loc=36.2,113.1,县政府"),
    ("TEMPLATESENDJOBFINISH", None, "<MsgID>200163836</MsgID><Status>success</Status>", "event=templatesendjobfinish"),
    ("MASSSENDJOBFINISH", None, "<MsgID>1000001625</MsgID><Status>send success</Status><TotalCount>100</TotalCount>",
     "event=masssendjobfinish"),
    ("subscribe_msg_popup_event", None, "<SubscribeMsgPopupEvent><List><TemplateId>T1</TemplateId>"
     "<SubscribeStatusString>accept</SubscribeStatusString></List></SubscribeMsgPopupEvent>",
     "event=subscribe_msg_popup_event"),
    ("subscribe_msg_change_event", None, "", "event=subscribe_msg_change_event"),
    ("subscribe_msg_sent_event", None, "", "event=subscribe_msg_sent_event"),
])
def test_every_event_is_parsed(user: Citizen, event: str, key, extra: str, expected: str) -> None:
    assert expected in user.event(event, key, extra).text


def test_subscribe_message_events_keep_their_raw_fields(probe_app, clock) -> None:
    from bot.wechat.inbound import parse_inbound

    msg = parse_inbound("<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
                        "<MsgType>event</MsgType><Event>subscribe_msg_popup_event</Event><SubscribeMsgPopupEvent>"
                        "<List><TemplateId>T1</TemplateId><SubscribeStatusString>accept</SubscribeStatusString>"
                        "</List></SubscribeMsgPopupEvent></xml>")
    assert msg.raw["SubscribeMsgPopupEvent"]["List"]["TemplateId"] == "T1"


def test_unknown_msgtype_is_success(user: Citizen) -> None:
    reply = user.send(user._envelope("hologram", "<Content>x</Content>"))
    assert reply.status == 200 and reply.is_success


# --- status codes ----------------------------------------------------------------------------

def post(app, body: bytes | str, query: str | None = None):
    data = body.encode() if isinstance(body, str) else body
    return app.test_client().post(f"/wechat?{query or signed()}", data=data, content_type="text/xml")


GOOD = ("<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>")


def test_bad_or_missing_signature_is_403(probe_app) -> None:
    assert post(probe_app, GOOD, "signature=0000&timestamp=1&nonce=2").status_code == 403
    assert post(probe_app, GOOD, "timestamp=1&nonce=2").status_code == 403
    assert post(probe_app, GOOD).status_code == 200


def test_bad_msg_signature_is_403(probe_app) -> None:
    encrypted = WeChatServer(None, TOKEN, APP_ID, AES_KEY).encrypt(GOOD)
    body = f"<xml><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    assert post(probe_app, body, signed(encrypt_type="aes", msg_signature="f" * 40)).status_code == 403
    assert post(probe_app, body, aes_signed(encrypted)).status_code == 200


def test_aes_payload_for_another_app_is_400(probe_app) -> None:
    encrypted = WeChatServer(None, TOKEN, "wxsomeoneelse0001", AES_KEY).encrypt(GOOD)
    body = f"<xml><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    query = aes_signed(encrypted)
    assert post(probe_app, body, query).status_code == 400


def test_truncated_aes_payload_is_400(probe_app) -> None:
    encrypted = WeChatServer(None, TOKEN, APP_ID, AES_KEY).encrypt(GOOD)[:40]
    body = f"<xml><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    query = aes_signed(encrypted)
    assert post(probe_app, body, query).status_code == 400


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
                  + ']><xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>'
                  '<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>')
XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>gh</ToUserName>'
       '<FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content></xml>')


@pytest.mark.parametrize("body", [
    "", "   ", "not xml at all", "<xml><Content>unclosed</xml>", "<root><MsgType>text</MsgType></root>",
    "<xml>just text</xml>", BILLION_LAUGHS, XXE, "<xml><MsgType>text</MsgType><Content>&undefined;</Content></xml>",
    "<xml><MsgType>text</MsgType></xml>",  # no sender
    "\xff\xfe garbage",
])
def test_malformed_bodies_are_400_and_fast(probe_app, body: str) -> None:
    started = time.monotonic()
    response = post(probe_app, body.encode("latin-1") if "\xff" in body else body)
    assert response.status_code == 400
    assert time.monotonic() - started < 1.0
    assert calls == []


def test_oversized_body_is_413_before_parsing(probe_app) -> None:
    body = "<xml>" + "<Content>" + "a" * 70_000 + "</Content></xml>"
    assert post(probe_app, body).status_code == 413
    assert calls == []


def wsgi_post(app, body: bytes, query: str, **environ: object) -> str:
    """POST straight through the WSGI app, with the environ a server would build; the status line."""
    env = EnvironBuilder(path="/wechat", query_string=query, method="POST", data=body).get_environ()
    env.update(environ)
    statuses = []
    b"".join(app(env, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses[0]


def test_chunked_bodies_are_read_to_their_end_and_refused_past_the_limit(probe_app) -> None:
    chunked = {"CONTENT_LENGTH": "", "wsgi.input_terminated": True}
    assert wsgi_post(probe_app, GOOD.encode(), signed(), **chunked).startswith("200")
    big = ("<xml><Content>" + "a" * 70_000 + "</Content></xml>").encode()
    assert wsgi_post(probe_app, big, signed(), **chunked).startswith("413")
    assert calls == [f"msg:{sender('o1')}:1"]


def test_a_bad_content_length_is_400(probe_app) -> None:
    assert wsgi_post(probe_app, GOOD.encode(), signed(), CONTENT_LENGTH="-5").startswith("400")
    assert wsgi_post(probe_app, GOOD.encode(), signed(), CONTENT_LENGTH="12abc").startswith("400")
    assert calls == []


def test_a_repeated_query_parameter_counts_its_first_value(probe_app) -> None:
    assert post(probe_app, GOOD, signed() + "&signature=0000").status_code == 200
    assert post(probe_app, GOOD, "signature=0000&" + signed()).status_code == 403


# --- rendering -------------------------------------------------------------------------------

@pytest.mark.parametrize("hostile", ["a]]>b<c", "<![CDATA[x]]>", "控制\x01字符\x1d", "</Content></xml>", "&amp; &lt;"])
def test_hostile_text_never_breaks_the_reply(user: Citizen, hostile: str) -> None:
    reply = user.text(hostile)
    expected = hostile.replace("\x01", "").replace("\x1d", "")
    assert f"text={expected}" in reply.text


def test_long_reply_fits_wechat_limit(user: Citizen) -> None:
    reply = user.text("长")
    assert len(reply.text.encode("utf-8")) <= 2048
    assert reply.text.endswith("（内容较长，已截断）")


def test_handler_error_gets_apology_and_is_logged(user: Citizen, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    reply = user.text("出错", msg_id=777)
    assert reply.status == 200
    assert "系统刚才出了点问题" in reply.text
    assert f"citizen {sender('o_probe')}" in caplog.text and f"msg:{sender('o_probe')}:777" in caplog.text
    assert "o_probe" not in caplog.text  # openids are hashed in logs


# --- retries and concurrency -----------------------------------------------------------------

def test_retry_gets_the_first_reply_and_runs_nothing_again(user: Citizen) -> None:
    first = user.text("你好", msg_id=42)
    again = user.resend_last()
    third = user.resend_last()
    assert calls == [f"msg:{sender('o_probe')}:42"]
    assert first.text == again.text == third.text


def test_event_retries_are_deduped_on_sender_time_event_and_key(user: Citizen) -> None:
    user.event("CLICK", "A", created=1622512800)
    user.event("CLICK", "A", created=1622512800)
    user.event("CLICK", "B", created=1622512800)  # another button in the same second is another event
    assert len(calls) == 2


def test_concurrent_duplicates_run_once(probe_app, mode, clock) -> None:
    xml = Citizen(WeChatServer(None, TOKEN, APP_ID, AES_KEY, clock=clock), "o_dup")._envelope(
        "text", f"<Content>{cdata('慢')}</Content>", msg_id=9001)
    results: list = []

    def deliver() -> None:
        server = WeChatServer(probe_app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock)
        results.append(server.push(xml, openid="o_dup"))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [f"msg:{sender('o_dup')}:9001"]
    answered = [r for r in results if not r.is_success]
    assert answered and all(r.text == "处理了9001" for r in answered)
    assert all(r.status == 200 for r in results)


def test_one_user_is_never_handled_twice_at_once(probe_app, mode, clock) -> None:
    def deliver(msg_id: int) -> None:
        server = WeChatServer(probe_app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock)
        Citizen(server, "o_same").text("慢", msg_id=msg_id)

    threads = [threading.Thread(target=deliver, args=(5000 + i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 3
    assert active["overlap"] is False


# --- pushes are answered below Flask -----------------------------------------------------------

def test_a_push_needs_no_flask_request_context(probe_app, monkeypatch) -> None:
    def no_context(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a push went through Flask")

    monkeypatch.setattr(probe_app, "request_context", no_context)
    assert post(probe_app, GOOD).status_code == 200
    assert calls  # the probe handler answered it


def test_a_bug_below_flask_is_a_plain_500_without_details(probe_app, monkeypatch, caplog) -> None:
    import bot.chat.webhook

    def broken(*_args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(bot.chat.webhook, "from_fields", broken)
    with caplog.at_level(logging.ERROR):
        response = post(probe_app, GOOD)
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert "push failed" in caplog.text
    metrics = probe_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'smb_requests_total{outcome="5xx",route="/wechat"} 1.0' in metrics


# --- the XML reader: built on ElementTree's C parser, giving what xmltodict gave -------------------

@pytest.mark.parametrize("body", [
    "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Content><![CDATA[  有空格  ]]></Content><MsgId>1</MsgId></xml>",
    "<xml><Empty></Empty><Blank>   </Blank><SelfClosed/></xml>",
    "<xml><ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>abc</ScanResult></ScanCodeInfo></xml>",
    "<xml><SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>a</PicMd5Sum></item>"
    "<item><PicMd5Sum>b</PicMd5Sum></item></PicList></SendPicsInfo></xml>",
    '<xml><Content lang="zh">带属性</Content><Event a="1"/></xml>',
    "<xml><Mixed> 前 <Inner>x</Inner> 后 </Mixed></xml>",
    '<?xml version="1.0" encoding="GBK"?><xml><Content>中文 &amp; &lt;b&gt;</Content></xml>',
])
def test_xml_fields_are_what_xmltodict_gave(body: str) -> None:
    import xmltodict

    from bot.wechat.inbound import parse_xml

    assert parse_xml(body) == xmltodict.parse(body, disable_entities=True)["xml"]


@pytest.mark.parametrize("body", ["<xml>just text</xml>", "<other><a>1</a></other>", "<xml><a>1</a>",
                                  "<xml><a>&undefined;</a></xml>"])
def test_xml_without_fields_is_malformed(body: str) -> None:
    from bot.wechat.inbound import MalformedMessage, parse_xml

    with pytest.raises(MalformedMessage):
        parse_xml(body)
