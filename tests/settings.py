"""The test account: what WeChat's side and the bot's config share, and `make_config` around it."""

from __future__ import annotations

from bot.config import Config, from_mapping

TOKEN = "test-token"
APP_ID = "wxtest00000000001"
APP_SECRET = "test-app-secret"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def make_config(database_url: str, **sections: dict) -> Config:
    """The tests' config on `database_url`; each keyword is a section whose values replace the defaults."""
    raw: dict[str, dict] = {
        "server": {"mode": "dev", "secret_key": "test-secret"},
        "wechat": {"app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN,
                   "encoding_aes_key": AES_KEY, "api_base_url": "http://fake-wechat.invalid/cgi-bin/"},
        "database": {"url": database_url},
        "redis": {"url": ""},
        # Last interaction times written with each message: tests read them at once. Batching has
        # its own tests (test_last_seen.py).
        "conversation": {"lock_wait_seconds": 1.0, "seen_flush_seconds": 0},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return from_mapping(raw)
