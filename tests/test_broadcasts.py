"""Staff broadcasts: compose, preview, quota refusals, send now or later, progress and WeChat's counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.background.sender import Sender
from bot.clock import shanghai
from bot.models import Citizen
from bot.services import broadcasts
from bot.services.broadcasts import BroadcastRefused
from bot.services.outbox import news_payload, text_payload
from bot.services.pushplan import enqueue_due

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(api_config):
    return api_config


def draft(bot, clock, audience: str = "all", payload=None) -> int:
    with bot.db.session() as s:
        item = broadcasts.compose(s, title="防汛提醒", payload=payload or text_payload("明天有暴雨，请远离河道。"),
                                  audience=broadcasts.parse_audience(audience, bot.content), created_by="staff",
                                  now=clock.now())
        s.commit()
        return item.id


def send(bot, clock, broadcast_id: int, at=None):
    with bot.db.session() as s:
        item = broadcasts.send(s, bot.content, bot.config, broadcast_id, clock.now(), at)
        s.commit()
        return item


def progress(bot, broadcast_id: int) -> broadcasts.Progress:
    with bot.db.session() as s:
        return broadcasts.progress(s, broadcast_id)


def test_preview_then_send_to_everyone(bot, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))  # June 1 belongs to the plan's launch push
    for openid in ("tester", "a", "b"):
        fake_wechat.add_user(openid)
    broadcast_id = draft(bot, clock)
    with bot.db.session() as s:
        broadcasts.preview(s, broadcast_id, ["tester"], clock.now())
        s.commit()
    Sender.from_bot(bot).drain()
    assert [d.channel for d in fake_wechat.sent_to("tester")] == ["preview"]
    assert progress(bot, broadcast_id).total == 0  # a preview is not the broadcast

    item = send(bot, clock, broadcast_id)
    assert item.status == "queued"
    assert progress(bot, broadcast_id).pending == 1
    Sender.from_bot(bot).drain()
    p = progress(bot, broadcast_id)
    assert (p.total, p.sent, p.failed, p.pending) == (1, 1, 0, 0)
    assert {d.openid for d in fake_wechat.delivered() if d.channel == "mass"} == {"tester", "a", "b"}


def test_wechat_job_counts_arrive_through_the_webhook(bot, fake_wechat, clock, wechat) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    for openid in ("a", "b"):
        fake_wechat.add_user(openid)
    broadcast_id = draft(bot, clock)
    send(bot, clock, broadcast_id)
    Sender.from_bot(bot).drain()
    [msg_id] = list(fake_wechat.mass_jobs())
    reply = wechat.push(fake_wechat.mass_finish_xml(msg_id))
    assert reply.is_success
    wechat.push(fake_wechat.mass_finish_xml(msg_id))  # WeChat's retry changes nothing
    [report] = progress(bot, broadcast_id).wechat
    assert report == {"event": "masssendjobfinish", "status": "send success", "total": 2, "filter": 2,
                      "sent": 2, "error": 0}


def test_a_subscription_account_gets_one_mass_send_a_day(bot, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))  # no plan item on June 2
    first = draft(bot, clock)
    send(bot, clock, first)
    second = draft(bot, clock)
    with pytest.raises(BroadcastRefused) as refused:
        send(bot, clock, second)
    assert "每天只能群发 1 次" in str(refused.value) and "群发 1“防汛提醒”" in str(refused.value)
    # Tomorrow is free, so it can be scheduled for then.
    item = send(bot, clock, second, at=shanghai(2021, 6, 4, 20, 0))
    assert item.status == "scheduled"
    Sender.from_bot(bot).drain()
    assert progress(bot, second).pending == 1  # not due yet
    clock.set(shanghai(2021, 6, 4, 20, 0))
    Sender.from_bot(bot).drain()
    assert progress(bot, second).sent == 1


def test_the_push_plan_takes_the_day_quota_before_it_is_queued(bot, clock) -> None:
    clock.set(shanghai(2021, 6, 3, 9, 0))  # the plan sends case-confined-space at 20:00
    with pytest.raises(BroadcastRefused) as refused:
        send(bot, clock, draft(bot, clock))
    assert "推送计划“案例警示：有限空间作业中毒窒息”" in str(refused.value) and "plan:" not in str(refused.value)
    clock.set(shanghai(2021, 6, 3, 20, 1))
    with bot.db.session() as s:
        enqueue_due(s, bot.content.pushes, clock.now())
        s.commit()
    with pytest.raises(BroadcastRefused):
        send(bot, clock, draft(bot, clock))


EMPTY_PLAN = "# An empty push plan, for tests that count staff broadcasts alone.\n"


def test_a_service_account_gets_four_a_month(database_url, fake_wechat, clock, store, tmp_path) -> None:
    import shutil

    from bot import create_app
    from tests.settings import make_config

    # The shipped content with an empty push plan, so that only staff broadcasts count.
    content = shutil.copytree(ROOT / "content", tmp_path / "content")
    (content / "pushes.toml").write_text(EMPTY_PLAN, encoding="utf-8")
    cfg = make_config(database_url, wechat={"api_base_url": fake_wechat.base_url, "account_type": "service"},
                      content={"dir": str(content)})
    app = create_app(cfg, clock=clock, store=store)
    bot = app.extensions["bot"]
    try:
        for day in range(4):
            send(bot, clock, draft(bot, clock), at=shanghai(2021, 6, 10 + day, 20, 0))
        with pytest.raises(BroadcastRefused) as refused:
            send(bot, clock, draft(bot, clock), at=shanghai(2021, 6, 20, 20, 0))
        assert "每月最多收到 4 次群发" in str(refused.value)
        send(bot, clock, draft(bot, clock), at=shanghai(2021, 7, 1, 20, 0))
    finally:
        bot.close()


def test_active_audience_gets_customer_service_messages(bot, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 3, 9, 0))  # the plan's mass send for today does not matter here
    with bot.db.session() as s:
        s.add(Citizen(openid="recent", first_seen_at=clock.now(), last_interaction_at=clock.now()))
        s.add(Citizen(openid="old", first_seen_at=clock.now(), last_interaction_at=shanghai(2021, 5, 30)))
        s.commit()
    fake_wechat.record_interaction("recent")
    broadcast_id = draft(bot, clock, "active", news_payload("演练通知", "今晚防汛演练", "https://example.org/d"))
    item = send(bot, clock, broadcast_id)
    assert item.recipients == 1
    Sender.from_bot(bot).drain()
    [sent] = fake_wechat.sent_to("recent")
    assert sent.channel == "custom" and sent.message["news"]["articles"][0]["title"] == "演练通知"
    assert fake_wechat.sent_to("old") == []
    with pytest.raises(BroadcastRefused):
        send(bot, clock, draft(bot, clock, "active"), at=shanghai(2021, 6, 4, 9, 0))


def test_township_audience_and_cancel(bot, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    broadcast_id = draft(bot, clock, "township:北坡镇")
    with bot.db.session() as s:
        assert broadcasts.get(s, broadcast_id).audience == {"township": "beipo"}
    send(bot, clock, broadcast_id, at=shanghai(2021, 6, 2, 20, 0))
    with bot.db.session() as s:
        assert broadcasts.cancel(s, broadcast_id, clock.now()) == 1
        s.commit()
    clock.set(shanghai(2021, 6, 2, 21, 0))
    Sender.from_bot(bot).drain()
    assert fake_wechat.mass_jobs() == {}
    assert progress(bot, broadcast_id).other == {"cancelled": 1}


def test_bad_input_is_refused_clearly(bot, clock) -> None:
    with pytest.raises(BroadcastRefused, match="没有这个乡镇"):
        broadcasts.parse_audience("township:atlantis", bot.content)
    with pytest.raises(BroadcastRefused, match="发送对象无效"):
        broadcasts.parse_audience("everyone", bot.content)
    with bot.db.session() as s, pytest.raises(BroadcastRefused, match="不能为空"):
        broadcasts.compose(s, title="t", payload=text_payload(" "), audience={"all": True}, created_by="x",
                           now=clock.now())
    broadcast_id = draft(bot, clock)
    send(bot, clock, broadcast_id, at=shanghai(2021, 6, 2, 20, 0))
    with pytest.raises(BroadcastRefused, match="不能再次发送"):
        send(bot, clock, broadcast_id)


def test_cli_compose_send_status(config, tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
[server]
today = "2021-06-02"
[wechat]
app_id = "wxcli"
token = "t"
api_base_url = "http://127.0.0.1:9/cgi-bin/"
[database]
url = "{config.database.url}"
""", encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg), "broadcast", *args],
                              capture_output=True, text=True, cwd=ROOT)

    out = run("compose", "--title", "防汛", "--text", "今晚有暴雨", "--audience", "township:城关镇")
    assert out.returncode == 0, out.stderr
    assert "城关镇的关注者" in out.stdout
    assert run("send", "1").returncode == 0
    again = run("compose", "--title", "第二条", "--text", "x")
    assert again.returncode == 0
    refused = run("send", "2")
    assert refused.returncode == 1 and "每天只能群发 1 次" in refused.stderr
    status = run("status", "1")
    assert "pending 1" in status.stdout
    assert "防汛" in run("list").stdout
