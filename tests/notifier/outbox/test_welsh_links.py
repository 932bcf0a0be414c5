"""A Welsh reader's links open their pages in Welsh, whatever language their browser asks for."""

from __future__ import annotations

from typing import Any

import asyncpg
from redis.asyncio import Redis

from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import make_event, make_resident, make_subscription, record
from tests.support.notify import DELIVERY_SETTINGS, RunningSim, link_in, sender_for


async def test_the_links_in_a_welsh_email_open_welsh_pages(
    services: Services, sim: RunningSim, pg: asyncpg.Pool, redis: Redis, aiohttp_client: Any
) -> None:
    settings = settings_for(services, sim, **DELIVERY_SETTINGS)
    sender = sender_for(pg, redis, sim.client(timeout=2), settings)
    welsh = await make_resident(pg, language='cy')
    english = await make_resident(pg)
    await make_subscription(pg, welsh, near='M32 0AH', radius_m=500)
    await make_subscription(pg, english, near='M32 0AH', radius_m=500)
    await record(pg, make_event())
    for row in await pg.fetch('select id from notifications'):
        assert await sender.deliver(row['id']) == 'sent'

    by_address = {n.to: n for n in sim.sim.store.all()}
    cy, en = by_address[welsh.email], by_address[english.email]
    assert link_in(cy.body, '/e/').endswith('?lang=cy')
    assert link_in(cy.body, '/manage').endswith('?lang=cy')
    assert '?lang' not in link_in(en.body, '/e/')

    client = await aiohttp_client(create_app(settings))
    path = link_in(cy.body, '/e/').removeprefix(settings.public_url)
    page = await client.get(path, headers={'Accept-Language': 'en-GB'})
    assert page.status == 200 and '<html lang="cy"' in await page.text()
