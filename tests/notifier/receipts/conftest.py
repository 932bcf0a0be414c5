"""What Notify posts to us: `app`, the app on the delivery settings (with Notify's callback token), through the test
client."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from notifier.settings import Settings
from notifier.shell.app import create_app


@pytest.fixture
async def app(delivery_settings: Settings, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(create_app(delivery_settings))
