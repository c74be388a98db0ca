"""Fixtures: a real database (SQLite, or PostgreSQL with BOT_TEST_DATABASE_URL), a real store
(in-process, or Redis with BOT_TEST_REDIS_URL), a frozen clock, and WeChat-like citizens.

Only fixtures live here; the helpers they use are in tests/settings.py (the test account,
make_config), tests/services.py (PostgreSQL, Redis) and tests/wechat.py (the WeChat client).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import create_app
from bot.clock import FixedClock, shanghai
from bot.config import Config
from bot.infra.migrate import upgrade
from bot.infra.store import MemoryStore, RedisStore
from tests.services import DATABASE_URL, PG_ADMIN_URL, REDIS_URL, redis_store, truncate_all, unavailable
from tests.settings import AES_KEY, APP_ID, APP_SECRET, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer

# --- database -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped afterwards), so parallel runs never meet."""
    name = f"smb_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "bot.infra.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite copied from a migrated template, or the session's PostgreSQL database emptied."""
    if DATABASE_URL.startswith("postgresql"):
        url = request.getfixturevalue("pg_server_url")
        truncate_all(url)
        return url
    path = tmp_path / "bot.infra.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL whatever the backend run: for tests of PostgreSQL-only behaviour."""
    url = request.getfixturevalue("pg_server_url")
    truncate_all(url)
    return url


# --- store ----------------------------------------------------------------------------------

@pytest.fixture
def real_redis() -> Iterator[RedisStore]:
    yield from redis_store()


@pytest.fixture
def store() -> Iterator[MemoryStore | RedisStore]:
    """The run's backend: Redis when BOT_TEST_REDIS_URL is set, else the in-process store."""
    if REDIS_URL:
        yield from redis_store(REDIS_URL)
    else:
        yield MemoryStore()


# --- app and citizens -----------------------------------------------------------------------

@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(shanghai(2021, 6, 1, 10, 0))


@pytest.fixture
def config(database_url: str) -> Config:
    return make_config(database_url)


@pytest.fixture
def app(config: Config, clock: FixedClock, store):
    app = create_app(config, clock=clock, store=store)
    app.testing = True
    yield app
    app.extensions["bot"].close()


@pytest.fixture
def bot(app):
    return app.extensions["bot"]


@pytest.fixture(params=["plain", "aes"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def wechat(app, mode: str, clock: FixedClock) -> WeChatServer:
    return WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock)


@pytest.fixture
def citizen(wechat: WeChatServer) -> Citizen:
    return Citizen(wechat, "o_citizen_1")


@pytest.fixture
def citizens(wechat: WeChatServer):
    """Make more citizens: `citizens("o_2")`."""
    return lambda openid: Citizen(wechat, openid)


# --- the fake WeChat API --------------------------------------------------------------------

@pytest.fixture
def fake_wechat(clock: FixedClock):
    """The fake WeChat API on a loopback port, on the test clock. `fake_wechat.base_url` is its API base."""
    from bot.wechat.fake import FakeServer, FakeWeChat

    fake = FakeWeChat(APP_ID, APP_SECRET, clock=clock)
    server = FakeServer(fake).start()
    fake.base_url = server.base_url
    yield fake
    server.stop()


@pytest.fixture
def api_config(database_url: str, fake_wechat) -> Config:
    """A config whose [wechat] api_base_url is the fake. A test module can make it the default
    with `@pytest.fixture def config(api_config): return api_config`."""
    return make_config(database_url, wechat={"api_base_url": fake_wechat.base_url})


@pytest.fixture
def api_app(api_config: Config, clock: FixedClock, store):
    app = create_app(api_config, clock=clock, store=store)
    app.testing = True
    yield app
    app.extensions["bot"].close()


@pytest.fixture
def api_bot(api_app):
    """A Bot whose `extensions["api"]` talks to `fake_wechat`."""
    return api_app.extensions["bot"]
