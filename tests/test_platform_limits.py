"""Smaller platform limits (issue 16 item 9): passive news replies, long customer-service text, menu/create.

Sources: passive news — [C] mirrors of 被动回复用户消息 (1 article after a user message, up to 8 after events,
since 2018-10-12); customer-service text — [C] JeffreySu/WeiXinMPSDK#2875, dodgepudding/wechat-php-sdk#363
(2048 bytes, longer is cut); menu — [D] 创建自定义菜单 createCustomMenu and 全局返回码.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.background.sender import Sender
from bot.cli import main
from bot.cli import pushes as pushes_cli
from bot.models import Citizen, Delivery, DeliveryStatus
from bot.services.outbox import enqueue, requeue, text_payload
from bot.wechat.api import WeChatAPI, WeChatAPIError
from bot.wechat.inbound import from_fields
from bot.wechat.replies import Article, News, render, split_text
from tests.settings import APP_ID, APP_SECRET
from tests.test_menu import SMALL_MENU, content_dir, write_config
from tests.test_wechat_token import _Unclosed

MARKER = re.compile(r"（\d+/\d+）$")


@pytest.fixture
def config(api_config):
    return api_config


# --- passive news replies ----------------------------------------------------------------------------

def inbound(kind: str) -> object:
    fields = {"ToUserName": "gh_test", "FromUserName": "o1", "CreateTime": "1622505600", "MsgType": kind}
    fields |= {"Content": "活动", "MsgId": "1"} if kind == "text" else {"Event": "CLICK", "EventKey": "EVENTS"}
    return from_fields(fields)


def test_a_news_reply_to_a_user_message_carries_one_article() -> None:
    news = News(tuple(Article(title=f"第{n}条") for n in range(1, 11)))
    after_message = render(news, inbound("text"))
    assert "<ArticleCount>1</ArticleCount>" in after_message and after_message.count("<item>") == 1
    after_event = render(news, inbound("event"))
    assert "<ArticleCount>8</ArticleCount>" in after_event and after_event.count("<item>") == 8


# --- long customer-service text ----------------------------------------------------------------------

LONG = "".join(f"第{n}段：有限空间作业必须先通风、再检测、后作业，严禁盲目施救。\n" for n in range(1, 80))  # 4 parts


def whole(parts: list[str]) -> str:
    return "\n".join(MARKER.sub("", p) for p in parts)


def test_split_text_keeps_every_character_in_order() -> None:
    parts = split_text(LONG)
    assert len(parts) > 1 and all(len(p.encode("utf-8")) <= 2048 for p in parts)
    assert whole(parts) == LONG.rstrip("\n")
    assert [MARKER.search(p).group(0) for p in parts] == [f"（{n}/{len(parts)}）" for n in range(1, len(parts) + 1)]
    assert split_text("短消息") == ["短消息"]


def test_the_fake_cuts_customer_service_text_past_2048_bytes(fake_wechat, store) -> None:
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)
    fake_wechat.record_interaction("o1")
    api.send_custom("o1", {"type": "text", "content": LONG})
    [got] = fake_wechat.sent_to("o1")
    assert len(got.message["text"]["content"].encode("utf-8")) <= 2048 < len(LONG.encode("utf-8"))


def active(bot, fake, clock, openid: str = "o1") -> None:
    with bot.db.session() as s:
        s.add(Citizen(openid=openid, first_seen_at=clock.now(), last_interaction_at=clock.now()))
        s.commit()
    fake.record_interaction(openid)


def queue(bot, clock, content: str, openid: str = "o1") -> int:
    with bot.db.session() as s:
        row = enqueue(s, key="long-1", purpose="report_reply", payload=text_payload(content), now=clock.now(),
                      openid=openid)
        s.commit()
        return row.id


def delivery(bot, delivery_id: int) -> Delivery:
    with bot.db.session() as s:
        return s.get(Delivery, delivery_id)


def received(fake, openid: str = "o1") -> list[str]:
    return [d.message["text"]["content"] for d in fake.sent_to(openid)]


def test_a_long_customer_service_text_arrives_whole_in_order(bot, fake_wechat, clock) -> None:
    active(bot, fake_wechat, clock)
    delivery_id = queue(bot, clock, LONG)
    Sender.from_bot(bot).drain()
    parts = received(fake_wechat)
    assert len(parts) == len(split_text(LONG)) > 1 and whole(parts) == LONG.rstrip("\n")
    done = delivery(bot, delivery_id)
    assert done.status == DeliveryStatus.SENT and done.payload["parts_sent"] == len(parts)


def test_a_crash_mid_way_resends_no_part_and_loses_none(bot, fake_wechat, clock, monkeypatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    active(bot, fake_wechat, clock)
    delivery_id = queue(bot, clock, LONG)
    api = bot.extensions["api"]
    real_send, sent = api.send_custom, []

    def dies_after_two(openid: str, payload: dict) -> dict:
        if len(sent) == 2:
            raise SystemExit("the sender process dies")  # not an Exception: nothing is recorded
        sent.append(payload)
        return real_send(openid, payload)

    monkeypatch.setattr(api, "send_custom", dies_after_two)
    sender = Sender.from_bot(bot)
    [row] = sender.claim(1)
    with pytest.raises(SystemExit):
        sender.deliver(row)
    monkeypatch.setattr(api, "send_custom", real_send)
    clock.advance(seconds=bot.config.push.lease_seconds + 1)
    Sender.from_bot(bot).recover_expired()
    doubtful = delivery(bot, delivery_id)
    assert doubtful.status == DeliveryStatus.UNCERTAIN and doubtful.payload["parts_sent"] == 2
    monkeypatch.setattr(pushes_cli, "_bot", lambda config: _Unclosed(bot))
    assert main(["outbox", "uncertain"]) == 0
    assert "长消息已确认发出前 2 段，重发从第 3 段起" in capsys.readouterr().out
    with bot.db.session() as s:  # staff requeue it (python -m bot outbox requeue)
        requeue(s, [delivery_id], clock.now())
        s.commit()
    Sender.from_bot(bot).drain()
    parts = received(fake_wechat)
    assert whole(parts) == LONG.rstrip("\n") and len(parts) == len(set(parts))  # each part once, in order
    assert delivery(bot, delivery_id).status == DeliveryStatus.SENT


def test_parts_past_the_window_allowance_are_reported(bot, fake_wechat, clock) -> None:
    active(bot, fake_wechat, clock)
    longer = LONG * 3  # more parts than the 5 customer-service messages a user message allows
    delivery_id = queue(bot, clock, longer)
    Sender.from_bot(bot).drain()
    done = delivery(bot, delivery_id)
    assert len(received(fake_wechat)) == 5
    assert done.status == DeliveryStatus.UNDELIVERABLE and done.last_errcode == 45047
    assert done.last_error.startswith(f"已发出 {len(split_text(longer))} 段中的前 5 段")


# --- menu/create ---------------------------------------------------------------------------------------

def item(**fields: str) -> dict:
    return {"name": "举报", "type": "click", "key": "REPORT"} | fields


@pytest.mark.parametrize(("menu", "code"), [
    ({"button": [item(type="shake")]}, 40017),
    ({"button": [item(name="安全生产月活动专区")]}, 40018),  # 27 bytes > 16
    ({"button": [item(key="")]}, 40019),
    ({"button": [item(key="K" * 129)]}, 40019),
    ({"button": [{"name": "网站", "type": "view", "url": "https://x.cn/" + "a" * 1020}]}, 40020),
    ({"button": [{"name": "安全月", "sub_button": [item(type="shake")]}]}, 40024),
    ({"button": [{"name": "安全月", "sub_button": [item(name="")]}]}, 40025),
    ({"button": [{"name": "安全月", "sub_button": [item(key="K" * 129)]}]}, 40026),
    ({"button": [{"name": "安全月", "sub_button": [{"name": "下载", "type": "view", "key": "https://x.cn"}]}]}, 40027),
    ({"button": [{"name": "安全月", "sub_button": [item()] * 6}]}, 40023),
    ({"button": [item()] * 4}, 40016),
])
def test_menu_create_answers_the_platform_codes(fake_wechat, store, menu: dict, code: int) -> None:
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)
    with pytest.raises(WeChatAPIError) as err:
        api.create_menu(menu)
    assert err.value.errcode == code and fake_wechat.menu is None


def test_a_good_menu_passes(fake_wechat, store) -> None:
    api = WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)
    menu = {"button": [item(), {"name": "安全月", "sub_button": [
        item(name="扫码", type="scancode_push"), {"name": "网站", "type": "view", "url": "https://x.cn/"}]}]}
    api.create_menu(menu)
    assert fake_wechat.menu == menu


def test_menu_sync_explains_a_refusal_in_chinese(tmp_path: Path, fake_wechat, monkeypatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    broken = {"button": [{"name": "安全月", "sub_button": [{"name": "下载", "type": "view", "key": "https://x.cn"}]}]}
    monkeypatch.setattr("bot.services.menu.build_menu_payload", lambda menu: broken)  # a payload bug
    directory = content_dir(tmp_path, SMALL_MENU)
    assert main(["--config", str(write_config(tmp_path, directory, fake_wechat.base_url)), "menu", "sync"]) == 2
    err = capsys.readouterr().err
    assert "微信拒绝了菜单：子菜单的网址为空或太长" in err and "40027" in err and "content/menu.toml" in err


def test_the_shipped_menu_is_accepted(tmp_path: Path, fake_wechat) -> None:
    directory = content_dir(tmp_path, (Path(__file__).resolve().parent.parent / "content" / "menu.toml")
                            .read_text(encoding="utf-8"))
    assert main(["--config", str(write_config(tmp_path, directory, fake_wechat.base_url)), "menu", "sync"]) == 0
    assert fake_wechat.menu is not None  # the shipped menu passes every rule


def test_each_part_counts_against_the_allowance(bot, fake_wechat, clock) -> None:
    """4 parts + 1 short message fill the 5 a user message allows; the next row is not even tried."""
    active(bot, fake_wechat, clock)
    queue(bot, clock, LONG)
    Sender.from_bot(bot).drain()
    with bot.db.session() as s:
        for n in (1, 2):
            enqueue(s, key=f"short-{n}", purpose="report_reply", payload=text_payload(f"第{n}条"), now=clock.now(),
                    openid="o1")
        s.commit()
    calls = fake_wechat.calls["message/custom/send"]
    Sender.from_bot(bot).drain()
    assert fake_wechat.calls["message/custom/send"] == calls + 1 and len(received(fake_wechat)) == 5
    with bot.db.session() as s:
        last = s.scalar(select(Delivery).where(Delivery.key == "short-2"))
    assert last.status == DeliveryStatus.UNDELIVERABLE and "条数已用完" in last.last_error
