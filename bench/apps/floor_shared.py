"""Floors that also touch the shared state a message needs: the floor (Flask + wechatpy, a fixed
reply) plus the fewest round trips any bot that keeps conversations in Redis and answers in
PostgreSQL must make. They say how much of the distance between the bot and the floor is the price
of shared state on this machine rather than the bot's own work.

    gunicorn 'bench.apps.floor_shared:stateless'   # + one Redis read: is the citizen in a flow?
    gunicorn 'bench.apps.floor_shared:stateful'    # + claim and lock (one script), the answer
                                                   #   INSERTed (autocommit), save and unlock (one script)

BENCH_REDIS_URL and BENCH_DATABASE_URL (a PostgreSQL URL) say where; each thread keeps one Redis
connection and one PostgreSQL connection (autocommit), used as directly as a client allows.
"""

from __future__ import annotations

import os
import random
import threading

import psycopg
import redis
from flask import Flask, Response, abort, request
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bench.apps.floor import TOKEN, crypto

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
def _libpq(url: str) -> str:
    """psycopg's own form of a SQLAlchemy PostgreSQL URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


DATABASE_URL = _libpq(os.environ.get("BENCH_DATABASE_URL", ""))

# KEYS: dedupe, lock, conversation. ARGV: lock token. Returns the earlier reply, or the conversation.
_ENTER = """
local earlier = redis.call('get', KEYS[1])
if earlier then return {0, earlier} end
redis.call('set', KEYS[1], 'pending', 'px', 60000)
if not redis.call('set', KEYS[2], ARGV[1], 'nx', 'px', 30000) then return {1} end
return {2, redis.call('get', KEYS[3]) or ''}
"""
# KEYS: conversation, lock, dedupe. ARGV: conversation, lock token, reply.
_LEAVE = """
redis.call('set', KEYS[1], ARGV[1], 'px', 600000)
if redis.call('get', KEYS[2]) == ARGV[2] then redis.call('del', KEYS[2]) end
redis.call('set', KEYS[3], ARGV[3], 'px', 60000)
return 1
"""
_INSERT = "INSERT INTO bench_floor_answers (openid, msg_id, answer) VALUES (%s, %s, %s)"

_local = threading.local()


class _Redis:
    """One connection, commands written and read straight off it: no pool, no retry wrapper, a
    blocking socket (the bot's own per-message path is as direct, bot/infra/store.py)."""

    def __init__(self) -> None:
        client = redis.Redis.from_url(REDIS_URL)
        self.connection = redis.Connection(**client.connection_pool.connection_kwargs)
        self.enter = client.register_script(_ENTER)
        self.leave = client.register_script(_LEAVE)
        for script in (self.enter, self.leave):
            client.script_load(script.script)
        client.close()

    def call(self, *args: object) -> object:
        self.connection.send_command(*args)
        return self.connection.read_response()

    def run(self, script, keys: list[str], args: list[str]) -> object:
        return self.call("EVALSHA", script.sha, len(keys), *keys, *args)


def _redis() -> _Redis:
    if getattr(_local, "redis", None) is None:
        _local.redis = _Redis()
    return _local.redis


def _postgres() -> psycopg.Connection:
    if getattr(_local, "postgres", None) is None:
        _local.postgres = psycopg.connect(DATABASE_URL, autocommit=True, prepare_threshold=None)
    return _local.postgres


def _answer(work) -> Response:
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    body = request.get_data(as_text=True)
    aes = args.get("encrypt_type") == "aes"
    if aes:
        body = crypto.decrypt_message(body, args["msg_signature"], args["timestamp"], args["nonce"])
    msg = parse_message(body)
    xml = TextReply(content=work(msg), message=msg).render()
    if aes:
        xml = crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
    return Response(xml, mimetype="application/xml")


def _read_conversation(msg) -> str:
    _redis().call("GET", f"conv:{msg.source}")
    return "收到"


def _store_answer(msg) -> str:
    store = _redis()
    token = f"{random.getrandbits(64):016x}"
    keys = [f"dedupe:{msg.id}", f"lock:{msg.source}", f"conv:{msg.source}"]
    entered = store.run(store.enter, keys, [token])
    if entered[0] != 2:
        return "请稍候"
    _postgres().execute(_INSERT, (msg.source, msg.id, getattr(msg, "content", "")))
    store.run(store.leave, [keys[2], keys[1], keys[0]], ['{"step": 1}', token, "收到"])
    return "收到"


stateless = Flask("floor_stateless")
stateless.add_url_rule("/wechat", "wechat", lambda: _answer(_read_conversation), methods=["POST"])

stateful = Flask("floor_stateful")
stateful.add_url_rule("/wechat", "wechat", lambda: _answer(_store_answer), methods=["POST"])


def prepared(database_url: str, redis_url: str) -> dict[str, str]:
    """Create the stateful ceiling's table; the environment both ceilings are started with."""
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_floor_answers (id bigserial PRIMARY KEY, openid text NOT NULL, "
                     "msg_id bigint NOT NULL, answer text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
    return {"BENCH_REDIS_URL": redis_url, "BENCH_DATABASE_URL": database_url}
