"""An arq worker with its sender, run in a task of the test's own event loop (this module holds no tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from notifier.settings import Settings
from workers.settings import make_worker


@contextlib.asynccontextmanager
async def worker_in_a_task(settings: Settings, **options: Any) -> AsyncIterator[Any]:
    """`make_worker(settings)` running until the block ends (no signal handlers, a short poll delay; `options` are
    make_worker's: `cron_jobs=[]`, say); then closed and its task cancelled."""
    worker = make_worker(settings, handle_signals=False, poll_delay=0.05, **options)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        await worker.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
