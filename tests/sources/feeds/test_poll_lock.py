"""While the cron's poll waits on a slow feed, it holds no connection of the worker's pool (the senders need them),
the source is still polled once at a time, and `tellme sources set|reset-cursor` wait for it to finish."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from notifier import db
from sources.feeds import edit, registry
from sources.feeds.polling import poll_source
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.feeds import add_slow_source
from workers.polling import poll_due_sources


async def test_a_slow_feed_pins_no_worker_connection_and_a_second_poll_is_busy(
    services: Services, pg: asyncpg.Pool, aiohttp_server: Any
) -> None:
    slow = await add_slow_source(pg, aiohttp_server)
    worker_pool = await asyncpg.create_pool(services.database_url, min_size=2, max_size=2, init=db._init_connection)
    assert worker_pool is not None
    try:
        settings = settings_for(services, secret_key='poll-lock-test-key')
        ctx = {'pg': worker_pool, 'redis': None, 'settings': settings}
        polling = asyncio.create_task(poll_due_sources(ctx))
        await asyncio.wait_for(slow.arrived.wait(), 10)
        async with asyncio.timeout(5), worker_pool.acquire() as one, worker_pool.acquire() as two:
            assert (await one.fetchval('select 1'), await two.fetchval('select 2')) == (1, 2)
        assert (await poll_source(worker_pool, 'slow')).outcome == 'busy'
        with pytest.raises(registry.SourceConfigError, match='slow is being polled right now: try again'):
            await edit.reset_cursor(worker_pool, 'slow', None)  # the running poll would write it back
        slow.release.set()
        assert await asyncio.wait_for(polling, 10) == {'ok': 1}
        assert (await poll_source(worker_pool, 'slow')).outcome == 'ok'  # the lock was released
    finally:
        slow.release.set()
        await worker_pool.close()
