"""`tellme web` stopped as an orchestrator stops it: SIGTERM while a slow request is in flight. /readyz answers 503 at
once (so a load balancer drains the process), the request in flight gets its answer, no new connection is accepted
after the drain, and the process exits 0 within TELLME_SHUTDOWN_GRACE. A real subprocess on a free port, the suite's
database and Redis, the Notify simulator in this test's event loop made slow for one request (/healthz asks it)."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest

from notifier.shell.embedded import free_port
from tests.conftest import Services
from tests.support.notify import RunningSim
from tests.support.web import start_web, wait_serving

GRACE, DRAIN, SLOW = 10.0, 1.0, 2.0


async def get(url: str) -> tuple[int, dict]:
    """One request on a connection of its own, as a load balancer's probe makes it."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            return response.status, await response.json()


@pytest.mark.timeout(120)
async def test_sigterm_drains_finishes_the_request_in_flight_and_exits_0_within_the_grace(
    services: Services, sim: RunningSim
) -> None:
    port = free_port()
    base = f'http://127.0.0.1:{port}'
    web = await start_web(
        services, port, NOTIFY_API_KEY=sim.key, NOTIFY_BASE_URL=sim.url, SHUTDOWN_GRACE=str(GRACE),
        SHUTDOWN_DRAIN=str(DRAIN), LOG_LEVEL='WARNING',
    )  # fmt: skip
    try:
        await wait_serving(port)
        assert (await get(f'{base}/readyz'))[0] == 200

        await sim.fault({'action': 'slow', 'delay': SLOW, 'count': 1, 'all_endpoints': True})
        started = time.monotonic()
        in_flight = asyncio.create_task(get(f'{base}/healthz'))  # asks Notify, which now takes SLOW seconds
        await asyncio.sleep(0.3)
        web.send_signal(signal.SIGTERM)
        signalled = time.monotonic()

        status, body = await get(f'{base}/readyz')  # at once: the load balancer takes it out
        assert (status, body['status']) == (503, 'stopping')
        assert (await get(f'{base}/livez'))[0] == 200  # still serving during the drain

        status, body = await in_flight  # answered, though the process was told to stop in the middle of it
        assert time.monotonic() - started >= SLOW
        assert status == 200 and body['checks']['notify']['ok'] is True, body

        code = await asyncio.wait_for(web.wait(), GRACE + 5)
        took = time.monotonic() - signalled
        assert code == 0, (await web.stdout.read()).decode() if web.stdout else code
        assert DRAIN <= took < GRACE
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(f'{base}/livez')  # nothing listens any more
    finally:
        if web.returncode is None:
            web.kill()
            await web.wait()
