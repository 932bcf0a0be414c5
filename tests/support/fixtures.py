"""The fixtures any folder's tests may use, declared once (tests/conftest.py registers this module as a plugin):

* `settings`: the app's settings (tests/support/app.py), with the overrides of a `@pytest.mark.settings(…)` on the
  test, its class or its module; a folder's conftest may override the fixture itself.
* `client`: the app on those settings through pytest-aiohttp's test client, on an emptied database and Redis.
* `browser`: a resident's web client on the sign-up journeys (tests/support/journey.py).
* `api`: the app's /api as a council system calls it (tests/support/api.py), on the delivery settings with the
  Notify simulator behind it; no token is sent unless the test makes one (a module may give it a default).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from notifier.settings import Settings
from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.api import Api
from tests.support.app import settings_for
from tests.support.journey import Browser, make_browser
from tests.support.notify import RunningSim


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line('markers', 'settings(**overrides): what the `settings` fixture changes for these tests')


@pytest.fixture
def settings(services: Services, request: pytest.FixtureRequest) -> Settings:
    """settings_for's settings, with the overrides of every `settings` mark on the test (the nearest wins)."""
    overrides: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers('settings'))):
        overrides |= mark.kwargs
    return settings_for(services, **overrides)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, pg: asyncpg.Pool, redis: Redis) -> TestClient:
    """The app on `settings`, through the test client; the database and Redis are emptied afterwards."""
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def browser(aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis) -> Browser:
    """A resident's web client on the sign-up journeys, with the sample postcodes loaded."""
    return await make_browser(aiohttp_client, services, pg)


@pytest.fixture
async def api(aiohttp_client: Any, pg: asyncpg.Pool, delivery_settings: Settings, sim: RunningSim) -> Api:
    """The app's /api, called as a council system calls it."""
    return Api(await aiohttp_client(create_app(delivery_settings)), pg, delivery_settings)
