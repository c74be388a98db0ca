"""Store round trips per message on Redis: what the pipeline costs each kind of message (issue 22 §4).

Every command the client writes to a Redis connection is counted (a pipeline or a script is one);
the bot's connections are warm first, so the connection's own greeting is not counted. Each push
also marks its signature as used (the replay guard, bot/wechat/replay.py): one round trip before
the pipeline's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.connection import AbstractConnection

from bot import create_app
from tests.settings import AES_KEY, APP_ID, TOKEN
from tests.wechat import Citizen, WeChatServer


class RoundTrips:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        send = AbstractConnection.send_packed_command

        def counted(connection: AbstractConnection, command: object, check_health: bool = True) -> None:
            self.count += 1
            send(connection, command, check_health=check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)

    def of(self, person: Citizen, text: str) -> int:
        before = self.count
        person.says(text)
        return self.count - before


@pytest.fixture
def redis_wechat(config, clock, real_redis) -> Iterator[WeChatServer]:
    app = create_app(config, clock=clock, store=real_redis)
    yield WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode="plain", clock=clock)
    app.extensions["bot"].close()


@pytest.fixture
def trips(redis_wechat: WeChatServer, monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    counter = RoundTrips(monkeypatch)
    warm = Citizen(redis_wechat, "o_warm")
    warm.says("举报")  # opens the connections the gate's scripts and the plain commands use
    warm.says("取消")
    return counter


REPLAY_GUARD = 1


def test_a_question_from_a_citizen_in_no_flow_is_one_round_trip(redis_wechat, trips) -> None:
    assert trips.of(Citizen(redis_wechat, "o_rt_question"), "燃气泄漏怎么办") == REPLAY_GUARD + 1


def test_entering_a_flow_is_two_round_trips(redis_wechat, trips) -> None:
    # One script claims, locks and loads; one saves, unlocks and keeps the reply (before issue 22: three,
    # the message first tried without a claim, then claimed and routed again).
    assert trips.of(Citizen(redis_wechat, "o_rt_report"), "举报") == REPLAY_GUARD + 2
    assert trips.of(Citizen(redis_wechat, "o_rt_quiz"), "答题") == REPLAY_GUARD + 2


def test_a_step_inside_a_flow_is_two_round_trips(redis_wechat, trips) -> None:
    person = Citizen(redis_wechat, "o_rt_step")
    person.says("举报")
    assert trips.of(person, "仓库门口堆满了纸箱，堵住了消防通道") == REPLAY_GUARD + 2
