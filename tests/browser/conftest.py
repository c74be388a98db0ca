"""Browser fixtures: the app served on a loopback port, and Debian's chromium driven by Playwright.

Never a downloaded browser: `executable_path="/usr/bin/chromium"`. Screenshots go to tests/artifacts/
(gitignored). Other pages (the simulator, ...) put their browser tests in this folder to reuse these.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
REQUIRE = os.environ.get("BOT_TEST_REQUIRE_SERVICES") == "1"


def serve(wsgi_app: Any) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 (a free port) from a background thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The test's app (same database, store and frozen clock as the `app` fixture) over real HTTP."""
    yield from serve(app)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not installed (apt-get install chromium fonts-wqy-microhei)"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    """Open pages in fresh browser contexts (separate cookies): `page = new_page()`."""
    contexts = []

    def open_page() -> Any:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        contexts.append(context)
        page = context.new_page()
        # Generous: a timeout only decides how long a real failure takes to report, and CI shares
        # two CPUs with PostgreSQL, Redis and the servers under test.
        page.set_default_timeout(30_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    return new_page()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """Save a full-page screenshot as tests/artifacts/<name>.png."""

    def take(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # A full page is rasterised whole; the console's longest pages took over 10 s under CI's load.
        page.screenshot(path=str(path), full_page=True, timeout=60_000)
        return path

    return take
