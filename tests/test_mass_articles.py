"""Mass sends as WeChat takes them (issue 16, items 1, 2 and the preview quota): articles through
permanent material and the draft box as `mpnews`, mass text within 300 characters and without
external links, clientmsgid retries (45065 / 45066 / 45067). Each fake rule is tested raw (a request
as any client would make it), then the client and sender are tested against it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.background.jobs.pushes import queue_plan
from bot.background.sender import Sender
from bot.clock import shanghai
from bot.models import Delivery, DeliveryStatus
from bot.services.articles import article, body_html, cover_problem
from bot.services.broadcasts import BroadcastRefused, compose, preview
from bot.services.outbox import enqueue, text_payload
from bot.wechat.api import WeChatAPI, client_msg_id_for, mass_text_refusal
from tests.settings import APP_ID, APP_SECRET

ROOT = Path(__file__).resolve().parent.parent
COVER = ROOT / "content" / "covers" / "case.jpg"
PNG = ROOT / "content" / "covers" / "default.png"


@pytest.fixture
def config(api_config):
    return api_config


@pytest.fixture
def api(fake_wechat, store) -> WeChatAPI:
    return WeChatAPI(APP_ID, APP_SECRET, fake_wechat.base_url, store)


def raw(api: WeChatAPI, fake: Any, endpoint: str, body: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """One call to the fake as any HTTP client would make it (no help from our client's checks)."""
    url = f"{fake.base_url}{endpoint}"
    params = {"access_token": api.access_token(), **kwargs.pop("params", {})}
    if body is not None:
        return requests.post(url, params=params, json=body, timeout=5).json()
    return requests.post(url, params=params, timeout=5, **kwargs).json()


def upload_cover(api: WeChatAPI, fake: Any, content: bytes, name: str = "c.jpg") -> dict[str, Any]:
    return raw(api, fake, "material/add_material", params={"type": "image"}, files={"media": (name, content)})


def a_draft(api: WeChatAPI, fake: Any, **fields: Any) -> dict[str, Any]:
    thumb = upload_cover(api, fake, COVER.read_bytes())["media_id"]
    entry = {"title": "案例警示", "digest": "摘要", "content": "<p>正文</p>", "thumb_media_id": thumb} | fields
    return raw(api, fake, "draft/add", {"articles": [entry]})


def sendall(api: WeChatAPI, fake: Any, message: dict[str, Any], clientmsgid: str = "") -> dict[str, Any]:
    body = {"filter": {"is_to_all": True}, **message, "send_ignore_reprint": 0}
    if clientmsgid:
        body["clientmsgid"] = clientmsgid
    return raw(api, fake, "message/mass/sendall", body)


# --- the fake's rules, raw ---------------------------------------------------------------------

def test_mass_text_with_an_external_link_is_refused_with_40066(api, fake_wechat) -> None:
    fake_wechat.add_user("a")
    answer = sendall(api, fake_wechat, {"msgtype": "text", "text": {"content": '<a href="https://example.org/x">看</a>'}})
    assert answer["errcode"] == 40066
    published = '<a href="https://mp.weixin.qq.com/s/AbC">往期文章</a>'  # links to published articles pass
    assert sendall(api, fake_wechat, {"msgtype": "text", "text": {"content": published}})["errcode"] == 0
    assert [d.channel for d in fake_wechat.sent_to("a")] == ["mass"]


def test_mass_text_over_300_characters_is_refused(api, fake_wechat) -> None:
    answer = sendall(api, fake_wechat, {"msgtype": "text", "text": {"content": "安" * 301}})
    assert answer["errcode"] == 45002
    assert sendall(api, fake_wechat, {"msgtype": "text", "text": {"content": "安" * 300}})["errcode"] == 0


def test_a_mass_send_needs_a_known_message_type(api, fake_wechat) -> None:
    assert sendall(api, fake_wechat, {"msgtype": "news", "news": {"articles": []}})["errcode"] == 40008


def test_permanent_images_are_checked_kept_and_served(api, fake_wechat) -> None:
    assert upload_cover(api, fake_wechat, b"GIF89a not really")["errcode"] == 0  # gif is allowed
    assert upload_cover(api, fake_wechat, b"%PDF-1.4 a pdf")["errcode"] == 40005
    assert upload_cover(api, fake_wechat, b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024))["errcode"] == 40009
    answer = raw(api, fake_wechat, "material/add_material", params={"type": "news"},
                 files={"media": ("c.jpg", COVER.read_bytes())})
    assert answer["errcode"] == 40004
    answer = upload_cover(api, fake_wechat, COVER.read_bytes())
    assert answer["errcode"] == 0 and answer["url"].endswith(answer["media_id"])
    served = requests.get(answer["url"], timeout=5)
    assert served.status_code == 200 and served.content == COVER.read_bytes()
    assert served.headers["Content-Type"] == "image/jpeg"


def test_draft_add_refuses_what_the_draft_box_refuses(api, fake_wechat) -> None:
    assert a_draft(api, fake_wechat, title="安" * 33)["errcode"] == 45003
    assert a_draft(api, fake_wechat, digest="安" * 129)["errcode"] == 45004
    assert a_draft(api, fake_wechat, content="")["errcode"] == 44003
    assert a_draft(api, fake_wechat, content="安" * 20000)["errcode"] == 45002
    assert a_draft(api, fake_wechat, content_source_url="https://example.org/" + "a" * 1024)["errcode"] == 45005
    temporary = fake_wechat.add_media(COVER.read_bytes())  # a temporary media id is no cover
    assert a_draft(api, fake_wechat, thumb_media_id=temporary)["errcode"] == 40007
    assert raw(api, fake_wechat, "draft/add", {"articles": []})["errcode"] == 44003
    good = a_draft(api, fake_wechat, title="安" * 32, digest="安" * 128)
    assert good["errcode"] == 0 and good["media_id"] in fake_wechat.drafts()


def test_mpnews_takes_a_draft_which_then_leaves_the_draft_box(api, fake_wechat, clock) -> None:
    fake_wechat.add_user("a")
    assert sendall(api, fake_wechat, {"msgtype": "mpnews", "mpnews": {"media_id": "nope"}})["errcode"] == 40007
    media_id = a_draft(api, fake_wechat)["media_id"]
    assert sendall(api, fake_wechat, {"msgtype": "mpnews", "mpnews": {"media_id": media_id}})["errcode"] == 0
    assert media_id not in fake_wechat.drafts() and fake_wechat.article(media_id)[0]["title"] == "案例警示"
    assert sendall(api, fake_wechat, {"msgtype": "mpnews", "mpnews": {"media_id": media_id}})["errcode"] == 40007


def test_clientmsgid_rules(api, fake_wechat, clock) -> None:
    text = {"msgtype": "text", "text": {"content": "今晚八点 警示教育片"}}
    assert sendall(api, fake_wechat, text, "x" * 33)["errcode"] == 45067
    first = sendall(api, fake_wechat, text, "x" * 32)
    assert first["errcode"] == 0
    assert sendall(api, fake_wechat, text, "x" * 32)["errcode"] == 45066  # again within a minute
    clock.advance(seconds=61)
    again = sendall(api, fake_wechat, text, "x" * 32)
    assert (again["errcode"], again["msg_id"]) == (45065, first["msg_id"])


def test_mass_status_of_an_unknown_msg_id_is_40059(api, fake_wechat) -> None:
    assert raw(api, fake_wechat, "message/mass/get", {"msg_id": "424242"})["errcode"] == 40059


def test_previews_are_limited_to_100_a_day(api, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("tester")
    preview_body = {"touser": "tester", "msgtype": "text", "text": {"content": "预览"}}
    for _ in range(100):
        assert raw(api, fake_wechat, "message/mass/preview", preview_body)["errcode"] == 0
    assert raw(api, fake_wechat, "message/mass/preview", preview_body)["errcode"] == 45009
    clock.set(shanghai(2021, 6, 3, 0, 1))
    fake_wechat.invalidate_tokens()  # (a day later our cached token has expired: fetch a fresh one)
    api.create_tag("next-day")
    assert raw(api, fake_wechat, "message/mass/preview", preview_body)["errcode"] == 0


# --- the client -------------------------------------------------------------------------------

def test_client_msg_ids_are_short_ascii_and_salted() -> None:
    one = client_msg_id_for("plan:2021-launch|2021-06-01T19:30:00+08:00", "wxapp|secret-a")
    assert len(one) == 32 and one.isascii() and one.isalnum()
    assert one == client_msg_id_for("plan:2021-launch|2021-06-01T19:30:00+08:00", "wxapp|secret-a")
    # Another deployment (other secret), or the same key in a new row after a reset: another id.
    assert one != client_msg_id_for("plan:2021-launch|2021-06-01T19:30:00+08:00", "wxapp|secret-b")
    assert one != client_msg_id_for("plan:2021-launch|2021-06-01T19:31:07+08:00", "wxapp|secret-a")


def test_mass_text_is_refused_before_it_is_sent() -> None:
    assert "300" in mass_text_refusal("安" * 301)
    assert "外部链接" in mass_text_refusal('详情<a href="https://example.org">点这里</a>')
    assert mass_text_refusal('<a href="https://mp.weixin.qq.com/s/x">往期</a>') is None
    assert mass_text_refusal("今晚有暴雨，请远离河道。") is None


def test_article_limits_and_covers(tmp_path: Path) -> None:
    assert cover_problem(COVER) is None and cover_problem(PNG) is None
    fake_jpeg = tmp_path / "fake.jpg"
    fake_jpeg.write_bytes(b"GIF89a renamed")
    assert "不是 JPEG 或 PNG" in cover_problem(fake_jpeg)
    assert "不存在" in cover_problem(tmp_path / "missing.jpg")
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024))
    assert "MB" in cover_problem(big)
    assert body_html("第一段\n\n<b>第二段</b>\n第二行") == "<p>第一段</p><p>&lt;b&gt;第二段&lt;/b&gt;<br/>第二行</p>"


# --- the sender and the push plan ---------------------------------------------------------------

def run_plan(bot, clock, moment: dt.datetime) -> Delivery:
    clock.set(moment)
    queue_plan(bot)
    Sender.from_bot(bot).drain()
    with bot.db.session() as s:
        return s.query(Delivery).filter(Delivery.purpose == "push_plan").one()


def test_a_plan_item_goes_out_as_an_article_not_as_text_with_a_link(bot, fake_wechat, clock) -> None:
    """The old path sent news without a media_id as mass text holding <a href>: 40066 in production."""
    for openid in ("a", "b"):
        fake_wechat.add_user(openid)
    done = run_plan(bot, clock, shanghai(2021, 6, 1, 19, 31))
    assert (done.key, done.status, done.channel) == ("plan:2021-launch", DeliveryStatus.SENT, "mass")
    job = fake_wechat.mass_jobs()[done.wechat_msg_id]
    assert job["message"]["msgtype"] == "mpnews" and job["sent"] == 2
    [sent] = fake_wechat.article(job["message"]["mpnews"]["media_id"])
    item = bot.content.pushes.items[0]
    assert sent["title"] == "【活动通知】第20个安全生产月今天启动" and sent["digest"] == item.digest
    assert sent["content_source_url"] == item.source and sent["content"].startswith("<p>第20个")
    assert fake_wechat.material(sent["thumb_media_id"])[0] == (ROOT / "content" / item.cover).read_bytes()


def test_a_cover_is_uploaded_once(bot, fake_wechat, clock) -> None:
    fake_wechat.add_user("a")
    run_plan(bot, clock, shanghai(2021, 6, 1, 19, 31))
    clock.set(shanghai(2021, 6, 8, 19, 1))  # lecture-chengguan: another notice, the same cover
    queue_plan(bot)
    Sender.from_bot(bot).drain()
    assert fake_wechat.calls["material/add_material"] == 1 and fake_wechat.calls["draft/add"] == 2


def test_a_cover_deleted_in_the_wechat_admin_is_uploaded_again(bot, fake_wechat, clock) -> None:
    fake_wechat.add_user("a")
    first = run_plan(bot, clock, shanghai(2021, 6, 1, 19, 31))
    thumb = fake_wechat.article(fake_wechat.mass_jobs()[first.wechat_msg_id]["message"]["mpnews"]["media_id"])[0]
    fake_wechat.delete_material(thumb["thumb_media_id"])
    clock.set(shanghai(2021, 6, 8, 19, 1))  # the same cover again
    queue_plan(bot)
    Sender.from_bot(bot).drain()
    with bot.db.session() as s:
        again = s.query(Delivery).filter(Delivery.key == "plan:lecture-chengguan").one()
    assert again.status == DeliveryStatus.SENT and fake_wechat.calls["material/add_material"] == 2


def mass_row(bot, clock, key: str = "broadcast:9") -> int:
    with bot.db.session() as s:
        row = enqueue(s, key=key, purpose="broadcast", audience={"all": True}, payload=text_payload("今晚有暴雨"),
                      now=clock.now())
        s.commit()
        return row.id


def get_row(bot, row_id: int) -> Delivery:
    with bot.db.session() as s:
        return s.get(Delivery, row_id)


def claimed_key(bot, row_id: int) -> str:
    row = get_row(bot, row_id)
    return f"{row.key}|{row.created_at.isoformat()}"


def test_a_lost_sendall_answer_is_retried_after_a_minute_and_confirmed(bot, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("a")
    row_id = mass_row(bot, clock)
    fake_wechat.lose_next_answer("message/mass/sendall")
    Sender.from_bot(bot).drain()
    waiting = get_row(bot, row_id)
    assert waiting.status == DeliveryStatus.PENDING
    assert waiting.not_before - clock.now() >= dt.timedelta(seconds=60)  # sooner would only earn 45066
    [msg_id] = fake_wechat.mass_jobs()
    clock.advance(seconds=61)
    Sender.from_bot(bot).drain()
    done = get_row(bot, row_id)
    assert (done.status, done.wechat_msg_id) == (DeliveryStatus.SENT, msg_id)
    assert fake_wechat.calls["message/mass/get"] == 1  # 45065 was believed only once mass/get confirmed it
    assert len(fake_wechat.sent_to("a")) == 1


def test_45065_for_a_send_that_failed_is_not_success(bot, fake_wechat, clock, api) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("a")
    row_id = mass_row(bot, clock)
    fake_wechat.fail_next_mass("err(10001)")
    api.mass_send({"all": True}, text_payload("今晚有暴雨"), claimed_key(bot, row_id))  # the earlier try
    clock.advance(seconds=61)
    Sender.from_bot(bot).drain()
    done = get_row(bot, row_id)
    assert done.status == DeliveryStatus.FAILED and "SEND_FAIL" in done.last_error


def test_45065_is_not_success_while_mass_get_cannot_confirm(bot, fake_wechat, clock, api) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("a")
    row_id = mass_row(bot, clock)
    api.mass_send({"all": True}, text_payload("今晚有暴雨"), claimed_key(bot, row_id))
    clock.advance(seconds=61)
    fake_wechat.fail_next("message/mass/get", 40059, times=1)
    Sender.from_bot(bot).drain()
    assert get_row(bot, row_id).status == DeliveryStatus.PENDING
    clock.advance(minutes=2)
    Sender.from_bot(bot).drain()
    assert get_row(bot, row_id).status == DeliveryStatus.SENT


def test_45066_waits_a_minute_without_counting_an_attempt(bot, fake_wechat, clock, api) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("a")
    row_id = mass_row(bot, clock)
    api.mass_send({"all": True}, text_payload("今晚有暴雨"), claimed_key(bot, row_id))  # seconds ago
    Sender.from_bot(bot).drain()
    waiting = get_row(bot, row_id)
    assert (waiting.status, waiting.attempts, waiting.last_errcode) == (DeliveryStatus.PENDING, 0, 45066)
    assert waiting.not_before - clock.now() >= dt.timedelta(seconds=60)


def test_a_mass_text_wechat_would_refuse_fails_with_the_reason(bot, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    with bot.db.session() as s:
        row = enqueue(s, key="old:1", purpose="broadcast", audience={"all": True}, now=clock.now(),
                      payload=text_payload('<a href="https://example.org">详情</a>'))
        s.commit()
    Sender.from_bot(bot).drain()
    done = get_row(bot, row.id)
    assert done.status == DeliveryStatus.FAILED and "外部链接" in done.last_error
    assert fake_wechat.calls["message/mass/sendall"] == 0


# --- staff: compose and preview -------------------------------------------------------------

def test_compose_refuses_mass_text_wechat_would_refuse(bot, clock) -> None:
    with bot.db.session() as s:
        with pytest.raises(BroadcastRefused) as refused:
            compose(s, title="t", payload=text_payload("安" * 301), audience={"all": True}, created_by="x",
                    now=clock.now())
        assert "最多 300 字" in str(refused.value)
        with pytest.raises(BroadcastRefused) as refused:
            compose(s, title="t", payload=text_payload('<a href="http://x.cn">x</a>'), audience={"tag_id": 1},
                    created_by="x", now=clock.now())
        assert "外部链接" in str(refused.value) and "阅读原文" in str(refused.value)
        # To the recently active it is customer-service text: not a mass send.
        compose(s, title="t", payload=text_payload("安" * 301), audience={"active": True}, created_by="x",
                now=clock.now())


def test_compose_checks_an_article(bot, clock) -> None:
    content = ROOT / "content"
    good = article(title="防汛提醒", digest="今晚有暴雨", body="远离河道。", cover="covers/lesson.jpg")
    with bot.db.session() as s:
        compose(s, title="防汛提醒", payload={"type": "news", "articles": [good]}, audience={"all": True},
                created_by="x", now=clock.now(), content_dir=content)
        for bad, words in ((good | {"title": "安" * 33}, "标题最多 32 字"), (good | {"content": ""}, "正文不能为空"),
                           (good | {"cover": "covers/none.jpg"}, "不存在")):
            with pytest.raises(BroadcastRefused) as refused:
                compose(s, title="x", payload={"type": "news", "articles": [bad]}, audience={"all": True},
                        created_by="x", now=clock.now(), content_dir=content)
            assert words in str(refused.value)


def test_previews_beyond_100_a_day_are_refused_and_a_45009_is_told_in_chinese(bot, fake_wechat, clock) -> None:
    clock.set(shanghai(2021, 6, 2, 9, 0))
    fake_wechat.add_user("tester")
    with bot.db.session() as s:
        item = compose(s, title="t", payload=text_payload("预览"), audience={"all": True}, created_by="x",
                       now=clock.now())
        preview(s, item.id, ["tester"] * 99, clock.now())
        with pytest.raises(BroadcastRefused) as refused:
            preview(s, item.id, ["tester", "tester"], clock.now())
        assert "每天最多预览 100 次" in str(refused.value)
        [row] = preview(s, item.id, ["tester"], clock.now())
        s.commit()
    for _ in range(100):  # someone else (the admin site, another tool) used up today's previews
        fake_wechat.mass_preview({"touser": "tester", "msgtype": "text", "text": {"content": "x"}})
    Sender.from_bot(bot).drain()
    done = get_row(bot, row.id)
    assert done.status == DeliveryStatus.FAILED and "预览次数已用完" in done.last_error
    assert not bot.extensions["api"].cooling_down()  # customer-service messages go on
