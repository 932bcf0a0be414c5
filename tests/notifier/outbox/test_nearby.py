"""A message about something near a resident's place says how far it is from their postcode (issue 14 item 5): the
claim measures it from the subscription that brought the row (notifier/outbox/delivery_states.py), the wording says
it where the message says where, in English and Welsh; a subscription by topic, or a place with no postcode, gets the
address alone."""

from __future__ import annotations

import asyncpg
import pytest
from redis.asyncio import Redis

from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.factories import make_event, make_resident, make_subscription, place, record
from tests.support.notify import DELIVERY_SETTINGS, RunningSim, sender_for

NEIGHBOUR = 'M32 9BA'  # about 620 m from M32 0AH (OS Code-Point Open centres)


@pytest.fixture
def deliver(services: Services, sim: RunningSim, pg: asyncpg.Pool, redis: Redis):  # noqa: ANN201 - a test helper
    settings = settings_for(services, sim, **DELIVERY_SETTINGS)
    sender = sender_for(pg, redis, sim.client(timeout=2), settings)

    async def everything() -> dict[str, str]:
        for row in await pg.fetch('select id from notifications where status = $1', 'pending'):
            assert await sender.deliver(row['id']) == 'sent'
        return {n.to: n.body for n in sim.sim.store.all()}

    return everything


async def test_the_message_says_how_far_from_the_residents_postcode(pg: asyncpg.Pool, deliver) -> None:  # noqa: ANN001
    english = await make_resident(pg)
    welsh = await make_resident(pg, language='cy')
    by_topic = await make_resident(pg)
    no_postcode = await make_resident(pg)
    home = place('M32 0AH')
    for person in (english, welsh):
        await make_subscription(pg, person, near='M32 0AH', radius_m=1000, topics=['planning'])
    await make_subscription(pg, by_topic, kind='topic', topics=['planning'])
    await make_subscription(pg, no_postcode, at=(home.lat, home.lng), radius_m=1000, topics=['planning'])
    await record(pg, make_event(postcode=NEIGHBOUR, attributes={'address': '12 Derbyshire Lane, Stretford'}))

    bodies = await deliver()
    assert 'Where: 12 Derbyshire Lane, Stretford (about 620 m from M32 0AH)' in bodies[english.email]
    assert 'Lleoliad: 12 Derbyshire Lane, Stretford (tua 620 m o M32 0AH)' in bodies[welsh.email]
    assert 'Where: 12 Derbyshire Lane, Stretford\n' in bodies[by_topic.email]
    assert 'Where: 12 Derbyshire Lane, Stretford\n' in bodies[no_postcode.email]
    assert 'about' not in bodies[by_topic.email].split('Where:')[1].split('\n')[0]


async def test_an_event_with_no_address_is_placed_by_its_distance(pg: asyncpg.Pool, deliver) -> None:  # noqa: ANN001
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=2000, topics=['planning'])
    await record(pg, make_event(postcode='M32 9RW', attributes={}))
    body = (await deliver())[resident.email]
    assert 'Where: About 1.1 km from M32 0AH' in body


async def test_nothing_personal_is_stored_on_the_row_for_it(pg: asyncpg.Pool, deliver) -> None:  # noqa: ANN001
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=1000, topics=['planning'])
    await record(pg, make_event(postcode=NEIGHBOUR))
    await deliver()
    assert await pg.fetchval("select personalisation from notifications where purpose = 'event'") is None
