"""What the manage, your-data and event page tests share (this module holds no tests): the settings the residents'
pages run with (tests/subscriptions/conftest.py), the outbox, and signing in with the link we sent."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.support.pages import post_form

SECRET = 'manage-pages-secret'
PUBLIC = 'http://tellme.example.gov.uk'  # http: the test client sends no Secure cookies
PAGES: dict[str, Any] = {'secret_key': SECRET, 'public_url': PUBLIC, 'council_name': 'Testshire Council'}


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
