"""Shared by the case officer tests: the app with the simulator's receipts (the `office` fixture,
tests/sources/cases/conftest.py), staff signed in through the real sign-in form, and a case pushed by a case
system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from notifier.settings import Settings
from tests.support.api import new_token
from tests.support.notify import RunningSim
from tests.support.pages import post_form
from tests.support.staff import sign_in_as

REFERENCE = 'FMS-20417'
SOURCE = 'fixmystreet'
REPORTER = 'reporter@example.com'
CONSENT = {'given': True, 'wording': 'Tell me by email when my report changes', 'at': '2026-03-01T09:00:00Z'}


@dataclass
class Office:
    client: TestClient
    pg: asyncpg.Pool
    settings: Settings
    sim: RunningSim

    async def staff(self, email: str, *roles: str) -> None:
        """Sign in as a new member of staff with these roles (through the sign-in form)."""
        await sign_in_as(self.client, self.pg, email, *roles)

    async def token(self, role: str, **options: Any) -> str:
        return await new_token(self.pg, role, **options)

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
        return await post_form(self.client, path, data)

    async def page(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status == 200, await response.text()
        return await response.text()
