"""Each worker answers for itself: `tellme check-worker --pid PID | --id ID` and the worker's own /livez and /readyz
(TELLME_WORKER_PROBE_PORT) say whether THAT worker's heartbeat is fresh and its sender going round, while another
worker carries on; `tellme check-worker` alone still passes while any worker is alive."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import aiohttp
import asyncpg
import pytest

from notifier.settings import Settings
from notifier.shell.embedded import free_port
from tests.conftest import Services
from tests.support.cli import tellme
from tests.support.notify import RunningSim
from tests.support.waiting import wait_until
from tests.support.worker import Workers, worker_in_a_task

BEAT = 0.2  # seconds between heartbeats: stale after 0.5 s


async def probe(port: int, path: str, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        async with http.get(f'http://127.0.0.1:{port}{path}', timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
            return answer.status, await answer.json()


async def worker_id(pg: asyncpg.Pool, pid: int) -> str | None:
    return await pg.fetchval('select worker_id from worker_heartbeats where pid = $1', pid)


@pytest.mark.timeout(180)
async def test_one_workers_probe_goes_stale_when_its_heartbeat_stops_while_another_worker_is_alive(
    workers: Workers, services: Services, pg: asyncpg.Pool
) -> None:
    ports = free_port(), free_port()
    first, second = (
        workers.start(TELLME_WORKER_HEARTBEAT_SECONDS=str(BEAT), TELLME_WORKER_PROBE_PORT=str(port)) for port in ports
    )

    async def both_beating() -> bool:
        return all([await worker_id(pg, first.pid), await worker_id(pg, second.pid)])

    await wait_until(both_beating, timeout=30)
    first_id = await worker_id(pg, first.pid)
    beat = {'TELLME_WORKER_HEARTBEAT_SECONDS': str(BEAT)}
    code, out, _ = await tellme(services, 'check-worker', '--pid', str(first.pid), **beat)
    assert code == 0 and f'worker {first_id}: last heartbeat' in out and 'fresh' in out, out
    assert (await tellme(services, 'check-worker', '--id', str(first_id), **beat))[0] == 0
    status, body = await probe(ports[0], '/readyz')
    assert status == 200 and body['worker_id'] == first_id and body['problems'] == [], body

    first.send_signal(signal.SIGSTOP)  # its heartbeat stops (so does everything else in it)
    try:
        await asyncio.sleep(BEAT * 4)
        code, out, _ = await tellme(services, 'check-worker', '--pid', str(first.pid), **beat)
        assert code == 1 and 'stale' in out, out
        assert (await tellme(services, 'check-worker', '--id', str(first_id), **beat))[0] == 1
        assert (await tellme(services, 'check-worker', '--pid', str(second.pid), **beat))[0] == 0
        assert (await tellme(services, 'check-worker'))[0] == 0  # any worker: one is alive
        assert (await probe(ports[1], '/readyz'))[0] == 200
        with pytest.raises(TimeoutError):  # a stopped process answers nothing: the orchestrator's probe fails too
            await probe(ports[0], '/readyz', timeout=1)
    finally:
        first.send_signal(signal.SIGCONT)

    async def fresh_again() -> bool:
        return (await probe(ports[0], '/readyz'))[0] == 200

    await wait_until(fresh_again, timeout=10)
    assert (await tellme(services, 'check-worker', '--pid', str(first.pid), **beat))[0] == 0
    code, out, _ = await tellme(services, 'check-worker', '--id', 'somewhere:1:gone', **beat)
    assert (code, out) == (1, 'worker somewhere:1:gone: no heartbeat\n')


async def test_a_workers_own_probe_is_unready_without_its_heartbeat_and_dead_when_its_sender_is_stuck(
    services: Services, sim: RunningSim, pg: asyncpg.Pool, redis: Any
) -> None:
    port = free_port()
    settings = Settings(
        database_url=services.database_url, redis_url=services.redis_url, notify_api_key=sim.key,
        notify_base_url=sim.url, worker_probe_port=port, worker_heartbeat_seconds=BEAT, worker_stuck_after=1.5,
    )  # fmt: skip
    async with worker_in_a_task(settings, cron_jobs=[]) as worker:

        async def started() -> bool:
            return 'probe' in worker.ctx

        await wait_until(started, timeout=10)
        status, body = await probe(port, '/readyz')
        assert status == 200 and body['status'] == 'ok', body
        assert body['worker_id'] == worker.ctx['heartbeat'].worker_id

        worker.ctx['heartbeat']._task.cancel()  # its heartbeat stops: the database no longer hears from it

        async def unready() -> bool:
            return (await probe(port, '/readyz'))[0] == 503

        await wait_until(unready, timeout=5)
        status, body = await probe(port, '/readyz')
        assert body['status'] == 'unready' and body['problems'][0].startswith('last heartbeat'), body
        assert (await probe(port, '/livez'))[0] == 200  # alive: a restart would not make the database hear it

        released = asyncio.Event()

        async def claim_that_never_returns(*args: Any, **kwargs: Any) -> list[Any]:
            await released.wait()  # as a database that stops answering mid-claim would
            return []

        worker.ctx['sender'].claim_ready = claim_that_never_returns
        try:

            async def stuck() -> bool:
                return (await probe(port, '/livez'))[0] == 503

            await wait_until(stuck, timeout=10)
            status, body = await probe(port, '/livez')
            assert body['status'] == 'stuck' and 'the sender has not gone round its loop' in body['problems'][0]
        finally:
            released.set()
