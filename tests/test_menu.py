"""content/menu.toml: WeChat's limits, the menu/create payload, the key cross-check and `menu` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot import create_app
from bot.chat.routing import Dispatcher
from bot.cli import main
from bot.cli.content import check_content
from bot.cli.menu import MenuSyncError, sync_menu
from bot.config import Config
from bot.content import ContentError, load_content
from bot.services.menu import build_menu_payload, load_menu, menu_keys_have_handlers
from handlers import ROUTERS
from tests.settings import APP_ID, make_config

CONTENT = Path(__file__).resolve().parent.parent / "content"

SMALL_MENU = '''
[[button]]
name = "安全月"

[[button.sub_button]]
name = "活动日历"
type = "click"
key = "EVENTS"

[[button.sub_button]]
name = "警示教育"
type = "view"
url = "https://example.gov.cn/showcase"
example = true

[[button]]
name = "帮助"
type = "click"
key = "HELP"
'''


def with_bad_key(menu: str) -> str:
    """The small menu with one more item under 安全月 whose key no handler answers."""
    return menu.replace('[[button]]\nname = "帮助"',
                        '[[button.sub_button]]\nname = "我要举报"\ntype = "click"\nkey = "NO_SUCH_KEY"\n\n'
                        '[[button]]\nname = "帮助"')


def content_dir(tmp_path: Path, menu: str) -> Path:
    directory = tmp_path / "content"
    shutil.copytree(CONTENT, directory)
    (directory / "menu.toml").write_text(menu, encoding="utf-8")
    return directory


def test_shipped_menu_fits_wechat_and_uses_the_agreed_keys() -> None:
    menu = load_menu(CONTENT)
    assert [b.name for b in menu.buttons] == ["安全月", "竞答有奖", "随手拍举报"]
    keys = {b.key for b in menu.clickable()}
    assert {"EVENTS", "EVENTS_TODAY", "HELP", "KNOWLEDGE", "QUIZ_START", "REPORT_START"} <= keys


def test_payload_is_menu_create_json(tmp_path: Path) -> None:
    payload = build_menu_payload(load_menu(content_dir(tmp_path, SMALL_MENU)))
    assert payload == {"button": [
        {"name": "安全月", "sub_button": [
            {"type": "click", "name": "活动日历", "key": "EVENTS"},
            {"type": "view", "name": "警示教育", "url": "https://example.gov.cn/showcase"},
        ]},
        {"type": "click", "name": "帮助", "key": "HELP"},
    ]}
    json.dumps(payload, ensure_ascii=False)  # plain JSON, ready for the API


def button(name: str, body: str = 'type = "click"\nkey = "HELP"') -> str:
    return f'[[button]]\nname = "{name}"\n{body}\n'


def sub(name: str, body: str = 'type = "click"\nkey = "HELP"') -> str:
    return f'[[button.sub_button]]\nname = "{name}"\n{body}\n'


@pytest.mark.parametrize(("menu", "message"), [
    (button("一") + button("二") + button("三") + button("四"), "[[button]]: -: 4 top buttons; WeChat allows at most 3"),
    (button("安全月", "") + "".join(sub(f"项{i}") for i in range(6)), "button 1 「安全月」: sub_button: 6 items"),
    (button("安全生产月活动"), "button 1 「安全生产月活动」: name: 21 bytes"),
    (button("安全月", "") + sub("长" * 21), "button 1.1 「" + "长" * 21 + "」: name: 63 bytes"),
    (button("帮助", f'type = "click"\nkey = "{"K" * 129}"'), "button 1 「帮助」: key: 129 bytes"),
    (button("帮助", 'type = "view"\nurl = "ftp://example.gov.cn/"'), "button 1 「帮助」: url: must be an http:// or https://"),
    (button("帮助", 'type = "scancode_push"\nkey = "X"'), "button 1 「帮助」: type: must be one of click, view"),
    (button("帮助", 'type = "click"'), "button 1 「帮助」: key: missing or empty text"),
    (button("安全月", 'type = "click"\nkey = "HELP"') + sub("活动"), "button 1 「安全月」: type: a button with items"),
    ("", "[[button]]: -: no buttons"),
])
def test_validation_names_file_button_and_field(tmp_path: Path, menu: str, message: str) -> None:
    with pytest.raises(ContentError) as caught:
        load_menu(content_dir(tmp_path, menu))
    assert message in str(caught.value)
    assert caught.value.file.endswith("menu.toml")


def test_content_check_fails_on_a_key_without_handler(tmp_path: Path) -> None:
    content = load_content(content_dir(tmp_path, with_bad_key(SMALL_MENU)))
    problems = menu_keys_have_handlers(content, Dispatcher(ROUTERS), None)
    assert len(problems) == 1
    assert "menu.toml: button 1.3 「我要举报」: key: CLICK key 'NO_SUCH_KEY' has no handler" in problems[0]
    assert menu_keys_have_handlers(load_content(content_dir(tmp_path / "ok", SMALL_MENU)), Dispatcher(ROUTERS), None) == []
    # and `content check` runs it (CROSS_CHECKS)
    config = make_config("sqlite://", content={"dir": str(tmp_path / "content")})
    assert check_content(config) == problems


def write_config(tmp_path: Path, directory: Path, api_base_url: str = "http://127.0.0.1:9/cgi-bin/") -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f'''
[wechat]
app_id = "{APP_ID}"
app_secret = "test-app-secret"
token = "test-token"
api_base_url = "{api_base_url}"
[database]
url = "sqlite:///{tmp_path / 'bot.infra.db'}"
[content]
dir = "{directory}"
''', encoding="utf-8")
    return path


def test_menu_show_prints_the_payload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = content_dir(tmp_path, SMALL_MENU)
    assert main(["--config", str(write_config(tmp_path, directory)), "menu", "show"]) == 0
    assert json.loads(capsys.readouterr().out) == build_menu_payload(load_menu(directory))


def test_menu_sync_pushes_to_wechat(tmp_path: Path, fake_wechat) -> None:
    directory = content_dir(tmp_path, SMALL_MENU)
    assert main(["--config", str(write_config(tmp_path, directory, fake_wechat.base_url)), "menu", "sync"]) == 0
    assert fake_wechat.menu == build_menu_payload(load_menu(directory))


def test_menu_sync_refuses_a_key_without_handler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = content_dir(tmp_path, with_bad_key(SMALL_MENU))
    assert main(["--config", str(write_config(tmp_path, directory)), "menu", "sync"]) == 1
    assert "NO_SUCH_KEY" in capsys.readouterr().err


class RecordingAPI:
    """Records what WeChatAPI.create_menu was given, or fails like it."""

    def __init__(self, error: Exception | None = None) -> None:
        self.menus: list[dict[str, Any]] = []
        self.error = error

    def create_menu(self, menu: dict[str, Any]) -> None:
        if self.error:
            raise self.error
        self.menus.append(menu)


def test_sync_menu_pushes_the_payload(tmp_path: Path, database_url: str, clock) -> None:
    config: Config = make_config(database_url, content={"dir": str(content_dir(tmp_path, SMALL_MENU))})
    app = create_app(config, clock=clock)
    bot = app.extensions["bot"]
    try:
        bot.extensions.pop("api", None)  # a process built without the pushes feature's client
        with pytest.raises(MenuSyncError, match="没有可用的微信接口客户端"):
            sync_menu(bot)
        bot.extensions["api"] = api = RecordingAPI()
        assert sync_menu(bot) == api.menus[0] == build_menu_payload(bot.content.menu)
        bot.extensions["api"] = RecordingAPI(RuntimeError("40018 invalid button name size"))
        with pytest.raises(MenuSyncError, match="40018"):
            sync_menu(bot)
    finally:
        bot.close()


def test_simulator_shows_the_menu_and_a_click_reaches_the_calendar(app) -> None:
    html = app.test_client().get("/simulator/").get_data(as_text=True)
    assert 'class="menu-open">安全月<' in html
    assert 'data-type="click" data-key="EVENTS_TODAY"' in html
    clicked = app.test_client().post("/simulator/api/send", json={
        "openid": "o_sim_zhangsan", "type": "event", "event": "CLICK", "key": "EVENTS_TODAY"}).get_json()
    assert clicked["reply"]["content"].startswith("今天 6月1日（周二）的活动")
