"""The issue's acceptance tests for delivery: real worker processes (`python -m notifier worker`), real PostgreSQL
and Redis, the simulator in this process. Every notification must reach the simulator exactly once (count per
reference) through racing workers, a SIGKILLed worker and a flushed Redis."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier.outbox import queue
from notifier.sending.delivery import Sender
from tests.conftest import Services
from tests.support import ROOT
from tests.support.notify import RunningSim, many_notifications
from tests.support.waiting import wait_until
from workers import sweeper


class Workers:
    def __init__(self, services: Services, sim: RunningSim, logs: Path) -> None:
        self.env = os.environ | {
            'TELLME_DATABASE_URL': services.database_url,
            'TELLME_REDIS_URL': services.redis_url,
            'TELLME_NOTIFY_API_KEY': sim.key,
            'TELLME_NOTIFY_BASE_URL': sim.url,
            'TELLME_SECRET_KEY': 'worker-tests-secret-' + 'w' * 32,
            'TELLME_NOTIFY_RATE_LIMIT': '600000',
            'TELLME_LOG_LEVEL': 'WARNING',
        }
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f'worker-{len(self.processes)}.log').open('wb')
        process = subprocess.Popen(
            [sys.executable, '-m', 'notifier', 'worker'], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(25)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def workers(services: Services, sim: RunningSim, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(services, sim, tmp_path)
    yield running
    running.stop_all()


async def sent_count(pg: asyncpg.Pool) -> int:
    return int(await pg.fetchval("select count(*) from notifications where status = 'sent'"))


def assert_each_sent_once(sim: RunningSim, expected: set[str]) -> None:
    counts = collections.Counter(sim.references())
    assert set(counts) == expected, f'{len(expected - set(counts))} never sent, {len(set(counts) - expected)} unknown'
    duplicated = {ref: n for ref, n in counts.items() if n > 1}
    assert not duplicated, f'{len(duplicated)} sent more than once'


async def all_references(pg: asyncpg.Pool) -> set[str]:
    return {str(r['id']) for r in await pg.fetch('select id from notifications')}


async def test_two_workers_racing_on_5000_notifications_send_each_exactly_once(
    workers: Workers, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    await many_notifications(pg, 5000)
    workers.start(), workers.start()

    async def done() -> bool:
        return await sent_count(pg) == 5000

    await wait_until(done, timeout=45)
    assert_each_sent_once(sim, await all_references(pg))
    assert await pg.fetchval('select max(attempts) from notifications') == 1


async def test_a_worker_killed_mid_run_and_started_again_loses_and_duplicates_nothing(
    workers: Workers, sim: RunningSim, pg: asyncpg.Pool, sender: Sender
) -> None:
    await many_notifications(pg, 1000)
    victim, _ = workers.start(), workers.start()

    async def some_sent() -> bool:
        return await sent_count(pg) >= 250

    await wait_until(some_sent, timeout=20)
    victim.send_signal(signal.SIGKILL)
    victim.wait(5)
    workers.start()

    async def only_stranded_left() -> bool:
        left = await pg.fetchval("select count(*) from notifications where status in ('pending', 'retry')")
        return left == 0

    await wait_until(only_stranded_left, timeout=30)

    async def live_workers_idle() -> bool:  # what is still `sending` now is only what the killed one held
        return await pg.fetchval("select count(*) from notifications where status = 'sending'") <= 16

    await wait_until(live_workers_idle, timeout=15)
    stranded = await pg.fetchval("select count(*) from notifications where status = 'sending'")
    # rows the killed worker had claimed: asked about at Notify by reference, then sent or found
    await sender.reconcile_stuck(sending_after=timedelta(seconds=0))

    async def done() -> bool:
        return await sent_count(pg) == 1000

    await wait_until(done, timeout=20)
    assert_each_sent_once(sim, await all_references(pg))
    assert stranded <= 16  # at most one claim's worth of rows per killed process


async def test_flushing_redis_mid_run_loses_nothing(
    workers: Workers, sim: RunningSim, pg: asyncpg.Pool, redis: Redis, sender: Sender
) -> None:
    await many_notifications(pg, 1000)
    # some of them also queued as single jobs, as a confirmation would be: those jobs are flushed away
    arq = await queue.connect(sender.settings)
    for record in await pg.fetch('select id from notifications limit 100'):
        await queue.enqueue_delivery(arq, record['id'])
    workers.start(), workers.start()

    async def some_sent() -> bool:
        return await sent_count(pg) >= 200

    await wait_until(some_sent, timeout=20)
    await redis.flushdb()  # the suite's Redis may be shared: flush our database, as flushall would

    async def done() -> bool:
        return await sent_count(pg) == 1000

    await wait_until(done, timeout=30)
    outcomes = await sweeper.sweep({'sender': sender, 'pg': pg, 'redis': arq})
    assert outcomes == {'callbacks': 0}  # nothing stuck, nothing to redo
    await arq.aclose()
    assert_each_sent_once(sim, await all_references(pg))
