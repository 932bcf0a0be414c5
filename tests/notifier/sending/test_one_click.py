"""Notify accepts a one-click unsubscribe URL only on emails and only over https. A service on a plain-http address
(a laptop running `tellme dev`, an internal test host) must still get its messages out, just without the header,
and a text never carries one."""

from __future__ import annotations

import asyncpg
from redis.asyncio import Redis

from notifier.sending.delivery import Sender
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import make_event, make_resident, make_subscription, record
from tests.support.notify import DELIVERY_SETTINGS, RunningSim, sender_for


async def _send_all(pg: asyncpg.Pool, sender: Sender) -> list[str]:
    ids = [row['id'] for row in await pg.fetch('select id from notifications order by id')]
    return [await sender.deliver(nid) for nid in ids]


async def test_on_plain_http_emails_go_without_the_header_and_texts_never_have_it(
    services: Services, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    settings = settings_for(services, sim, **{**DELIVERY_SETTINGS, 'public_url': 'http://localhost:8080'})
    sender = sender_for(pg, redis, sim.client(timeout=2), settings)
    resident = await make_resident(pg, email=True, sms=True)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500, quiet_hours=None)
    await record(pg, make_event())
    assert await pg.fetchval('select count(*) from notifications') == 2

    assert await _send_all(pg, sender) == ['sent', 'sent']
    sent = list(sim.sim.store.all())
    email = next(n for n in sent if n.type == 'email')
    text = next(n for n in sent if n.type == 'sms')
    assert email.one_click_unsubscribe_url is None
    assert text.one_click_unsubscribe_url is None


async def test_on_https_emails_carry_the_one_click_url(
    services: Services, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    settings = settings_for(services, sim, **DELIVERY_SETTINGS)
    sender = sender_for(pg, redis, sim.client(timeout=2), settings)
    resident = await make_resident(pg, email=True)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=500)
    await record(pg, make_event())
    assert await _send_all(pg, sender) == ['sent']
    [email] = list(sim.sim.store.all())
    assert email.one_click_unsubscribe_url.startswith('https://tellme.example.gov.uk/unsubscribe/')
