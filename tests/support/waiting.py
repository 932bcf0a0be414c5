"""Bounded waits for what happens in the background (a worker, the simulator's receipts): this module holds no
tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_until(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> None:
    """Ask `check()` every 0.05 s until it is true; after `timeout` seconds, assert it once more."""
    for _ in range(int(timeout / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    assert await check()
