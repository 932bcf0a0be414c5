"""Callbacks to the service: delivery receipts and inbound SMS, retried the way Notify retries them.

A POST with `Authorization: Bearer <token>` and a 5 s timeout. Connection errors, timeouts, 5xx and 429 are retried
up to 5 times, `retry_interval` seconds apart (Notify: 5 minutes); any other 4xx is final.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

logger = logging.getLogger('notifier.notify_sim.callbacks')

TIMEOUT_SECONDS = 5.0
MAX_RETRIES = 5


@dataclass
class CallbackAttempt:
    kind: str  # delivery-status | inbound-sms
    object_id: str
    url: str
    attempt: int
    outcome: str  # an HTTP status code, or the exception class name
    retrying: bool
    at: float
    payload: dict[str, Any]


class CallbackSender:
    def __init__(self, token: str | None, retry_interval: float = 300.0, timeout: float = TIMEOUT_SECONDS) -> None:
        self.token = token
        self.retry_interval = retry_interval
        self.timeout = timeout
        self.log: list[CallbackAttempt] = []
        self._lock = threading.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, kind: str, url: str, payload: dict[str, Any]) -> None:
        """Schedule delivery on the running loop; never blocks the caller."""
        task = asyncio.get_running_loop().create_task(self._deliver(kind, url, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, payload: dict[str, Any]) -> int:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        headers = {'Authorization': f'Bearer {self.token}'} if self.token else {}
        async with self._session.post(url, json=payload, headers=headers) as response:
            await response.read()
            return response.status

    async def _deliver(self, kind: str, url: str, payload: dict[str, Any]) -> None:
        object_id = str(payload.get('id'))
        for attempt in range(1, MAX_RETRIES + 2):
            try:
                status = await self._post(url, payload)
                outcome, retryable = str(status), status >= 500 or status == 429
                failed = status >= 400
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome, retryable, failed = type(exc).__name__, True, True
            retrying = failed and retryable and attempt <= MAX_RETRIES
            with self._lock:
                self.log.append(CallbackAttempt(kind, object_id, url, attempt, outcome, retrying, time.time(), payload))
            logger.info('%s callback for %s attempt %d: %s', kind, object_id, attempt, outcome)
            if not retrying:
                if failed:
                    logger.warning('%s callback for %s given up after %d attempts', kind, object_id, attempt)
                return
            await asyncio.sleep(self.retry_interval)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(entry) for entry in self.log]

    def clear(self) -> None:
        with self._lock:
            self.log.clear()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
