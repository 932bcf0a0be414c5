"""A made-up planning or licensing event near the demo residents, published every minute by `tellme dev`."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime

import asyncpg

from sources.events.ingest import ingest
from sources.events.models import Event

logger = logging.getLogger('notifier.shell.demo')

DEMO_SOURCE = 'tellme-demo'
EVENTS = [
    ('planning.new', 'planning', 'Demo: single-storey rear extension', 'M32 0SF'),
    ('licensing.new', 'licensing', 'Demo: new premises licence for a café', 'M32 8GR'),
    ('planning.new', 'planning', 'Demo: loft conversion with a rear dormer', 'M33 7XX'),
    ('planning.new', 'planning', 'Demo: change of use from shop to two flats', 'M32 9RW'),
]
PLACE = 'select lat, lng, ward_code, district_code from postcodes where postcode = $1'


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
