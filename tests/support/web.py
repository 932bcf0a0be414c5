"""A real `tellme web` process for tests (this module holds no tests): on the suite's database and Redis, on a port of
its own, its log (stdout and stderr) piped for the test to read. aiohttp's test server hides what the process does on
signals and on clients that hang up, so the tests of those start this."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING

import aiohttp

from tests.support import ROOT
from tests.support.app import SECRET

if TYPE_CHECKING:  # conftest imports the support modules
    from tests.conftest import Services


async def start_web(services: Services, port: int, **settings: str) -> asyncio.subprocess.Process:
    """`python -m notifier web` on `port`, with `settings` as TELLME_ variables (`LOG_LEVEL='INFO'`, say), and no
    TELLME_ variable of the caller's environment."""
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith('TELLME_')}
        | {
            'TELLME_DATABASE_URL': services.database_url,
            'TELLME_REDIS_URL': services.redis_url,
            'TELLME_SECRET_KEY': SECRET,
            'TELLME_PORT': str(port),
        }
        | {f'TELLME_{name}': value for name, value in settings.items()}
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, '-m', 'notifier', 'web', cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def wait_serving(port: int, tries: int = 600) -> None:
    """Until GET /livez answers 200 (a busy machine is slow to start one), each try on a connection of its own."""
    for _ in range(tries):
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
                async with http.get(f'http://127.0.0.1:{port}/livez') as response:
                    if response.status == 200:
                        return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f'tellme web did not answer /livez on port {port}')
