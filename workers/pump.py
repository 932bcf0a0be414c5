"""Each worker process's sender: claims ready outbox rows in small batches and sends them through the shared limiter.

`concurrency` sends may be in flight at once (in flight ≈ rate × Notify's latency; TELLME_SENDER_CONCURRENCY); rows
are claimed only when a slot is free, in batches no larger than the free slots (nor than `batch`,
TELLME_SENDER_BATCH), so a killed process strands at most `concurrency` rows in `sending` (claimed in its name: the
sweeper takes them back once its heartbeat lapses and looks each up at Notify by reference). When nothing is ready
it waits for a wake-up published on `notifier:wake` (see notifier.outbox.queue) or `poll` seconds, whichever comes
first. Rows of a channel parked for the day are left in the outbox.

Stopping: `drain()` (on SIGTERM) stops claiming at once and lets the sends in flight finish; `stop()` then waits for
them (up to its timeout) and gives back every row claimed but not started, so a stopped worker leaves nothing
`sending`. `idle_for()` is how long since any slot last went round its loop: a pump that has not for minutes is stuck
(the worker's probe says so).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from notifier.outbox.queue import WAKE_CHANNEL
from notifier.sending.delivery import Claimed, Sender

logger = logging.getLogger('notifier.pump')


class Pump:
    def __init__(
        self, sender: Sender, redis: Redis, *, concurrency: int = 16, batch: int | None = None, poll: float = 1.0
    ) -> None:
        self.sender, self.redis = sender, redis
        self.concurrency, self.poll = concurrency, poll
        self.batch = batch or concurrency
        self.sent = 0
        self.last_turn = time.monotonic()
        self._buffer: collections.deque[Claimed] = collections.deque()
        self._claim_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._waiting = 0  # slots asking for a row: a claim takes no more than this
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._slot(), name=f'sender-{n}') for n in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._listen(), name='sender-wake'))

    def idle_for(self) -> float:
        """Seconds since a slot last went round its loop (claimed, sent, or found nothing and waited)."""
        return time.monotonic() - self.last_turn

    def drain(self) -> None:
        """Claim nothing more; the sends in flight go on (stop() waits for them and gives back what is left)."""
        self._stopping = True
        self._wake.set()

    async def stop(self, timeout: float = 20.0) -> None:
        """Finish the sends in flight (up to `timeout`), then give back rows claimed but not started."""
        self.drain()
        slots, listener = self._tasks[:-1], self._tasks[-1:]
        for task in listener:
            task.cancel()
        if slots:
            _, pending = await asyncio.wait(slots, timeout=timeout)
            for task in pending:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        leftover = [row.id for row in self._buffer]
        self._buffer.clear()
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self.sender.release(leftover)

    async def _slot(self) -> None:
        while not self._stopping:
            row = await self._next()
            if row is None:
                return
            try:
                if await self.sender.send(row) == 'sent':
                    self.sent += 1
            except Exception:  # noqa: BLE001 - one bad row must not stop this process's sending
                # the row stays `sending`; the sweeper reconciles it by reference
                logger.exception('sending stopped half-way', extra={'notification_id': str(row.id)})
                await asyncio.sleep(self.poll)
            self.last_turn = time.monotonic()

    async def _next(self) -> Claimed | None:
        self._waiting += 1
        try:
            return await self._take()
        finally:
            self._waiting -= 1

    async def _take(self) -> Claimed | None:
        while not self._stopping:
            self.last_turn = time.monotonic()
            if self._buffer:
                return self._buffer.popleft()
            async with self._claim_lock:
                if self._buffer or self._stopping:
                    continue
                try:
                    parked = await self.sender.limiter.parked_channels()
                    limit = min(self._waiting, self.batch)
                    rows = await self.sender.claim_ready(limit, skip_channels=parked)
                except (OSError, asyncpg.PostgresError, RedisError) as exc:
                    logger.warning('could not claim rows: %s', exc)
                    rows = []
                if self._stopping:
                    self._buffer.extend(rows)
                    return None
                if rows:
                    self._buffer.extend(rows)
                    continue
                self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
        return None

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(WAKE_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get('type') == 'message':
                            self._wake.set()
            except (OSError, RedisError) as exc:
                logger.warning('wake-ups lost (%s); polling until Redis is back', exc)
                await asyncio.sleep(self.poll)
