"""Record a normalised Event and fan it out, in the caller's transaction.

First sight of (source, external_key) → version 1, 'new'. Seen before with the same fingerprint → 'unchanged'
and nothing is written (polling a feed again is free). A different fingerprint → version n+1, 'changed', with
`changes` worked out against the previous version as stored (e.g. status: validated → decided), so messages can
say what is new. A new or changed version is matched and written to the outbox in the same transaction; the
caller wakes the senders after commit (`notifier.queue.wake_for_event`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from sources import queries
from sources.models import Change, Event
from subscriptions.matching import fan_out

logger = logging.getLogger('notifier.ingest')

Outcome = Literal['new', 'changed', 'unchanged']
# Top-level fields a resident reads about; attributes are compared key by key under their own names.
_FIELDS = ('title', 'summary', 'uprn', 'case_reference', 'url')
_ATTEMPTS = 3


class IngestRace(RuntimeError):
    """Other transactions kept recording versions of this thing while we tried; the caller may retry."""


@dataclass(frozen=True)
class Ingested:
    event_id: int | None
    version: int
    outcome: Outcome
    matched: int  # outbox rows written for this version (one per contact point and channel)


REFRESH_QUIET_FIELDS = """
update events set summary = $2, attributes = $3
where id = $1 and (summary is distinct from $2 or attributes is distinct from $3::jsonb)
"""


async def ingest(conn: asyncpg.Connection, event: Event, *, now: datetime | None = None) -> Ingested:
    """Record `event` (new / changed / unchanged) and fan a new version out; runs in the caller's transaction.

    `now` is passed to `fan_out` (digest due times and quiet hours are reckoned from it; default: the
    transaction's time).
    """
    if not conn.is_in_transaction():
        raise RuntimeError('ingest must run inside a transaction, so the event and its outbox rows commit together')
    fingerprint = event.fingerprint()
    for _ in range(_ATTEMPTS):
        previous = await queries.latest_version(conn, event.source, event.external_key)
        if previous is not None and previous['fingerprint'] == fingerprint:
            if event.fingerprint_ignores:
                # not news, but the freshest values (e.g. next weeks' bin dates) are what reminders read
                await conn.execute(REFRESH_QUIET_FIELDS, previous['id'], event.summary, event.attributes)
            return Ingested(previous['id'], previous['version'], 'unchanged', 0)
        if previous is None:
            version, outcome = 1, 'new'
            changes = [change.model_dump() for change in event.changes]
        else:
            version, outcome = previous['version'] + 1, 'changed'
            changes = describe_changes(previous, event)
        # A concurrent ingest of the same version makes this insert wait for it, then do nothing: look again.
        event_id = await queries.insert_version(conn, event, version=version, changes=changes)
        if event_id is not None:
            matched = await fan_out(conn, event_id, now=now)
            logger.info(
                'event %s/%s v%d %s: %d outbox rows', event.source, event.external_key, version, outcome, matched
            )
            return Ingested(event_id, version, outcome, matched)
    raise IngestRace(f'{event.source}/{event.external_key} kept changing under us')


def describe_changes(previous: asyncpg.Record | dict[str, Any], event: Event) -> list[dict[str, str | None]]:
    """What differs between the stored previous version and `event`, field by field, in readable text.

    The source's own `changes` are kept for fields we did not find different ourselves.
    """
    new = event.model_dump(mode='json')
    found: list[Change] = []
    for name in _FIELDS:
        if previous[name] != new[name]:
            found.append(Change(field=name, before=_text(previous[name]), after=_text(new[name])))
    before_at = _location(previous['lat'], previous['lng'])
    after_at = _location(event.lat, event.lng)
    if before_at != after_at:
        found.append(Change(field='location', before=before_at, after=after_at))
    old_attributes: dict[str, Any] = previous['attributes'] or {}
    new_attributes: dict[str, Any] = new['attributes']
    for key in sorted(old_attributes.keys() | new_attributes.keys()):
        if old_attributes.get(key) != new_attributes.get(key):
            found.append(Change(field=key, before=_text(old_attributes.get(key)), after=_text(new_attributes.get(key))))
    seen = {change.field for change in found}
    found.extend(change for change in event.changes if change.field not in seen)
    return [change.model_dump() for change in found]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _location(lat: float | None, lng: float | None) -> str | None:
    return None if lat is None or lng is None else f'{lat:.5f}, {lng:.5f}'
