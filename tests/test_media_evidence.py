"""Video and voice evidence as WeChat serves it.

[D] 获取临时素材 getMedia (doc/service/api/material/temporary/api_getmedia): a video's media/get answers
JSON {"video_url": ...} (a second request downloads it); 40007 invalid media_id. [D] 新增临时素材
uploadTempMedia (doc/service/api/material/temporary/api_uploadtempmedia): media live 3 days; voice is AMR/MP3.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from bot.models.reports import PhotoStatus, Report, ReportPhoto
from bot.services.reports import evidence
from tests.console import ConsoleClient, add_staff
from tests.reports_helpers import DESCRIPTION
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isomfake-video-bytes"
AMR = b"#!AMR\n\x3c\x48\xf5\x1f\x96\x66\x79\xe1fake-voice"
JPEG = b"\xff\xd8\xff\xe0fake-jpeg-bytes"


def citizen_of(app, clock) -> Citizen:
    return Citizen(WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, clock=clock))


def report_with(citizen: Citizen, *, video: str = "", voice: str = "") -> None:
    """The report flow with a spoken description (voice) and/or a video at the photo step."""
    assert "请选择隐患类别" in citizen.says("举报")
    assert "请描述隐患情况" in citizen.says("1")
    described = citizen.voice(DESCRIPTION, voice).text if voice else citizen.says(DESCRIPTION)
    assert "请发送隐患位置" in described
    assert "请上传现场照片" in citizen.location(36.195, 113.116, "城关镇人民路12号").text
    if video:
        assert "已收到第1张" in citizen.video(video).text
    assert "请留下姓名和手机号" in citizen.says("完成")
    assert "请核对您的举报" in citizen.says("匿名")
    assert "举报已提交" in citizen.says("确认")


@pytest.fixture
def api_config(database_url: str, fake_wechat, tmp_path: Path):
    """The fake WeChat API, and [reports] photo_dir the test's directory, where `download` stores."""
    return make_config(database_url, wechat={"api_base_url": fake_wechat.base_url},
                       reports={"photo_dir": str(tmp_path)})


def evidence_rows(bot) -> list[ReportPhoto]:
    with bot.db.session() as s:
        return list(s.scalars(select(ReportPhoto).order_by(ReportPhoto.id)))


def download(bot, root: Path, clock) -> evidence.DownloadSummary:
    with bot.db.session() as s:
        return evidence.download_pending_photos(s, bot.extensions["api"], root, clock.now())


# --- the fake's rules ------------------------------------------------------------------------------

def test_media_get_answers_a_video_with_its_download_address(api_bot, fake_wechat) -> None:
    media_id = fake_wechat.add_media(MP4, "video/mp4")
    token = api_bot.extensions["api"].access_token()
    answer = requests.get(fake_wechat.base_url + "media/get", params={"access_token": token, "media_id": media_id},
                          timeout=5)
    assert answer.headers["Content-Type"].startswith("application/json")
    url = answer.json()["video_url"]
    video = requests.get(url, timeout=5)  # no access token: a plain download address
    assert video.content == MP4 and video.headers["Content-Type"] == "video/mp4"


def test_media_get_answers_voice_with_its_type_and_unknown_ids_with_40007(api_bot, fake_wechat) -> None:
    api = api_bot.extensions["api"]
    media = api.fetch_media(fake_wechat.add_media(AMR, "audio/amr"))
    assert (media.content, media.content_type) == (AMR, "audio/amr")
    token = api.access_token()
    raw = requests.get(fake_wechat.base_url + "media/get", params={"access_token": token, "media_id": "nope"},
                       timeout=5).json()
    assert raw == {"errcode": 40007, "errmsg": "invalid media_id"}


# --- the client and the evidence job ---------------------------------------------------------------

def test_video_evidence_is_the_video_not_the_json(api_app, api_bot, fake_wechat, clock, tmp_path: Path) -> None:
    report_with(citizen_of(api_app, clock), video=fake_wechat.add_media(MP4, "video/mp4"))
    assert download(api_bot, tmp_path, clock).stored == 1
    [video] = evidence_rows(api_bot)
    assert video.kind == "video" and video.path.endswith(".mp4")
    stored = (tmp_path / video.path).read_bytes()
    assert stored == MP4 and video.sha256 == hashlib.sha256(MP4).hexdigest()
    assert fake_wechat.calls["media/get"] == 1 and fake_wechat.video_downloads == 1


def test_a_failed_video_download_is_retried_then_expires(api_app, api_bot, fake_wechat, clock,
                                                         tmp_path: Path) -> None:
    report_with(citizen_of(api_app, clock), video=fake_wechat.add_media(MP4, "video/mp4"))
    fake_wechat.fail_next("wxvideo", times=1)
    summary = download(api_bot, tmp_path, clock)
    [video] = evidence_rows(api_bot)
    assert (summary.retrying, video.status, video.attempts) == (1, PhotoStatus.PENDING, 1)
    assert "video download failed: HTTP 404" in video.last_error and not list(tmp_path.rglob("*.mp4"))
    clock.advance(minutes=1)
    assert download(api_bot, tmp_path, clock).stored == 1  # both requests again: a fresh address
    assert fake_wechat.calls["media/get"] == 2
    # Another video that keeps failing is marked expired after the 3 days.
    report_with(citizen_of(api_app, clock), video=fake_wechat.add_media(MP4, "video/mp4"))
    fake_wechat.fail_next("wxvideo", times=100)
    download(api_bot, tmp_path, clock)
    clock.advance(days=3)
    assert download(api_bot, tmp_path, clock).expired == 1


def test_a_spoken_description_is_kept_as_amr_and_shown_to_staff(api_app, api_bot, fake_wechat, clock,
                                                                 tmp_path: Path) -> None:
    voice_id = fake_wechat.add_media(AMR, "audio/amr")
    report_with(citizen_of(api_app, clock), voice=voice_id, video=fake_wechat.add_media(MP4, "video/mp4"))
    assert download(api_bot, tmp_path, clock).stored == 2
    voice, video = evidence_rows(api_bot)
    assert (voice.kind, voice.media_id) == ("voice", voice_id) and voice.path.endswith(".amr")
    assert (tmp_path / voice.path).read_bytes() == AMR and video.path.endswith(".mp4")
    # Staff get a download link for it (from the photo directory of the test's config).
    with api_bot.db.session() as s:
        ticket = s.scalar(select(Report.ticket))
    add_staff(api_app, "boss", "admin")
    console = ConsoleClient(api_app.test_client())
    console.login("boss")
    page = console.get(f"/console/reports/{ticket}").get_data(as_text=True)
    assert "下载语音（AMR）" in page and 'data-evidence="video"' in page
    served = console.get(f"/console/reports/photos/{voice.id}")
    assert served.status_code == 200 and served.data == AMR


def test_the_photo_count_leaves_the_voice_out(api_app, api_bot, fake_wechat, clock) -> None:
    citizen = citizen_of(api_app, clock)
    citizen.says("举报")
    citizen.says("1")
    citizen.voice(DESCRIPTION, fake_wechat.add_media(AMR, "audio/amr"))
    citizen.location(36.195, 113.116, "城关镇人民路12号")
    assert "已收到第1张" in citizen.image(fake_wechat.add_media(JPEG)).text
    citizen.says("完成")
    assert "照片：1 张" in citizen.says("匿名")


def test_a_token_pause_does_not_use_up_attempts(api_app, api_bot, fake_wechat, clock, tmp_path: Path) -> None:
    report_with(citizen_of(api_app, clock), video=fake_wechat.add_media(MP4, "video/mp4"))
    fake_wechat.set_ip_whitelist({"10.1.2.3"})
    download(api_bot, tmp_path, clock)
    [video] = evidence_rows(api_bot)
    assert (video.status, video.attempts) == (PhotoStatus.PENDING, 0) and video.last_error.startswith("40164")
    assert video.next_attempt_at == clock.now() + dt.timedelta(minutes=5)  # when the pause ends
    fake_wechat.set_ip_whitelist(None)
    clock.advance(minutes=5)
    assert download(api_bot, tmp_path, clock).stored == 1
