"""Our API as a council's systems call it (this module holds no tests): tokens made as `tellme staff create-token`
makes them, and JSON in and out with a bearer token per call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from notifier.api import auth as api_auth
from notifier.settings import Settings


async def new_token(pg: asyncpg.Pool, role: str = 'system', *, name: str | None = None, **scope: Any) -> str:
    """A new API token for `role` (`scope`: sources=, may_verify=, days=), named '<role> token' unless given."""
    async with pg.acquire() as conn:
        _, token = await api_auth.create_token(conn, name=name or f'{role} token', role=role, **scope)
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token` (none for an empty one)."""
    return {'Authorization': f'Bearer {token}'} if token else {}


@dataclass
class Api:
    """The app's /api as a client system calls it: `token` goes with every call that names no other ('' sends
    none)."""

    client: TestClient
    pg: asyncpg.Pool
    settings: Settings
    token: str = ''

    async def new_token(self, role: str = 'system', *, name: str | None = None, **scope: Any) -> str:
        return await new_token(self.pg, role, name=name, **scope)

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """The status and the JSON of the answer."""
        headers = bearer(self.token if token is None else token)
        response = await self.client.request(method, path, json=body, headers=headers)
        return response.status, await response.json()

    async def post(self, path: str, body: Any, token: str | None = None) -> tuple[int, Any]:
        return await self.call('POST', path, body, token)

    async def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        return await self.call('GET', path, token=token)

    async def count(self, table: str) -> int:
        return await self.pg.fetchval(f'select count(*) from {table}')

    async def outbox(self, purpose: str) -> list[asyncpg.Record]:
        """The notifications written for `purpose`, oldest first."""
        return await self.pg.fetch('select * from notifications where purpose = $1 order by created_at', purpose)
