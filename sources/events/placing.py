"""Events that carry only a postcode are placed from the postcode table: coordinates, and ward/district codes."""

from __future__ import annotations

from typing import Any

import asyncpg

from sources.events.models import Event
from subscriptions.places.postcodes import PostcodeError, normalise_postcode

POSTCODES = """
select postcode, lat, lng, ward_code, district_code from postcodes where postcode = any($1::text[])
"""


async def place_events(pool: asyncpg.Pool | asyncpg.Connection, events: list[Event]) -> list[Event]:
    """Fill coordinates and area codes from the postcode table for events that carry only a postcode."""
    wanted: dict[str, str] = {}
    for event in events:
        text = event.attributes.get('postcode')
        if isinstance(text, str) and (event.lat is None or not event.area_codes):
            try:
                wanted[event.external_key] = normalise_postcode(text)
            except PostcodeError:
                continue
    if not wanted:
        return events
    rows = {row['postcode']: row for row in await pool.fetch(POSTCODES, sorted(set(wanted.values())))}
    placed: list[Event] = []
    for event in events:
        row = rows.get(wanted.get(event.external_key, ''))
        if row is None:
            placed.append(event)
            continue
        update: dict[str, Any] = {}
        if event.lat is None:
            update.update(lat=row['lat'], lng=row['lng'])
        if not event.area_codes:
            update['area_codes'] = [code for code in (row['ward_code'], row['district_code']) if code]
        placed.append(event.model_copy(update=update))
    return placed
