"""Browser tests: Debian's Chromium driven by Playwright for Python against the whole service on a real port.

Fixtures: `chromium` (one browser for the browser tests), `live` (the app, a worker and the Notify simulator, fresh
per test, with a `settings` mark's changes: tests/browser/support/live.py), `page` (a new browser context per test)
and `resident` (that page with a screenshot of every page visited, tests/browser/support/browse.py). The suite is
skipped, with one reason, only when Chromium is not installed (`make setup` installs it where it can).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.support.browse import Browse, new_page, screenshots_for
from tests.browser.support.chromium import ARGS, CHROMIUM, MISSING, SAYS_WHY
from tests.browser.support.live import EventLoopThread, LiveServer
from tests.conftest import Services

if MISSING:  # one module is collected, and says why the browser tests are skipped
    collect_ignore = [path.name for path in Path(__file__).parent.glob('test_*.py') if path.name != SAYS_WHY]
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report = yield
    if report.when == 'call':
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture(scope='package')
def playwright() -> Iterator[Playwright]:
    if MISSING:  # a test file named on the command line is collected all the same
        pytest.skip(MISSING)
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope='package')
def chromium(playwright: Playwright) -> Iterator[Browser]:
    # launch() gives the browser a fresh, temporary profile of its own every time
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope='package')
def server_loop() -> Iterator[EventLoopThread]:
    loop = EventLoopThread()
    yield loop
    loop.stop()


@pytest.fixture
def live(server_loop: EventLoopThread, services: Services, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """The service, with the settings a `settings` mark on the test or its module changes (the nearest wins)."""
    overrides: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers('settings'))):
        overrides |= mark.kwargs
    server = LiveServer(server_loop, services, **overrides).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page_problems() -> list[str]:
    """What the page did wrong: Content-Security-Policy violations and uncaught JavaScript errors."""
    return []


@pytest.fixture
def page(chromium: Browser, live: LiveServer, page_problems: list[str]) -> Iterator[Page]:
    """A page in a fresh context (no cookies), failing the test if the page breaks its CSP or throws."""
    context, page = new_page(chromium, page_problems)
    yield page
    context.close()
    assert not page_problems, 'the pages broke their Content-Security-Policy or threw:\n' + '\n'.join(page_problems)


@pytest.fixture
def resident(page: Page, live: LiveServer, request: pytest.FixtureRequest) -> Iterator[Browse]:
    folder = screenshots_for(request.node.name)
    browse = Browse(page, live, folder)
    yield browse
    failed = request.node.stash.get(FAILED, False)
    if not page.is_closed() and (failed or page.url != browse.last_url):
        browse.snap('failed' if failed else 'last')  # how the page looked when the test ended
