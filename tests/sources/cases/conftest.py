"""The case officers' fixture: `office`, the app over plain HTTP (so the test client keeps the staff cookies) with
the Notify simulator's receipts coming back to it (tests/support/cases.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from notifier.settings import Settings
from notifier.shell.app import create_app
from tests.conftest import TRUNCATE_ALL
from tests.support.app import PUBLIC
from tests.support.cases import Office
from tests.support.notify import RunningSim, receipts_to


@pytest.fixture
async def office(
    aiohttp_client: Any, pg: asyncpg.Pool, delivery_settings: Settings, sim: RunningSim
) -> AsyncIterator[Office]:
    await pg.execute(TRUNCATE_ALL)  # whatever an earlier test left behind without the pg fixture
    assert all(link.ok for link in await sim.link(pg))  # linked again after the clean-up
    settings = delivery_settings.model_copy(update={'public_url': PUBLIC})  # cookies over plain HTTP
    client = await aiohttp_client(create_app(settings))
    receipts_to(client, sim)
    yield Office(client, pg, settings, sim)
