"""Shared by the case officer tests: the app with the simulator's receipts, staff signed in through the real
sign-in form, a case pushed by a case system, and small readers for the pages."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from notifier.api import auth as api_auth
from notifier.settings import Settings
from notifier.staff.accounts import add_staff
from tests.support.notify import CALLBACK_TOKEN, RunningSim

PASSWORD = 'correct horse battery staple'
REFERENCE = 'FMS-20417'
SOURCE = 'fixmystreet'
REPORTER = 'reporter@example.com'
CONSENT = {'given': True, 'wording': 'Tell me by email when my report changes', 'at': '2026-03-01T09:00:00Z'}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, 'no csrf field on the page'
    return found.group(1)


def text_of(page: str) -> str:
    """The page's words, tags stripped and spaces collapsed (what a person reads)."""
    return ' '.join(html.unescape(re.sub(r'<[^>]+>', ' ', page)).split())


def section(page: str, element_id: str) -> str:
    """The words inside the element with this id (a table or a paragraph)."""
    found = re.search(rf'<(\w+)[^>]* id="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f'no element #{element_id} on the page'
    return text_of(found.group(2))


@dataclass
class Office:
    client: TestClient
    pg: asyncpg.Pool
    settings: Settings
    sim: RunningSim

    async def staff(self, email: str, *roles: str) -> None:
        """Sign in as a new member of staff with these roles (through the sign-in form)."""
        async with self.pg.acquire() as conn:
            staff_id = await add_staff(conn, email, list(roles))
            await conn.execute(
                'update staff set password_hash = $2 where id = $1', staff_id, PasswordHasher().hash(PASSWORD)
            )
        self.client.session.cookie_jar.clear()
        page = await self.client.get('/staff/sign-in')
        form = {'csrf_token': csrf_of(await page.text()), 'email': email, 'password': PASSWORD, 'next': '/staff'}
        signed_in = await self.client.post('/staff/sign-in', data=form, allow_redirects=False)
        assert signed_in.status == 303, await signed_in.text()

    async def token(self, role: str, **options: Any) -> str:
        async with self.pg.acquire() as conn:
            _, token = await api_auth.create_token(conn, name=f'{role} token', role=role, **options)
        return token

    async def push(self, token: str, **body: Any) -> dict[str, Any]:
        """A case system's update through `POST /api/cases/{reference}/updates`."""
        update = {'source': SOURCE, 'status': 'confirmed', 'note': 'Thank you, we have your report.',
                  'occurred_at': '2026-03-01T09:05:00Z', 'title': 'Pothole on King Street'} | body  # fmt: skip
        response = await self.client.post(
            f'/api/cases/{REFERENCE}/updates', json=update, headers={'Authorization': f'Bearer {token}'}
        )
        answer = await response.json()
        assert response.status in (200, 201), answer
        return answer

    async def case_with_reporter(self, email: str = REPORTER) -> dict[str, Any]:
        """A case whose reporter the case system verified, so they are subscribed at once and hear version 1."""
        token = await self.token('system', sources=[SOURCE], may_verify=True)
        return await self.push(token, reporter={'email': email, 'verified': True, 'consent': CONSENT})

    async def form(self, path: str, data: dict[str, Any]) -> Any:
        """GET the page, then POST the form with its csrf token (without following the redirect)."""
        page = await self.client.get(path)
        assert page.status == 200, await page.text()
        return await self.client.post(path, data={'csrf_token': csrf_of(await page.text()), **data},
                                      allow_redirects=False)  # fmt: skip

    async def page(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status == 200, await response.text()
        return await response.text()


def receipts_to(client: TestClient, sim: RunningSim) -> None:
    """The simulator sends its delivery receipts to this app, quickly."""
    sim.sim.callback_url = str(client.make_url('/notify/callbacks/status'))
    sim.sim.callbacks.token = CALLBACK_TOKEN
    sim.sim.status_delay = 0.05


async def wait_until(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    assert await check()
