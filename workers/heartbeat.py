"""Each worker process says it is alive, in the database, every TELLME_WORKER_HEARTBEAT_SECONDS (10 by default), under
an id of its own: `hostname:pid:random` (the hostname and pid also have columns of their own).

A background task rather than an arq cron: cron jobs go through the shared queue and any worker may
run them, so they cannot tell which process is alive. A heartbeat is stale after 2.5 intervals
(Settings.worker_stale_after): /healthz counts the fresh ones, `tellme check-worker --id ID | --pid PID` asks about
one worker, the worker's own probe (workers/probe.py) reads its last successful beat from memory, and the sweeper
takes back the messages a worker with a stale heartbeat had claimed (workers/sweeper.py): a row's `claimed_by` is
this id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from datetime import UTC, datetime

import asyncpg

logger = logging.getLogger('notifier.heartbeat')

HEARTBEAT_SECONDS = 10.0
# Rows of workers that died without saying goodbye (kill -9, a lost host) are removed after this long.
FORGET_AFTER_HOURS = 24

UPSERT = """
insert into worker_heartbeats (worker_id, hostname, pid, started_at, last_seen_at)
values ($1, $2, $3, $4, now())
on conflict (worker_id) do update set last_seen_at = now()
"""


class Heartbeat:
    def __init__(self, pool: asyncpg.Pool, every: float = HEARTBEAT_SECONDS) -> None:
        self.pool, self.every = pool, every
        self.worker_id = f'{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}'
        self.started_at = datetime.now(UTC)
        self.last_beat = float('-inf')  # time.monotonic() of the last beat the database recorded
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        await self.pool.execute(UPSERT, self.worker_id, socket.gethostname(), os.getpid(), self.started_at)
        self.last_beat = time.monotonic()

    def age(self) -> float:
        """Seconds since the database last recorded this worker's heartbeat."""
        return time.monotonic() - self.last_beat

    async def start(self) -> None:
        await self.beat()
        self._task = asyncio.create_task(self._loop(), name='worker-heartbeat')

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.beat()
            except (OSError, asyncpg.PostgresError) as exc:
                # The database being away is reported by /healthz and this worker's probe; the worker keeps going.
                logger.warning('heartbeat not recorded: %s', exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self.pool.execute('delete from worker_heartbeats where worker_id = $1', self.worker_id)


ALIVE = 'select count(*) from worker_heartbeats where last_seen_at > now() - make_interval(secs => $1)'


async def alive(pool: asyncpg.Pool, stale_after: float) -> int:
    """How many workers have a heartbeat fresher than `stale_after` seconds (/healthz and /metrics count them)."""
    return int(await pool.fetchval(ALIVE, float(stale_after)))


async def forget_dead_workers(pool: asyncpg.Pool) -> int:
    status = await pool.execute(
        'delete from worker_heartbeats where last_seen_at < now() - make_interval(hours => $1)', FORGET_AFTER_HOURS
    )
    return int(status.split()[-1])


FRESH = """
select worker_id, extract(epoch from now() - last_seen_at)::float8 as seconds_ago
from worker_heartbeats
where ($1::text is null or worker_id = $1) and ($2::int is null or (pid = $2 and hostname = $3))
order by last_seen_at desc
limit 1
"""


async def last_seen(
    conn: asyncpg.Connection | asyncpg.Pool, *, worker_id: str | None = None, pid: int | None = None
) -> tuple[str, float] | None:
    """(worker id, seconds since its last heartbeat) of the worker with this id, or with this pid on this host (the
    host that asks: a pid means nothing elsewhere); None when it has no heartbeat at all."""
    row = await conn.fetchrow(FRESH, worker_id, pid, socket.gethostname())
    return (row['worker_id'], row['seconds_ago']) if row else None
