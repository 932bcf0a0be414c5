"""A worker stopped as an orchestrator stops it (SIGTERM) while it is sending: it claims nothing more, the sends in
flight finish, the rows it had claimed but not started go back to the outbox (not `sending`, so the sweeper has
nothing to repair), and it exits 0 within TELLME_SHUTDOWN_GRACE. A real `tellme worker` process; Notify (the
simulator) takes a second over every send."""

from __future__ import annotations

import asyncio
import collections
import signal
import time

import asyncpg
import pytest

from tests.support.notify import RunningSim, many_notifications
from tests.support.waiting import wait_until
from tests.support.worker import Workers

GRACE, SLOW = 10.0, 1.0


async def statuses(pg: asyncpg.Pool) -> dict[str, int]:
    rows = await pg.fetch('select status, count(*) as n from notifications group by status')
    return {row['status']: row['n'] for row in rows}


@pytest.mark.timeout(120)
async def test_a_worker_stopped_mid_send_finishes_or_gives_back_everything_it_holds(
    workers: Workers, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    await many_notifications(pg, 200)
    await sim.fault({'action': 'slow', 'delay': SLOW, 'count': 10_000})  # every send takes SLOW seconds
    worker = workers.start(TELLME_SHUTDOWN_GRACE=str(GRACE), TELLME_SENDER_CONCURRENCY='8', TELLME_SENDER_BATCH='4')

    async def sending() -> bool:
        return (await statuses(pg)).get('sending', 0) >= 8

    await wait_until(sending, timeout=30)
    worker.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    code = await asyncio.to_thread(worker.wait, GRACE + 5)
    took = time.monotonic() - signalled
    assert code == 0, workers.log(worker)
    assert took < GRACE

    left = await statuses(pg)
    assert 'sending' not in left, left  # nothing for the sweeper
    assert left.get('sent', 0) >= 8 and left.get('pending', 0) > 0, left  # the sends in flight finished; it stopped
    assert sum(left.values()) == 200
    # what it had claimed but not started is ready again at once, the attempt uncounted
    unsent = "select count(*) from notifications where status in ('pending', 'retry') and {}"
    assert await pg.fetchval(unsent.format('(attempts > 0 or not_before > now())')) == 0
    sent = {str(r['id']) for r in await pg.fetch("select id from notifications where status = 'sent'")}
    counts = collections.Counter(sim.references())
    assert set(counts) == sent and max(counts.values()) == 1  # Notify has exactly what we recorded as sent, once
