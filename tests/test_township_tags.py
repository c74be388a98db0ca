"""设置乡镇 through the webhook, and the WeChat tags the sender keeps in line with it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.background.sender import Sender
from bot.models import Citizen, Delivery, WeChatTag


@pytest.fixture
def config(api_config):
    return api_config


def township_of(bot, openid: str) -> str | None:
    with bot.db.session() as s:
        return s.scalar(select(Citizen.township).where(Citizen.openid == openid))


def tag_rows(bot) -> list[Delivery]:
    with bot.db.session() as s:
        return list(s.scalars(select(Delivery).where(Delivery.purpose == "township_tag")))


def test_choose_by_number_and_get_tagged(citizen, bot, fake_wechat) -> None:
    fake_wechat.add_user(citizen.openid)
    citizen.dialog([
        ("设置乡镇", ["1. 城关镇", "2. 北坡镇", "序号或名称"]),
        ("九九", ["没有找到“九九”", "序号"]),
        ("99", "没有找到"),
        ("2", "已将您的乡镇设为：北坡镇"),
    ])
    assert township_of(bot, citizen.openid) == "beipo"
    assert fake_wechat.tags() == {}  # nothing inside the webhook's 5 seconds
    Sender.from_bot(bot).drain()
    [(tag_id, name)] = fake_wechat.tags().items()
    assert name == "北坡镇" and fake_wechat.tagged(tag_id) == {citizen.openid}
    with bot.db.session() as s:
        assert s.scalar(select(WeChatTag.tag_id).where(WeChatTag.township == "beipo")) == tag_id


def test_named_in_one_message_then_changed(citizen, bot, fake_wechat) -> None:
    fake_wechat.add_user(citizen.openid)
    assert "城关镇" in citizen.says("设置乡镇 城关")
    Sender.from_bot(bot).drain()
    assert "已经是：城关镇" in citizen.says("设置乡镇 城关镇")
    assert "南河镇" in citizen.says("修改乡镇 南河镇")
    Sender.from_bot(bot).drain()
    tags = {name: tag_id for tag_id, name in fake_wechat.tags().items()}
    assert fake_wechat.tagged(tags["城关镇"]) == set()
    assert fake_wechat.tagged(tags["南河镇"]) == {citizen.openid}


def test_two_quick_changes_end_with_the_last(citizen, bot, fake_wechat) -> None:
    fake_wechat.add_user(citizen.openid)
    citizen.says("设置乡镇 城关镇")
    Sender.from_bot(bot).drain()
    citizen.says("设置乡镇 北坡镇")
    citizen.says("设置乡镇 南河镇")
    Sender.from_bot(bot).drain()  # both changes in one batch, in any order
    tags = {name: tag_id for tag_id, name in fake_wechat.tags().items()}
    assert {n for n, t in tags.items() if citizen.openid in fake_wechat.tagged(t)} == {"南河镇"}


def test_unknown_name_asks_again_and_cancel_changes_nothing(citizen, bot) -> None:
    citizen.dialog([
        ("设置乡镇 火星镇", ["没有找到“火星镇”", "1. 城关镇"]),
        ("取消", "已取消"),
    ])
    assert township_of(bot, citizen.openid) is None
    assert tag_rows(bot) == []


def test_a_retried_message_queues_one_tag_change(citizen, bot) -> None:
    first = citizen.says("设置乡镇 城关镇")
    assert citizen.resend_last().text == first
    assert len(tag_rows(bot)) == 1


def test_help_lists_it(citizen) -> None:
    assert "设置乡镇" in citizen.says("帮助")
