"""How fast one process can send through Notify's API shape, measured against the simulator.

Side by side in one run: the official synchronous client (one request at a time, as its docs use it) and our
async client at concurrency 1 and 32. The simulator's rate limit is raised out of the way, so this measures
client + simulator cost per request, i.e. the headroom we have over Notify's 50 requests/s default.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid

import aiohttp
from notifications_python_client import NotificationsAPIClient

from notifier.notify_sim.rules import keys as sim_keys
from notifier.notify_sim.runner import SimulatorThread
from notifier.notify_sim.simulator import Simulator
from notifier.sending.notify_client import NotifyClient

TEMPLATE = '7f0b7c3e-5c8d-4b59-9a8e-0d1e3f4a5b60'
PERSONALISATION = {'title': 'Rear extension', 'url': 'https://example.gov.uk/e/1', 'unsubscribe_url': 'x'}
SENDS = 1000
ROUNDS = 3


def _official(url: str, key: str) -> float:
    client = NotificationsAPIClient(key, base_url=url)
    start = time.perf_counter()
    for _ in range(SENDS):
        client.send_email_notification('resident@example.com', TEMPLATE, PERSONALISATION, str(uuid.uuid4()))
    return SENDS / (time.perf_counter() - start)


async def _ours(url: str, key: str, concurrency: int) -> float:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        client = NotifyClient(http, key, url)
        queue = iter(range(SENDS))

        async def sender() -> None:
            for _ in queue:
                await client.send_email(
                    email_address='resident@example.com',
                    template_id=TEMPLATE,
                    personalisation=PERSONALISATION,
                    reference=str(uuid.uuid4()),
                )

        start = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return SENDS / (time.perf_counter() - start)


def main() -> None:
    key = sim_keys.generate_api_key('bench')
    sim = Simulator(
        sim_keys.build_services([{'api_key': key, 'type': 'live'}]),
        sim_keys.load_templates(sim_keys.DEFAULT_TEMPLATES_PATH),
        rate_limit_per_minute=10_000_000,
        status_delay=3600,
    )
    results: dict[str, list[float]] = {'official client, sequential': [], 'ours, concurrency 1': [], 'ours, 32': []}
    with SimulatorThread(sim) as running:
        for _ in range(ROUNDS):  # interleaved rounds, so machine noise hits every variant alike
            results['official client, sequential'].append(_official(running.url, key))
            results['ours, concurrency 1'].append(asyncio.run(_ours(running.url, key, 1)))
            results['ours, 32'].append(asyncio.run(_ours(running.url, key, 32)))
            running.call(sim.reset)
    base = statistics.median(results['official client, sequential'])
    sys.stdout.write(f'{SENDS} emails per round, {ROUNDS} rounds, median sends/s (ratio to the official client)\n')
    for name, rates in results.items():
        median = statistics.median(rates)
        sys.stdout.write(f'  {name:<30} {median:8.0f}/s  x{median / base:.2f}\n')
    sys.stdout.write("  Notify's default limit: 50/s per key type; we send at most 47.5/s\n")
