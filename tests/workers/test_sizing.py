"""A worker is the size its settings say: its pool, arq's concurrent jobs, its sends in flight and claims, and the
grace it gives running jobs on SIGTERM; the web's pool likewise."""

from __future__ import annotations

import asyncpg
import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from notifier import db
from notifier.settings import Settings
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.notify import RunningSim
from tests.support.waiting import wait_until
from tests.support.worker import worker_in_a_task

SIZES = {'worker_database_pool': 3, 'worker_max_jobs': 7, 'sender_concurrency': 6, 'sender_batch': 2,
         'shutdown_grace': 12, 'shutdown_drain': 2}  # fmt: skip


async def test_a_worker_takes_its_sizes_from_the_settings(
    services: Services, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    settings = settings_for(services, sim, **SIZES)
    async with worker_in_a_task(settings, cron_jobs=[]) as worker:

        async def started() -> bool:
            return 'pump' in worker.ctx

        await wait_until(started, timeout=10)
        assert worker.ctx['pg'].get_max_size() == 3
        assert worker.max_jobs == 7 and worker._job_completion_wait == 12
        pump = worker.ctx['pump']
        assert (pump.concurrency, pump.batch, len(pump._tasks)) == (6, 2, 6 + 1)  # the slots and the wake-up listener


async def test_the_web_pool_and_the_statement_cache_come_from_the_settings(services: Services) -> None:
    pool = await db.create_pool(settings_for(services, web_database_pool=4))
    try:
        assert pool.get_max_size() == 4
    finally:
        await pool.close()
    assert Settings().statement_cache_size == 100  # asyncpg's own
    assert Settings(database_pooler='pgbouncer').statement_cache_size == 0  # behind PgBouncer in transaction mode
    assert Settings(database_pooler='pgbouncer', database_statement_cache=50).statement_cache_size == 50
    assert Settings(database_pooler='pgbouncer', database_statement_cache='').statement_cache_size == 0  # empty: auto
    assert Settings(database_url='postgresql://a@pooler/x').direct_database_url == 'postgresql://a@pooler/x'
    direct = Settings(database_url='postgresql://a@pooler/x', migrate_database_url='postgresql://a@db/x')
    assert direct.direct_database_url == 'postgresql://a@db/x'
    assert Settings(worker_heartbeat_seconds=30).worker_stale_after == 75


def test_the_drain_must_fit_in_the_grace() -> None:
    with pytest.raises(ValidationError, match='TELLME_SHUTDOWN_DRAIN must be shorter than TELLME_SHUTDOWN_GRACE'):
        Settings(shutdown_grace=4)  # the default drain is 5 s
    assert Settings(shutdown_grace=4, shutdown_drain=0).shutdown_drain == 0
    with pytest.raises(ValidationError, match='pgbouncer'):
        Settings(database_pooler='pgpool')
