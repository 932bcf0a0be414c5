"""Tell Me behind PgBouncer in transaction mode (TELLME_DATABASE_POOLER=pgbouncer): a resident signs up on the pages,
confirms from the email the worker sent, and an event near them is delivered, with the web app and the worker both
connected through PgBouncer, where every transaction may get another server connection (so nothing may rely on a
session: prepared statements, session advisory locks). `tellme migrate` refuses the pooled URL and migrates on the
direct one. Skipped where Debian's `pgbouncer` is not installed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier import db
from notifier.settings import Settings
from notifier.shell.app import create_app
from sources.feeds.polling import poll_source
from tests.conftest import Services
from tests.support.api import bearer, new_token
from tests.support.app import PUBLIC
from tests.support.factories import load_sample_postcodes, place
from tests.support.feeds import add_slow_source
from tests.support.journey import Browser, choose_contact
from tests.support.notify import RunningSim, link_in, receipts_to
from tests.support.pgbouncer import Bouncer, binary, pgbouncer
from tests.support.waiting import wait_until
from tests.support.worker import worker_in_a_task

pytestmark = pytest.mark.skipif(
    binary() is None, reason='pgbouncer is not installed (Debian: apt-get install pgbouncer), so nothing runs behind it'
)
HOME = 'M32 0AH'


@pytest.fixture
def bouncer(services: Services) -> Iterator[Bouncer]:
    with pgbouncer(services.database_url) as running:
        yield running


@pytest.fixture
def pooled(delivery_settings: Settings, bouncer: Bouncer) -> Settings:
    """The delivery settings with every pool going through PgBouncer (the app over plain HTTP for its cookies)."""
    return delivery_settings.model_copy(
        update={'database_url': bouncer.url, 'database_pooler': 'pgbouncer', 'public_url': PUBLIC}
    )


async def statuses(pg: asyncpg.Pool, purpose: str) -> list[str]:
    rows = await pg.fetch('select status from notifications where purpose = $1', purpose)
    return [row['status'] for row in rows]


@pytest.mark.timeout(120)
async def test_sign_up_confirm_and_delivery_through_pgbouncer_in_transaction_mode(
    bouncer: Bouncer, pooled: Settings, aiohttp_client: Any, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    assert pooled.statement_cache_size == 0  # asyncpg's prepared statements would meet another server connection
    await load_sample_postcodes(pg)
    client = await aiohttp_client(create_app(pooled))
    receipts_to(client, sim)
    browser = Browser(client)
    async with worker_in_a_task(pooled):  # its pool and its feed-poll locks go through PgBouncer too
        page = await browser.submit('/near', {'postcode': HOME})
        assert page.path == '/near/radius', page.errors()
        await browser.submit('/near/radius', {'radius': '500'})
        await browser.submit('/near/topics', [('topics', 'planning')])
        page = await browser.submit('/near/frequency', {'frequency': 'immediate'})
        assert page.path == '/near/channel', page.errors()
        await choose_contact(browser, 'near', email='jo@example.com')
        sent = await browser.submit('/near/check', {})
        assert sent.path == '/signup/sent', sent.errors()

        async def confirmation_delivered() -> bool:
            return await statuses(pg, 'confirmation') == ['delivered']

        await wait_until(confirmation_delivered)
        [email] = [n for n in sim.sim.store.all() if n.to == 'jo@example.com']
        confirmed = await client.post(link_in(email.body, '/confirm/').removeprefix(PUBLIC))
        assert confirmed.status == 200
        assert await pg.fetchval('select status from subscriptions') == 'active'

        here = place(HOME)
        event = {'source': 'trafford-planning', 'external_key': '113447/HHA/26', 'kind': 'planning.new',
                 'topic': 'planning', 'title': 'Two-storey side extension', 'lat': here.lat, 'lng': here.lng,
                 'occurred_at': '2026-11-21T09:30:00+00:00'}  # fmt: skip
        answer = await client.post('/api/events', json=event, headers=bearer(await new_token(pg, name='planning')))
        assert answer.status == 201 and (await answer.json())['matched'] == 1, await answer.text()

        async def notice_delivered() -> bool:
            return await statuses(pg, 'event') == ['delivered']

        await wait_until(notice_delivered)
        assert sum(n.to == 'jo@example.com' for n in sim.sim.store.all()) == 2
        assert (await client.get('/readyz')).status == 200
    assert bouncer.logins() > 0  # it all went through PgBouncer


async def test_migrate_refuses_the_pooled_url_and_uses_the_direct_one(pooled: Settings, services: Services) -> None:
    with pytest.raises(db.MigrationError, match='TELLME_MIGRATE_DATABASE_URL'):
        await db.migrate_database(pooled)
    direct = pooled.model_copy(update={'migrate_database_url': services.database_url})
    assert await db.migrate_database(direct) == []  # up to date, under its advisory lock on one session


async def test_a_feed_is_polled_once_at_a_time_through_pgbouncer(
    bouncer: Bouncer, pooled: Settings, pg: asyncpg.Pool, aiohttp_server: Any
) -> None:
    """The poll's lock is a transaction's: a session's would be taken on one server connection and asked about (or
    released) on another, so a second poll could run at once, or none ever again."""
    slow = await add_slow_source(pg, aiohttp_server)
    pool = await db.create_pool(pooled, max_size=4)
    try:
        first = asyncio.create_task(poll_source(pool, 'slow'))
        await asyncio.wait_for(slow.arrived.wait(), 10)
        for _ in range(3):
            assert (await poll_source(pool, 'slow')).outcome == 'busy'
        slow.release.set()
        assert (await asyncio.wait_for(first, 10)).outcome == 'ok'
        for _ in range(3):  # and the lock was let go
            assert (await poll_source(pool, 'slow')).outcome == 'ok'
    finally:
        slow.release.set()
        await pool.close()
