"""The floor: a bare Flask + wechatpy app that checks the signature, decrypts, parses and returns a
fixed reply. Nothing can answer a WeChat push with less work; the bot is measured against it.

    gunicorn 'bench.apps.floor:app'
"""

from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

TOKEN = os.environ.get("BENCH_TOKEN", "bench-token")
APP_ID = os.environ.get("BENCH_APP_ID", "wxbench000000001")
AES_KEY = os.environ.get("BENCH_AES_KEY", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR")

app = Flask(__name__)
crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)


@app.route("/wechat", methods=["GET", "POST"])
def wechat() -> Response:
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    if request.method == "GET":
        return Response(args.get("echostr", ""))
    body = request.get_data(as_text=True)
    aes = args.get("encrypt_type") == "aes"
    if aes:
        body = crypto.decrypt_message(body, args["msg_signature"], args["timestamp"], args["nonce"])
    msg = parse_message(body)
    xml = TextReply(content="收到", message=msg).render()
    if aes:
        xml = crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
    return Response(xml, mimetype="application/xml")
