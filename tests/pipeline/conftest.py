"""End-to-end journeys: `running`, the app over HTTP with a real arq worker and its sender in the test's event
loop, and the Notify simulator sending its receipts back to the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from notifier.settings import Settings
from notifier.shell.app import create_app
from tests.support.app import PUBLIC
from tests.support.notify import RunningSim, receipts_to
from tests.support.worker import worker_in_a_task


@pytest.fixture
async def running(
    delivery_settings: Settings, sim: RunningSim, redis: Redis, pg: asyncpg.Pool, aiohttp_client: Callable[..., Any]
) -> AsyncIterator[TestClient]:
    """The app's test client; the worker sends with the delivery settings (links over https)."""
    # the app over plain HTTP, so the test client keeps the (otherwise Secure) staff cookies
    client = await aiohttp_client(create_app(delivery_settings.model_copy(update={'public_url': PUBLIC})))
    receipts_to(client, sim)
    async with worker_in_a_task(delivery_settings):
        yield client
