"""What the manage, your-data and event page tests share: an app on the embedded PostgreSQL and Redis, posting a
form the way a browser does (CSRF token read from the page), and signing in with the link we sent."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from notifier.settings import Settings
from tests.conftest import Services

SECRET = 'manage-pages-secret'
PUBLIC = 'http://tellme.example.gov.uk'  # http: the test client sends no Secure cookies
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NONCE = re.compile(r'nonce-?[=":]*"?[A-Za-z0-9_-]{16,}')


def settings_for(services: Services, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=services.database_url, redis_url=services.redis_url, secret_key=SECRET, public_url=PUBLIC,
        council_name='Testshire Council',
    )  # fmt: skip
    values.update(overrides)
    return Settings(**values)


async def post_form(client: TestClient, path: str, data: dict[str, Any] | None = None, *, page: str | None = None
                    ) -> ClientResponse:  # fmt: skip
    """GET the page (`page`, else `path`), read its CSRF token, POST the form to `path` without following."""
    html = await (await client.get(page or path)).text()
    found = CSRF.search(html)
    assert found, f'{page or path} has a form with a CSRF token'
    return await client.post(path, data={**(data or {}), 'csrf_token': found.group(1)}, allow_redirects=False)


async def outbox(pg: asyncpg.Pool, purpose: str = 'sign-in') -> list[asyncpg.Record]:
    return list(await pg.fetch('select * from notifications where purpose = $1 order by created_at', purpose))


async def sign_in(client: TestClient, pg: asyncpg.Pool, email: str) -> ClientResponse:
    """Ask for a sign-in link for `email`, then use the link from the outbox; the answer to using it."""
    before = len(await outbox(pg))
    asked = await post_form(client, '/manage', {'address': email})
    assert asked.status == 303
    sent = await outbox(pg)
    assert len(sent) == before + 1, 'a sign-in link was queued'
    path = sent[-1]['personalisation']['sign_in_url'].removeprefix(PUBLIC)
    return await post_form(client, path)


def without_nonce(html: str) -> str:
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)
