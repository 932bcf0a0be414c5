"""The issue's acceptance tests for delivery: real worker processes (`python -m notifier worker`), real PostgreSQL
and Redis, the simulator in this process. Every notification must reach the simulator exactly once (count per
reference) through racing workers, a SIGKILLed worker and a flushed Redis."""

from __future__ import annotations

import collections
import signal
from datetime import timedelta

import asyncpg
from redis.asyncio import Redis

from notifier.outbox import queue
from notifier.sending.delivery import Sender
from tests.support.notify import RunningSim, many_notifications
from tests.support.waiting import wait_until
from tests.support.worker import Workers
from workers import sweeper


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
