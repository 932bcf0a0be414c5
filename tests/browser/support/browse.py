"""A resident at the keyboard and mouse: Playwright's page plus a screenshot of every page visited.

Every step that lands on a page (`open`, `follow`, `press`, `click_link`) saves a screenshot under
tests/artefacts/screenshots/<test>/<n>-<slug>.png, so a failed journey can be looked at afterwards. `keep` saves the
one the README shows, and with TELLME_UPDATE_SCREENSHOTS=1 (`make screenshots`) copies it to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, Response

from tests.browser.support.axe import check_accessibility
from tests.browser.support.live import LiveServer

ARTEFACTS = Path(__file__).resolve().parents[2] / 'artefacts' / 'screenshots'
DOCS = Path(__file__).resolve().parents[3] / 'docs' / 'screenshots'
MAX_BYTES = 300_000
UPDATING = bool(os.environ.get('TELLME_UPDATE_SCREENSHOTS'))
DESKTOP = {'width': 1280, 'height': 900}
PHONE = {'width': 375, 'height': 740}
TOKEN_LIKE = re.compile(r'^[A-Za-z0-9_\-.~]{20,}$')


def screenshots_for(name: str) -> Path:
    """An empty folder for the screenshots of `name` (a test, or a second person in it)."""
    folder = ARTEFACTS / re.sub(r'[^A-Za-z0-9_.\-]+', '-', name).strip('-')
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def keep(browse: Browse, device: str, name: str) -> Path:
    """Save the page as docs/screenshots/<name>-<device>.png would show it: whole page, unless that is too big."""
    folder = ARTEFACTS / 'docs'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f'{name}-{device}.png'
    browse.page.screenshot(path=str(path), full_page=True)
    if path.stat().st_size > MAX_BYTES:
        browse.page.screenshot(path=str(path))  # the first screenful
    assert path.stat().st_size <= MAX_BYTES, f'{path.name} is {path.stat().st_size} bytes'
    if UPDATING:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / path.name)
    return path


def new_page(chromium: Browser, problems: list[str]) -> tuple[BrowserContext, Page]:
    """A page in a fresh context (no cookies) at desktop size, trusting our test certificate; a breach of its
    Content-Security-Policy or an uncaught JavaScript error is added to `problems` (the caller fails on them)."""
    context = chromium.new_context(viewport=DESKTOP, locale='en-GB', ignore_https_errors=True)
    context.set_default_timeout(10_000)
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == 'error' and 'Content Security Policy' in message.text:
            problems.append(f'{page.url}: {message.text}')

    page.on('console', on_console)
    page.on('pageerror', lambda error: problems.append(f'{page.url}: JavaScript error: {error}'))
    return context, page


def slug_of(url: str, lang: str = '') -> str:
    """`/near/radius` → `near-radius`; link tokens become `token`; `/` is `start`."""
    parts = ['token' if TOKEN_LIKE.match(part) else part for part in urlsplit(url).path.split('/') if part]
    slug = re.sub(r'[^a-z0-9\-]+', '-', '-'.join(parts).lower()).strip('-') or 'start'
    return f'{slug}-{lang}' if lang and lang != 'en' else slug


class Browse:
    def __init__(self, page: Page, live: LiveServer, folder: Path) -> None:
        self.page, self.live, self.folder = page, live, folder
        self.shots: list[Path] = []
        self.last_url = ''

    # --- looking -------------------------------------------------------------------------------------------------

    def snap(self, slug: str = '') -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        lang = self.page.evaluate('document.documentElement.lang') or ''
        path = self.folder / f'{len(self.shots) + 1:02d}-{slug or slug_of(self.page.url, lang)}.png'
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        self.last_url = self.page.url
        return path

    @property
    def path(self) -> str:
        return urlsplit(self.page.url).path

    def heading(self) -> str:
        return ' '.join(self.page.locator('h1').first.inner_text().split())

    def error_summary(self) -> list[str]:
        return [' '.join(text.split()) for text in self.page.locator('.govuk-error-summary__list li').all_inner_texts()]

    def error_messages(self) -> list[str]:
        """The messages shown beside the fields (without GOV.UK's visually hidden 'Error:' prefix)."""
        texts = self.page.locator('.govuk-error-message').all_inner_texts()
        return [re.sub(r'^(Error|Gwall):\s*', '', ' '.join(text.split())) for text in texts]

    def accessible(self, context: str = '') -> None:
        check_accessibility(self.page, context)

    # --- going places --------------------------------------------------------------------------------------------

    def open(self, path: str = '/', **query: str) -> Response | None:
        response = self.page.goto(self.live.url(path, **query))
        self.snap()
        return response

    def follow(self, url: str) -> Response | None:
        """Open a link from a message (an absolute URL on this server)."""
        assert url.startswith(self.live.base_url), f'{url} is not a link to this service ({self.live.base_url})'
        response = self.page.goto(url)
        self.snap()
        return response

    def press(self, name: str) -> None:
        """Click the button called `name` and wait for the page it leads to."""
        self._navigate(self.page.get_by_role('button', name=name, exact=True))

    def click_link(self, name: str, exact: bool = True) -> None:
        self._navigate(self.page.get_by_role('link', name=name, exact=exact).first)

    def _navigate(self, target: Locator) -> None:
        with self.page.expect_navigation():
            target.click()
        self.snap()

    # --- filling in ----------------------------------------------------------------------------------------------

    def fill(self, label: str, value: str, exact: bool = False) -> None:
        self.page.get_by_label(label, exact=exact).fill(value)

    def choose(self, label: str, exact: bool = True) -> None:
        """Pick a radio or tick a checkbox by its label."""
        self.page.get_by_label(label, exact=exact).check()

    def untick(self, label: str, exact: bool = True) -> None:
        self.page.get_by_label(label, exact=exact).uncheck()
