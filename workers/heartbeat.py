"""Each worker process says it is alive, in the database, every HEARTBEAT_SECONDS.

A background task rather than an arq cron: cron jobs go through the shared queue and any worker may
run them, so they cannot tell which process is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import UTC, datetime

import asyncpg

logger = logging.getLogger('notifier.heartbeat')

HEARTBEAT_SECONDS = 30
# Rows of workers that died without saying goodbye (kill -9, a lost host) are removed after this long.
FORGET_AFTER_HOURS = 24

UPSERT = """
insert into worker_heartbeats (worker_id, hostname, pid, started_at, last_seen_at)
values ($1, $2, $3, $4, now())
on conflict (worker_id) do update set last_seen_at = now()
"""


class Heartbeat:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.worker_id = f'{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}'
        self.started_at = datetime.now(UTC)
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        await self.pool.execute(UPSERT, self.worker_id, socket.gethostname(), os.getpid(), self.started_at)

    async def start(self) -> None:
        await self.beat()
        self._task = asyncio.create_task(self._loop(), name='worker-heartbeat')

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.beat()
            except (OSError, asyncpg.PostgresError) as exc:
                # The database being away is reported by /healthz; the worker keeps going.
                logger.warning('heartbeat not recorded: %s', exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self.pool.execute('delete from worker_heartbeats where worker_id = $1', self.worker_id)


async def forget_dead_workers(pool: asyncpg.Pool) -> int:
    status = await pool.execute(
        'delete from worker_heartbeats where last_seen_at < now() - make_interval(hours => $1)', FORGET_AFTER_HOURS
    )
    return int(status.split()[-1])
