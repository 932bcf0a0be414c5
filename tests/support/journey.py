"""Helpers for the sign-up journey tests: a web client on the real app (the `browser` fixture,
tests/support/fixtures.py), forms posted as a browser would (with the csrf token read from the page), and the
notifications outbox read back."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import load_sample_postcodes
from tests.support.pages import CSRF, text_of

SECRET = 'journey-pages-secret'
PUBLIC = 'http://tellme.testshire.example'  # http: the test client would drop Secure cookies


@dataclass
class Page:
    status: int
    path: str
    html: str

    @property
    def text(self) -> str:
        """What a person reads: the HTML without tags, entities decoded, spaces collapsed."""
        return text_of(self.html)

    def errors(self) -> list[str]:
        """The messages in the GOV.UK error summary."""
        summary = re.search(r'govuk-error-summary__list">(.*?)</ul>', self.html, re.S)
        if not summary:
            return []
        return [' '.join(html.unescape(item).split()) for item in re.findall(r'<a href="#[^"]*">(.*?)</a>', summary[1])]

    def value(self, name: str) -> str | None:
        found = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*\bvalue="([^"]*)"', self.html)
        return html.unescape(found[1]) if found else None


class Browser:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def get(self, path: str) -> Page:
        response = await self.client.get(path)
        return Page(response.status, response.url.path_qs, await response.text())

    async def submit(
        self, path: str, data: dict[str, Any] | list[tuple[str, str]], *, csrf: bool = True, via: str | None = None
    ) -> Page:
        """GET the page (or `via`, the page the form is on), then POST its form as a browser would (following
        the redirect)."""
        form = await self.get(via or path)
        token = CSRF.search(form.html)
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            assert token, f'no csrf token on {path}'
            fields.append(('csrf_token', token[1]))
        response = await self.client.post(path, data=fields)
        return Page(response.status, response.url.path_qs, await response.text())


async def make_browser(aiohttp_client: Any, services: Services, pg: asyncpg.Pool, **overrides: Any) -> Browser:
    """The journeys' app (with `overrides` to its settings) and a resident's client on it."""
    await load_sample_postcodes(pg)
    settings = settings_for(services, **({'secret_key': SECRET, 'council_name': 'Testshire', 'public_url': PUBLIC}
                                         | overrides))  # fmt: skip
    return Browser(await aiohttp_client(create_app(settings)))


async def outbox(pg: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pg.fetch(
        'select n.id, n.channel, n.purpose, n.personalisation, n.subscription_id, n.status, c.address'
        ' from notifications n join contact_points c on c.id = n.contact_point_id order by n.created_at'
    )


async def choose_contact(browser: Browser, journey: str, *, email: str | None = None, mobile: str | None = None,
                         quiet: str = 'default') -> Page:  # fmt: skip
    """The shared steps from 'how' to 'check your answers'."""
    channel = 'both' if email and mobile else ('email' if email else 'sms')
    page = await browser.submit(f'/{journey}/channel', {'channel': channel})
    assert page.path == f'/{journey}/contact', page.text
    page = await browser.submit(f'/{journey}/contact', {'email': email or '', 'mobile': mobile or ''})
    if mobile and journey != 'bins':
        assert page.path == f'/{journey}/quiet-hours', page.errors()
        page = await browser.submit(f'/{journey}/quiet-hours', {'quiet': quiet})
    assert page.path == f'/{journey}/check', page.errors()
    return page
