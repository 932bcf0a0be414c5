"""Workers for tests (this module holds no tests): an arq worker with its sender run in a task of the test's own event
loop (`worker_in_a_task`), and real worker processes (`Workers`: `python -m notifier worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notifier.settings import Settings
from tests.support import ROOT
from workers.settings import make_worker

if TYPE_CHECKING:  # conftest imports the support modules
    from tests.conftest import Services
    from tests.support.notify import RunningSim


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


class Workers:
    """`tellme worker` processes on the suite's database and Redis, sending to `sim`; each one's log in `logs`."""

    def __init__(self, services: Services, sim: RunningSim, logs: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith('TELLME_')} | {
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

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        """One more worker process, with these TELLME_* variables besides (e.g. TELLME_WORKER_PROBE_PORT='8093')."""
        log = (self.logs / f'worker-{len(self.processes)}.log').open('wb')
        process = subprocess.Popen(
            [sys.executable, '-m', 'notifier', 'worker'], cwd=ROOT, env=self.env | env, stdout=log, stderr=log
        )
        self.processes.append(process)
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        return (self.logs / f'worker-{self.processes.index(process)}.log').read_text(errors='replace')

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a test may have stopped one
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(25)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
