"""Run a Simulator on its own event loop in a background thread (for synchronous clients and `tellme dev`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from .server import serve
from .simulator import Simulator

T = TypeVar('T')


class SimulatorThread:
    """`with SimulatorThread(sim) as st: NotificationsAPIClient(key, base_url=st.url)`."""

    def __init__(self, sim: Simulator, host: str = '127.0.0.1', port: int = 0, start_timeout: float = 10.0) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self.url = ''
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> SimulatorThread:
        self._thread = threading.Thread(target=self._run, name='notify-sim', daemon=True)
        self._thread.start()
        if not self._ready.wait(self.start_timeout):
            raise RuntimeError('notify simulator did not start in time')
        if self._error is not None:
            raise RuntimeError(f'notify simulator failed to start: {self._error}') from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.url = loop.run_until_complete(serve(self.sim, self.host, self.port))
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def call(self, fn: Callable[[], Awaitable[T]] | Callable[[], T], timeout: float = 10.0) -> Any:
        """Run `fn` on the simulator's loop (where its state lives) and return the result."""
        if self._loop is None:
            raise RuntimeError('simulator thread is not running')

        async def wrapper() -> Any:
            result = fn()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
