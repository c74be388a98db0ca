"""Property-based fuzzing of the webhook: whatever arrives, never a 5xx (a deterministic slice;
bench/fuzz_webhook.py runs 100,000+ cases)."""

from __future__ import annotations

import base64
import hashlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.wechat.gateway import sign
from tests.fuzzing import NOW, SIGNATURES, mutated_bodies, signed_request
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import WeChatServer

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SETTINGS
@given(body=mutated_bodies(), encrypted=st.booleans(), signature=st.sampled_from(SIGNATURES))
def test_no_server_error_for_any_body(app, body: bytes, encrypted: bool, signature: str) -> None:
    query, data = signed_request(body, encrypted, signature)
    response = app.test_client().post(f"/wechat?{query}", data=data, content_type="text/xml")
    assert response.status_code in (200, 400, 403, 413)


@SETTINGS
@given(payload=st.binary(max_size=300))
def test_garbage_aes_payloads_are_rejected_cleanly(app, payload: bytes) -> None:
    encrypted = base64.b64encode(payload).decode()
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    nonce = "g" + hashlib.sha1(payload).hexdigest()[:12]  # one nonce per payload
    query = (f"signature={sign(TOKEN, NOW, nonce)}&timestamp={NOW}&nonce={nonce}&encrypt_type=aes"
             f"&msg_signature={sign(TOKEN, NOW, nonce, encrypted)}")
    response = app.test_client().post(f"/wechat?{query}", data=body.encode())
    assert response.status_code in (200, 400)


@SETTINGS
@given(text=st.text(max_size=400))
def test_any_citizen_text_gets_a_well_formed_reply(app, clock, text: str) -> None:
    from tests.wechat import Citizen

    server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="aes", clock=clock)
    reply = Citizen(server, "o_fuzz").text(text)
    assert reply.status == 200
    assert reply.is_success or reply.fields["MsgType"] in ("text", "news", "image")
