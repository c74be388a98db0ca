from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import ConfigError, from_mapping, load_config

ROOT = Path(__file__).resolve().parent.parent
BASE = {"wechat": {"app_id": "wx1", "token": "tok"}, "database": {"url": "sqlite:///x.db"}}


def test_shipped_config_loads() -> None:
    config = load_config(ROOT / "config.toml", environ={})
    assert config.redis.url == ""
    assert config.aes_enabled


def test_env_overrides_keep_the_key_type() -> None:
    config = from_mapping(BASE, {"BOT_WECHAT_TOKEN": "123456", "BOT_WECHAT_APP_SECRET": "s3",
                                 "BOT_CONVERSATION_IDLE_MINUTES": "5", "BOT_REDIS_URL": "redis://h"})
    assert config.wechat.token == "123456"
    assert config.wechat.app_secret == "s3"
    assert config.conversation.idle_minutes == 5
    assert config.redis.url == "redis://h"


def test_bot_config_env_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[wechat]\napp_id = "wxother"\ntoken = "t"\n', encoding="utf-8")
    assert load_config(environ={"BOT_CONFIG": str(path)}).wechat.app_id == "wxother"


@pytest.mark.parametrize(("raw", "env", "names"), [
    ({"wechat": {"app_id": "wx1", "token": 5}}, {}, "[wechat] token must be str"),
    ({**BASE, "wechat": {**BASE["wechat"], "colour": "red"}}, {}, "unknown config key [wechat] colour"),
    ({**BASE, "nosuch": {}}, {}, "unknown config section [nosuch]"),
    (BASE, {"BOT_WECHAT_TYPO": "x"}, "unknown config key [wechat] typo"),
    (BASE, {"BOT_CONVERSATION_IDLE_MINUTES": "soon"}, "BOT_CONVERSATION_IDLE_MINUTES must be int"),
    ({"wechat": {"app_id": "wx1"}}, {}, "missing required value [wechat] token"),
    ({**BASE, "wechat": {**BASE["wechat"], "encoding_aes_key": "short"}}, {}, "encoding_aes_key must be 43"),
    ({**BASE, "server": {"mode": "staging"}}, {}, "[server] mode must be one of"),
    ({**BASE, "conversation": {"seen_flush_seconds": -1}}, {}, "seen_flush_seconds must be between 0 and 60"),
    (BASE, {"BOT_CONVERSATION_SEEN_FLUSH_SECONDS": "300"}, "seen_flush_seconds must be between 0 and 60"),
])
def test_bad_config_names_the_key(raw: dict, env: dict, names: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_mapping(raw, env)
    assert names in str(err.value)
    assert "\n" not in str(err.value)


def test_production_refuses_sample_secrets_without_showing_them() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(ROOT / "config.toml", environ={"BOT_SERVER_MODE": "production"})
    assert "sample value" in str(err.value)
    for secret in ("demo-app-secret", "demo-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"):
        assert secret not in str(err.value)


def test_production_refuses_the_templates_placeholders() -> None:
    """deploy/bot.env.example copied with a line missed: the bot must not start on CHANGE-ME."""
    real = {"BOT_SERVER_MODE": "production", "BOT_SERVER_SECRET_KEY": "aDMNP9HXHyE3r7Uj-HXOQxCZrNJKhqxh2mZscKl5GrA",
            "BOT_WECHAT_APP_ID": "wx1234567890abcdef", "BOT_WECHAT_APP_SECRET": "real", "BOT_WECHAT_TOKEN": "realtoken",
            "BOT_WECHAT_ENCODING_AES_KEY": "Z" * 43,
            "BOT_SECURITY_IDENTITY_KEY": "2b404ca73e7cd48243d2fb47ba74487757fb68b78618a3e17f3b0d79dc0470e7"}
    for env, names in ([{"BOT_WECHAT_APP_SECRET": "CHANGE-ME"}, "[wechat] app_secret still has the placeholder"],
                       [{"BOT_WECHAT_TOKEN": "CHANGE-ME"}, "[wechat] token still has the placeholder"],
                       [{"BOT_WECHAT_APP_ID": "wx0000000000000000"}, "[wechat] app_id is the placeholder"],
                       [{"BOT_WECHAT_APP_SECRET": ""}, "missing required value [wechat] app_secret"]):
        with pytest.raises(ConfigError) as err:
            load_config(ROOT / "config.toml", environ=real | env)
        assert names in str(err.value), err.value
    assert load_config(ROOT / "config.toml", environ=real).server.mode == "production"


def test_production_starts_with_real_secrets() -> None:
    env = {"BOT_SERVER_MODE": "production", "BOT_SERVER_SECRET_KEY": "aDMNP9HXHyE3r7Uj-HXOQxCZrNJKhqxh2mZscKl5GrA", "BOT_WECHAT_APP_SECRET": "real",
           "BOT_WECHAT_TOKEN": "realtoken", "BOT_WECHAT_ENCODING_AES_KEY": "Z" * 43,
           "BOT_SECURITY_IDENTITY_KEY": "2b404ca73e7cd48243d2fb47ba74487757fb68b78618a3e17f3b0d79dc0470e7"}
    assert load_config(ROOT / "config.toml", environ=env).server.mode == "production"


def test_cli_reports_a_config_error_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    path = tmp_path / "bad.toml"
    path.write_text('[wechat]\napp_id = "wx"\ntoken = "t"\nencoding_aes_key = "secretbutwrong"\n', encoding="utf-8")
    assert main(["--config", str(path), "content", "check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: [wechat] encoding_aes_key")
    assert "secretbutwrong" not in err


def test_serve_refuses_workers_without_redis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["--config", str(ROOT / "config.toml"), "serve", "--workers", "2"]) == 2
    assert "--workers > 1 needs [redis] url" in capsys.readouterr().err


def test_secrets_never_logged(app, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app.test_client().post("/wechat?signature=bad&timestamp=1&nonce=2", data=b"<xml/>")
    bot = app.extensions["bot"]
    for secret in (bot.config.wechat.app_secret, bot.config.wechat.token, bot.config.wechat.encoding_aes_key):
        assert secret not in caplog.text
