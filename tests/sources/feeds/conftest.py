"""The feed tests' fixture (tests/sources/feeds and its adapters/): `feeds`, a real HTTP feed server on a local port
whose documents a test sets (tests/support/feeds.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.feeds import FeedServer, start_feeds


@pytest.fixture
async def feeds(aiohttp_server: Any) -> FeedServer:
    """A FeedServer on a local port, stopped after the test; a test puts its documents in `feeds.docs`."""
    return await start_feeds(aiohttp_server)
