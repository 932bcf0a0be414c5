"""Events: the SQL. Each (source, external_key) is one thing in the world; each meaningful change is a version.

The caller owns the transaction (see `sources.events.ingest`, which decides new / changed / unchanged).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sources.events.models import Event

LATEST_VERSION = """
select id, version, fingerprint, kind, topic, title, summary, lat, lng, area_codes, uprn, case_reference, url,
       attributes, urgency, occurred_at
from events
where source = $1 and external_key = $2
order by version desc
limit 1
"""

INSERT_VERSION = """
insert into events (
    source, external_key, version, fingerprint, kind, topic, title, summary, changes, lat, lng, area_codes, uprn,
    case_reference, url, attributes, urgency, occurred_at
)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
on conflict (source, external_key, version) do nothing
returning id
"""


async def latest_version(conn: asyncpg.Connection, source: str, external_key: str) -> asyncpg.Record | None:
    """The newest stored version of this thing, or None if it was never seen."""
    return await conn.fetchrow(LATEST_VERSION, source, external_key)


async def insert_version(
    conn: asyncpg.Connection, event: Event, *, version: int, changes: list[dict[str, Any]]
) -> int | None:
    """Store `event` as `version`; None if that version already exists (another ingest got there first)."""
    return await conn.fetchval(
        INSERT_VERSION,
        event.source,
        event.external_key,
        version,
        event.fingerprint(),
        event.kind,
        event.topic,
        event.title,
        event.summary,
        changes,
        event.lat,
        event.lng,
        event.area_codes,
        event.uprn,
        event.case_reference,
        str(event.url) if event.url is not None else None,
        event.model_dump(mode='json')['attributes'],
        event.urgency,
        event.occurred_at,
    )


async def get_event(conn: asyncpg.Connection, event_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow('select * from events where id = $1', event_id)
