"""Configuration: `config.toml` (or the file in env BOT_CONFIG), overridden by env BOT_<SECTION>_<KEY>.

Each section is a frozen dataclass; its fields are the only keys the section accepts, and each
field's default fixes the key's type. Errors name the key, never the value, so secrets stay out
of logs.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Relative paths in the config (content, photos, an SQLite file) are relative to the project's root.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

SECRET_KEYS = {("wechat", "app_secret"), ("wechat", "token"), ("wechat", "encoding_aes_key"),
               ("server", "secret_key"), ("security", "identity_key"), ("security", "previous_identity_key"),
               ("server", "metrics_token")}

# The placeholder secrets shipped in config.toml; production refuses to start with them.
SAMPLE_SECRETS = {
    ("wechat", "app_secret"): "demo-app-secret",
    ("wechat", "token"): "demo-token",
    ("wechat", "encoding_aes_key"): "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    ("server", "secret_key"): "demo-secret-key-change-me",
    ("security", "identity_key"): "demo-identity-key-change-me",
}

# The placeholders of deploy/bot.env.example; production refuses them too (an operator who copied the
# template and missed a line would otherwise start a bot WeChat can never reach).
TEMPLATE_PLACEHOLDER = "CHANGE-ME"
TEMPLATE_APP_ID = "wx0000000000000000"

MODES = ("dev", "demo", "production")

# Keys that sign sessions or derive the identity vault's keys; production needs this much randomness in each.
STRONG_KEYS = (("server", "secret_key"), ("security", "identity_key"))
MIN_KEY_BYTES = 32
_HEX = frozenset("0123456789abcdefABCDEF")
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


class ConfigError(Exception):
    """A configuration problem, described in one line that names the key."""


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    mode: str = "dev"
    secret_key: str = ""
    max_body_bytes: int = 65536
    # Demo only: the simulated campaign date ("" = the campaign's first day in demo, real date otherwise).
    today: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Reverse proxies in front of the server that append to X-Forwarded-For (0 = none: the header is ignored).
    proxy_hops: int = 0
    # "" = /metrics open (keep it behind the proxy's allow-list); else requests must carry
    # `Authorization: Bearer <token>`.
    metrics_token: str = ""


@dataclasses.dataclass(frozen=True)
class WechatConfig:
    app_id: str = ""
    app_secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    account_type: str = "subscription"
    request_timeout_seconds: float = 3.0
    # With an EncodingAESKey: "safe" refuses plaintext pushes; "compatible" takes both (README).
    message_mode: str = "compatible"
    # A push's timestamp may be this far from the clock (WeChat's retries come within seconds).
    signature_max_age_seconds: int = 300


@dataclasses.dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///var/bot.db"


@dataclasses.dataclass(frozen=True)
class RedisConfig:
    url: str = ""


@dataclasses.dataclass(frozen=True)
class ConversationConfig:
    idle_minutes: int = 30
    dedupe_seconds: int = 300
    lock_wait_seconds: float = 4.0
    seen_flush_seconds: float = 1.0


@dataclasses.dataclass(frozen=True)
class SecurityConfig:
    identity_key: str = ""
    # Given only while `python -m bot keys rotate` moves sealed values to a new identity_key: the
    # key they were sealed with. Removed once the rotation is done (README, Key custody).
    previous_identity_key: str = ""


@dataclasses.dataclass(frozen=True)
class ContentConfig:
    dir: str = "content"


@dataclasses.dataclass(frozen=True)
class EventsConfig:
    page_size: int = 5
    reminder_hours_before: int = 24


@dataclasses.dataclass(frozen=True)
class QuizConfig:
    questions_per_round: int = 5
    round_idle_minutes: int = 30
    campaign_start: str = "2021-06-01"
    campaign_end: str = "2021-06-30"
    counted_rounds_per_day: int = 1
    draw_entry_per: str = "day"  # "day" or "campaign"
    draw_eligibility: str = "full_marks"  # "full_marks" or "at_least:N"
    min_seconds_per_question: float = 2.0
    answers_per_minute: int = 30
    claim_days: int = 7
    claim_erase_days: int = 30


@dataclasses.dataclass(frozen=True)
class ReportsConfig:
    daily_cap: int = 5
    draft_keep_hours: int = 24
    # Deadlines (domain.md §1.3): acceptance is told "on the spot" (1 day for an online channel),
    # verification within 60 days of acceptance, feedback within 10 days after verification.
    accept_days: int = 1
    verify_days: int = 60
    feedback_days: int = 10
    photo_dir: str = "var/photos"
    duplicate_distance_m: int = 200
    duplicate_days: int = 7
    contact_retention_days: int = 180
    reward_claim_days: int = 60


@dataclasses.dataclass(frozen=True)
class PushConfig:
    sender_concurrency: int = 8
    rate_per_second: float = 500.0
    lease_seconds: int = 60
    max_attempts: int = 5
    template_id: str = ""             # retired: templates are per purpose (below); set → a ConfigError
    subscribe_template_id: str = ""   # retired as well
    # Service notices outside the 48-hour window (bot/services/notice_templates.py): per purpose a
    # template message id and its keywords ("ticket=character_string1 status=phrase2 ..."), and/or
    # a 订阅通知 template id and its keywords.
    report_status_template: str = ""
    report_status_template_keys: str = ""
    report_status_subscribe: str = ""
    report_status_subscribe_keys: str = ""
    # A 长期订阅 template (only for categories such as 政务民生): one consent allows every later send.
    report_status_subscribe_long_term: bool = False
    quiz_prize_template: str = ""
    quiz_prize_template_keys: str = ""
    quiz_prize_subscribe: str = ""
    quiz_prize_subscribe_keys: str = ""
    quiz_prize_subscribe_long_term: bool = False
    # An event's cancellation, or its new time or venue, to citizens who asked for its reminder.
    event_cancelled_template: str = ""
    event_cancelled_template_keys: str = ""
    event_cancelled_subscribe: str = ""
    event_cancelled_subscribe_keys: str = ""
    event_cancelled_subscribe_long_term: bool = False
    event_changed_template: str = ""
    event_changed_template_keys: str = ""
    event_changed_subscribe: str = ""
    event_changed_subscribe_keys: str = ""
    event_changed_subscribe_long_term: bool = False


@dataclasses.dataclass(frozen=True)
class ConsoleConfig:
    idle_minutes: int = 30
    login_attempts: int = 5  # failures per username before a lockout
    login_attempts_per_ip: int = 20  # an office shares one IP, so this is higher
    lockout_minutes: int = 15


SECTIONS: dict[str, type] = {
    "server": ServerConfig,
    "wechat": WechatConfig,
    "database": DatabaseConfig,
    "redis": RedisConfig,
    "conversation": ConversationConfig,
    "security": SecurityConfig,
    "content": ContentConfig,
    "events": EventsConfig,
    "quiz": QuizConfig,
    "reports": ReportsConfig,
    "push": PushConfig,
    "console": ConsoleConfig,
}

REQUIRED = [("wechat", "token"), ("wechat", "app_id"), ("database", "url")]


@dataclasses.dataclass(frozen=True)
class Config:
    server: ServerConfig
    wechat: WechatConfig
    database: DatabaseConfig
    redis: RedisConfig
    conversation: ConversationConfig
    security: SecurityConfig
    content: ContentConfig
    events: EventsConfig
    quiz: QuizConfig
    reports: ReportsConfig
    push: PushConfig
    console: ConsoleConfig
    source: str = "<defaults>"

    @property
    def aes_enabled(self) -> bool:
        return bool(self.wechat.encoding_aes_key)

    def replace(self, **sections: Mapping[str, Any]) -> Config:
        """A copy with some keys changed: `cfg.replace(redis={"url": "..."})`."""
        changed = {name: dataclasses.replace(getattr(self, name), **values) for name, values in sections.items()}
        return validate(dataclasses.replace(self, **changed))


def load_config(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file, apply BOT_<SECTION>_<KEY> overrides, validate."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("BOT_CONFIG") or "config.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return from_mapping(raw, environ, source=str(path))


def from_mapping(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None, source: str = "<mapping>") -> Config:
    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for section, keys in raw.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section [{section}] in {source}")
        if not isinstance(keys, Mapping):
            raise ConfigError(f"[{section}] must be a table in {source}")
        for key, value in keys.items():
            values[section][key] = _typed(section, key, value)
    for name, value in (environ or {}).items():
        override = _env_target(name)
        if override:
            section, key = override
            values[section][key] = _from_env(section, key, value)
    sections = {name: cls(**values[name]) for name, cls in SECTIONS.items()}
    return validate(Config(**sections, source=source))


def _field_types(section: str) -> dict[str, type]:
    return {f.name: type(f.default) for f in dataclasses.fields(SECTIONS[section])}


def _typed(section: str, key: str, value: Any) -> Any:
    types = _field_types(section)
    if key not in types:
        raise ConfigError(f"unknown config key [{section}] {key}")
    expected = types[key]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not expected:
        raise ConfigError(f"[{section}] {key} must be {expected.__name__}, got {type(value).__name__}")
    return value


def _env_target(name: str) -> tuple[str, str] | None:
    if not name.startswith("BOT_") or name == "BOT_CONFIG":
        return None
    section, _, key = name[4:].partition("_")
    section = section.lower()
    if section not in SECTIONS:
        return None
    key = key.lower()
    if key not in _field_types(section):
        raise ConfigError(f"unknown config key [{section}] {key} (from env {name})")
    return section, key


def _from_env(section: str, key: str, text: str) -> Any:
    expected = _field_types(section)[key]
    try:
        if expected is bool:
            lowered = text.strip().lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError
            return lowered in {"true", "1", "yes"}
        return expected(text)
    except ValueError:
        raise ConfigError(f"env BOT_{section.upper()}_{key.upper()} must be {expected.__name__}") from None


MESSAGE_MODES = ("compatible", "safe")


def _validate_message_security(wechat: WechatConfig) -> None:
    if wechat.message_mode not in MESSAGE_MODES:
        raise ConfigError("[wechat] message_mode must be compatible or safe")
    if wechat.message_mode == "safe" and not wechat.encoding_aes_key:
        raise ConfigError("[wechat] message_mode = safe needs [wechat] encoding_aes_key")
    if not 1 <= wechat.signature_max_age_seconds <= 86_400:
        raise ConfigError("[wechat] signature_max_age_seconds must be between 1 and 86400")


def key_bytes(key: str) -> int:
    """How many random bytes a key can hold, from its form: the length it decodes to if it is hex
    (4 bits a character) or base64 (6 bits), else its UTF-8 length. The key is used as that text."""
    if not key:
        return 0
    if set(key) <= _HEX:
        return len(key) // 2
    if set(key.rstrip("=")) <= _BASE64:
        return len(key.rstrip("=")) * 6 // 8
    return len(key.encode("utf-8"))


def _check_strong_key(section: str, key: str, value: str) -> None:
    # Name the key, never its value (it may be a real secret that is merely short).
    hint = "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if len(set(value)) < 8:
        raise ConfigError(f"[{section}] {key} repeats too few characters to be random; production needs "
                          f"{MIN_KEY_BYTES} bytes of randomness ({hint})")
    if key_bytes(value) < MIN_KEY_BYTES:
        raise ConfigError(f"[{section}] {key} holds about {key_bytes(value)} bytes of randomness; production needs "
                          f"at least {MIN_KEY_BYTES} bytes ({hint})")


def _validate_templates(push: PushConfig) -> None:
    from bot.services.notice_templates import PURPOSES, parse_keys

    for retired in ("template_id", "subscribe_template_id"):
        if getattr(push, retired):
            raise ConfigError(f"[push] {retired} is retired: each service notice has its own template and keywords; "
                              f"set [push] report_status_template and report_status_template_keys "
                              f"(or _subscribe / quiz_prize_...) instead (see README, Pushes)")
    for purpose in PURPOSES:
        for kind in ("template", "subscribe"):
            name = f"{purpose}_{kind}"
            template_id, keys = getattr(push, name), getattr(push, f"{name}_keys")
            if template_id and not keys:
                raise ConfigError(f"[push] {name} is set but {name}_keys is empty: list the template's keywords, "
                                  f"e.g. {name}_keys = \"ticket=character_string1 status=phrase2 time=time3\"")
            if keys and not template_id:
                raise ConfigError(f"[push] {name}_keys is set but {name} (the template id) is empty")
            if keys:
                try:
                    parse_keys(purpose, keys)
                except ValueError as exc:
                    raise ConfigError(f"[push] {name}_keys: {exc}") from None


def validate(config: Config) -> Config:
    for section, key in REQUIRED:
        if not getattr(getattr(config, section), key):
            raise ConfigError(f"missing required value [{section}] {key}")
    aes_key = config.wechat.encoding_aes_key
    if aes_key and (len(aes_key) != 43 or not aes_key.isalnum()):
        raise ConfigError("[wechat] encoding_aes_key must be 43 letters and digits (or empty for plaintext mode)")
    if config.server.mode not in MODES:
        raise ConfigError(f"[server] mode must be one of {', '.join(MODES)}")
    if config.wechat.account_type not in ("subscription", "service"):
        raise ConfigError("[wechat] account_type must be subscription or service")
    if not config.wechat.api_base_url.endswith("/"):
        raise ConfigError("[wechat] api_base_url must end with /")
    if not 0 <= config.conversation.seen_flush_seconds <= 60:
        raise ConfigError("[conversation] seen_flush_seconds must be between 0 and 60")
    if not 0 <= config.server.proxy_hops <= 5:
        raise ConfigError("[server] proxy_hops must be between 0 and 5 (the reverse proxies in front of the server)")
    if config.server.max_body_bytes < 1024:
        raise ConfigError("[server] max_body_bytes must be at least 1024")
    _validate_message_security(config.wechat)
    _validate_templates(config.push)
    if config.server.mode == "production":
        for (section, key), sample in SAMPLE_SECRETS.items():
            if getattr(getattr(config, section), key) == sample:
                raise ConfigError(f"[{section}] {key} still has the sample value from config.toml; set a real secret")
        for section, key in sorted(SECRET_KEYS):
            if TEMPLATE_PLACEHOLDER in str(getattr(getattr(config, section), key)):
                raise ConfigError(f"[{section}] {key} still has the placeholder from deploy/bot.env.example "
                                  f"(env BOT_{section.upper()}_{key.upper()}); set a real value")
        if config.wechat.app_id == TEMPLATE_APP_ID:
            raise ConfigError("[wechat] app_id is the placeholder from deploy/bot.env.example; set the account's AppID "
                              "(公众号后台 → 设置与开发 → 基本配置)")
        if not config.wechat.app_secret:
            raise ConfigError("missing required value [wechat] app_secret (needed in production: without it no "
                              "access token, so no push, reply to a report or notice reaches anyone)")
        if not config.server.secret_key:
            raise ConfigError("missing required value [server] secret_key (needed in production)")
        if config.server.today:
            raise ConfigError("[server] today is for demo and dev only; production uses the real date")
        if not config.security.identity_key:
            raise ConfigError("missing required value [security] identity_key (needed in production; "
                              "env BOT_SECURITY_IDENTITY_KEY)")
        for section, key in STRONG_KEYS:
            _check_strong_key(section, key, getattr(getattr(config, section), key))
        if config.security.previous_identity_key:
            _check_strong_key("security", "previous_identity_key", config.security.previous_identity_key)
    if config.security.previous_identity_key and config.security.previous_identity_key == config.security.identity_key:
        raise ConfigError("[security] previous_identity_key is the same as identity_key: give the new key as "
                          "identity_key and the old one as previous_identity_key")
    return config
