"""The metrics as Prometheus reads them: the web app's GET /metrics (the test client) and a real arq worker's own
port, while a message is queued, sent to the Notify simulator and its receipt comes back to the app."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from notifier.settings import Settings
from notifier.shell.app import create_app
from tests.support.app import PUBLIC
from tests.support.metrics import Scraped, scrape_url
from tests.support.notify import RunningSim, make_notification, receipts_to
from tests.support.waiting import wait_until
from tests.support.worker import worker_in_a_task
from workers import metrics as worker_metrics

# every process: what is counted in it, and what every scrape reads from the outbox
FAMILIES = {
    'tellme_notify_requests', 'tellme_notify_request_duration_seconds', 'tellme_send_limiter_wait_seconds',
    'tellme_notify_receipts', 'tellme_notify_receipt_lag_seconds', 'tellme_feed_polls',
    'tellme_feed_poll_duration_seconds', 'tellme_feed_records', 'tellme_feed_alerts',
    'tellme_matching_duration_seconds', 'tellme_matching_messages_per_event', 'tellme_digests_queued',
    'tellme_bin_reminders_queued', 'tellme_signups', 'tellme_confirmations', 'tellme_outbox_messages',
    'tellme_outbox_oldest_ready_age_seconds', 'tellme_workers_alive', 'tellme_notify_daily_messages',
    'tellme_notify_daily_limit_messages',
}  # fmt: skip
WEB_FAMILIES = {'tellme_http_requests', 'tellme_http_request_duration_seconds'}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


async def scrape(client: TestClient) -> Scraped:
    answer = await client.get('/metrics')
    assert answer.status == 200, await answer.text()
    assert answer.headers['Content-Type'].startswith('text/plain')
    return Scraped(await answer.text())


@pytest.fixture(autouse=True)
def uncached(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scrape reads the outbox afresh (in production a read is kept for a few seconds)."""
    monkeypatch.setattr(worker_metrics, 'CACHE_SECONDS', 0.0)


async def test_a_sent_and_delivered_message_moves_the_counters_on_both_endpoints(
    delivery_settings: Settings, sim: RunningSim, redis: Redis, pg: asyncpg.Pool, aiohttp_client: Callable[..., Any]
) -> None:
    web = await aiohttp_client(create_app(delivery_settings.model_copy(update={'public_url': PUBLIC})))
    receipts_to(web, sim)
    nid = await make_notification(pg)  # a confirmation email, queued before any worker runs

    before = await scrape(web)
    assert FAMILIES | WEB_FAMILIES <= set(before.families), sorted(FAMILIES | WEB_FAMILIES - set(before.families))
    assert before.value('tellme_outbox_messages', state='pending', channel='email') == 1
    assert before.value('tellme_outbox_oldest_ready_age_seconds', channel='email') >= 0
    assert before.value('tellme_notify_daily_limit_messages', channel='email') == 250_000

    port = free_port()
    settings = delivery_settings.model_copy(update={'worker_metrics_port': str(port)})
    worker_url = f'http://127.0.0.1:{port}/metrics'
    async with worker_in_a_task(settings, cron_jobs=[]):
        await wait_until(lambda: _serving(worker_url))
        first = await scrape_url(worker_url)
        assert FAMILIES <= set(first.families)
        assert first.value('tellme_workers_alive') >= 1
        # its sender found the message waiting, Notify took it, and its receipt comes back to the web app

        async def delivered() -> bool:
            return await pg.fetchval('select status from notifications where id = $1', nid) == 'delivered'

        await wait_until(delivered)
        worker_after = await scrape_url(worker_url)
    after = await scrape(web)

    # the test's web app and worker share one process, so one registry: the scrape before the worker started is the
    # worker's starting point too (its sender took the message as soon as it started)
    accepted = {'operation': 'send_email', 'outcome': 'accepted', 'kind': ''}
    assert worker_after.value('tellme_notify_requests_total', **accepted) == (
        before.value('tellme_notify_requests_total', **accepted) + 1
    )
    assert worker_after.value('tellme_notify_request_duration_seconds_count', operation='send_email') >= 1
    assert worker_after.value('tellme_send_limiter_wait_seconds_count', channel='email') >= 1
    receipt = {'channel': 'email', 'status': 'delivered', 'via': 'callback'}
    assert after.value('tellme_notify_receipts_total', **receipt) == before.value('tellme_notify_receipts_total',
                                                                                   **receipt) + 1  # fmt: skip
    assert after.value('tellme_notify_receipt_lag_seconds_count', channel='email') == (
        before.value('tellme_notify_receipt_lag_seconds_count', channel='email') + 1
    )
    # the outbox gauges: nothing left on its way, and the day's count has the message
    assert after.total('tellme_outbox_messages') == 0
    assert after.value('tellme_outbox_oldest_ready_age_seconds', channel='email') == 0
    assert after.value('tellme_notify_daily_messages', channel='email') == 1
    # the callback was counted by its route, and the scrapes too
    assert after.value('tellme_http_requests_total', route='/notify/callbacks/status', method='POST', status='200') >= 1
    assert after.value('tellme_http_requests_total', route='/metrics', method='GET', status='200') >= 1


async def _serving(url: str) -> bool:
    try:
        await scrape_url(url)
    except OSError:
        return False
    return True
