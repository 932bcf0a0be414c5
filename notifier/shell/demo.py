"""The demo `tellme dev` runs, so a newcomer sees messages arrive in the simulator's outbox within a minute.

On an empty database it signs up three demo residents around Stretford and Sale (Trafford, from the shipped
postcode sample), then publishes a made-up planning or licensing event near them every minute. Demo data is
clearly fake (example.com addresses, 07700 900xxx numbers, titles that say "Demo").
"""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime

import asyncpg

from sources.events.ingest import ingest
from sources.events.models import Event
from subscriptions.residents import queries
from subscriptions.residents.models import NewSubscription

logger = logging.getLogger('notifier.shell.demo')

DEMO_SOURCE = 'tellme-demo'
RESIDENTS = [
    # (email, mobile, postcode, radius in metres, topics)
    ('demo.alex@example.com', None, 'M32 0AH', 800, ['planning']),
    ('demo.sam@example.com', '07700 900321', 'M32 0PA', 1500, ['planning', 'licensing']),
    ('demo.jo@example.com', None, 'M33 7XF', 1000, []),
]
EVENTS = [
    ('planning.new', 'planning', 'Demo: single-storey rear extension', 'M32 0SF'),
    ('licensing.new', 'licensing', 'Demo: new premises licence for a café', 'M32 8GR'),
    ('planning.new', 'planning', 'Demo: loft conversion with a rear dormer', 'M33 7XX'),
    ('planning.new', 'planning', 'Demo: change of use from shop to two flats', 'M32 9RW'),
]
PLACE = 'select lat, lng, ward_code, district_code from postcodes where postcode = $1'


async def seed(pool: asyncpg.Pool) -> int:
    """Sign up the demo residents, once (a database that has any resident is left alone)."""
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval('select exists (select 1 from residents)'):
            return 0
        for email, mobile, postcode, radius, topics in RESIDENTS:
            place = await conn.fetchrow(PLACE, postcode)
            if place is None:
                logger.warning('demo: %s is not in the postcodes table; skipping that resident', postcode)
                continue
            resident = await queries.create_resident(conn)
            channels = ['email']
            await queries.add_contact_point(conn, resident, 'email', email, verified=True)
            if mobile:
                await queries.add_contact_point(conn, resident, 'sms', mobile, verified=True)
                channels.append('sms')
            spec = NewSubscription(
                kind='near', lat=place['lat'], lng=place['lng'], radius_m=radius, postcode=postcode, topics=topics,
                channels=channels, quiet_hours=None,
            )  # fmt: skip
            await queries.create_subscription(conn, resident, spec, active=True)
    logger.info('demo: signed up %d residents around Trafford', len(RESIDENTS))
    return len(RESIDENTS)


class DemoEvents:
    """Publishes the next made-up event each time it is called."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    async def publish(self, pool: asyncpg.Pool) -> int | None:
        number = next(self._next)
        kind, topic, title, postcode = EVENTS[(number - 1) % len(EVENTS)]
        place = await pool.fetchrow(PLACE, postcode)
        if place is None:
            return None
        now = datetime.now(UTC)
        event = Event(
            source=DEMO_SOURCE,
            external_key=f'{now:%Y%m%d%H%M%S}-{number}',
            kind=kind,
            topic=topic,
            title=title,
            summary=f'A made-up {topic} event near {postcode}, published by tellme dev to show the pipeline.',
            lat=place['lat'],
            lng=place['lng'],
            area_codes=[code for code in (place['ward_code'], place['district_code']) if code],
            url='https://www.trafford.gov.uk/planning-and-development/',
            occurred_at=now,
        )
        async with pool.acquire() as conn, conn.transaction():
            result = await ingest(conn, event)
        logger.info('demo: published event %s (%s), %d messages queued', result.event_id, kind, result.matched)
        return result.event_id
