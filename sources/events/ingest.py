"""Record a normalised Event and fan it out, in the caller's transaction.

First sight of (source, external_key) → version 1, 'new'. Seen before with the same fingerprint → 'unchanged'
and nothing is written (polling a feed again is free). A different fingerprint → version n+1, 'changed', with
`changes` worked out against the previous version as stored (e.g. status: validated → decided), so messages can
say what is new; fields the event says are not news (`fingerprint_ignores`) are not listed. A bin schedule is
compared date by date with the previous version instead (sources/events/schedules.py): a moved collection, a new or
ended service makes a `bins.changed` version that says so, and the window rolling forward is not news. A new or
changed version is matched and written to the outbox in the same transaction; the caller wakes the senders after
commit (`notifier.outbox.queue.wake_for_event`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from notifier.outbox.links import is_private
from sources.events import queries
from sources.events.dates import LONDON
from sources.events.models import Change, Event
from sources.events.schedules import SCHEDULE_ATTRIBUTES, is_schedule, schedule_changes
from subscriptions.matching.fan_out import fan_out

logger = logging.getLogger('notifier.ingest')

Outcome = Literal['new', 'changed', 'unchanged']
# Top-level fields a resident reads about; attributes are compared key by key under their own names.
_FIELDS = ('title', 'summary', 'uprn', 'case_reference', 'url')
_ATTEMPTS = 3


class IngestRace(RuntimeError):
    """Other transactions kept recording versions of this thing while we tried; the caller may retry."""


class IngestRefused(ValueError):
    """A new version may not turn a record into another kind of record: its topic and its privacy (someone's case
    or public news) stay what the first version said. Otherwise whoever may push one topic could republish another
    topic's private record (a case's note, postcode and place) as public news under the same key."""


def check_same_record(previous: asyncpg.Record | Mapping[str, Any], event: Event) -> None:
    if previous['topic'] != event.topic:
        raise IngestRefused(
            f'{event.source}/{event.external_key} is a {previous["topic"]} record: a new version may not make it '
            f'{event.topic}'
        )
    if is_private(previous['topic'], previous['case_reference']) != is_private(event.topic, event.case_reference):
        was = 'private (a case)' if is_private(previous['topic'], previous['case_reference']) else 'public'
        raise IngestRefused(f'{event.source}/{event.external_key} is {was}: a new version may not change that')


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
    for _ in range(_ATTEMPTS):
        previous = await queries.latest_version(conn, event.source, event.external_key)
        if previous is not None:
            check_same_record(previous, event)
        outcome, version_event, changes = decide(previous, event)
        if previous is not None and outcome == 'unchanged':
            if event.fingerprint_ignores:
                # not news, but the freshest values (e.g. next weeks' bin dates) are what reminders read
                summary, attributes = _quiet_fields(previous, event)
                await conn.execute(REFRESH_QUIET_FIELDS, previous['id'], summary, attributes)
            return Ingested(previous['id'], previous['version'], 'unchanged', 0)
        version = 1 if previous is None else previous['version'] + 1
        # A concurrent ingest of the same version makes this insert wait for it, then do nothing: look again.
        event_id = await queries.insert_version(conn, version_event, version=version, changes=changes)
        if event_id is not None:
            matched = await fan_out(conn, event_id, now=now)
            logger.info('event %s/%s v%d %s: %d outbox rows', event.source, event.external_key, version, outcome,
                        matched, extra={'event_id': event_id, 'source': event.source})  # fmt: skip
            return Ingested(event_id, version, outcome, matched)
    raise IngestRace(f'{event.source}/{event.external_key} kept changing under us')


def decide(
    previous: asyncpg.Record | Mapping[str, Any] | None, event: Event
) -> tuple[Outcome, Event, list[dict[str, str | None]]]:
    """(new / changed / unchanged, the version to store, its changes) for `event` against the stored `previous`
    version; pure, so `tellme sources check` can say the same without writing."""
    if previous is None:
        return 'new', event, [change.model_dump() for change in event.changes]
    found = (
        schedule_changes((previous['attributes'] or {}).get('collection_dates'), event.attributes['collection_dates'],
                         event.occurred_at.astimezone(LONDON).date())
        if is_schedule(event) else []
    )  # fmt: skip
    if not found and previous['fingerprint'] == event.fingerprint():
        return 'unchanged', event, []
    if not found:
        changes = describe_changes(previous, event)
        same_kind = previous['kind'] == event.kind or 'kind' in event.fingerprint_ignores
        # a fingerprint made by an older rule, over fields that all read the same: nothing to tell anyone
        return ('changed' if changes or not same_kind else 'unchanged'), event, changes
    news = ' '.join(sentence for _, sentence in found)
    event = event.model_copy(
        update={
            'kind': 'bins.changed',
            'summary': f'{news} {event.summary}'.strip()[:5000],
            'changes': [change for change, _ in found],
            'attributes': {**event.attributes, 'news': news},  # kept when later polls refresh the dates
            'fingerprint_ignores': [*event.fingerprint_ignores, 'attributes.news'],
        }
    )
    return 'changed', event, describe_changes(previous, event)


def _quiet_fields(previous: asyncpg.Record, event: Event) -> tuple[str, dict[str, Any]]:
    """The summary and attributes to refresh an unchanged version with: the event's, keeping what a schedule
    version said was news (its dates roll on; "Grey bin moved from …" stays true of it)."""
    news = (previous['attributes'] or {}).get('news')
    if not is_schedule(event) or not isinstance(news, str) or not news:
        return event.summary, event.attributes
    return f'{news} {event.summary}'[:5000], {**event.attributes, 'news': news}


def describe_changes(previous: asyncpg.Record | Mapping[str, Any], event: Event) -> list[dict[str, str | None]]:
    """What differs between the stored previous version and `event`, field by field, in readable text; fields the
    event says are not news (`fingerprint_ignores`) are left out.

    The source's own `changes` are kept for fields we did not find different ourselves (and, for a bin schedule,
    speak for its dates).
    """
    new = event.model_dump(mode='json')
    quiet = set(event.fingerprint_ignores)
    if is_schedule(event):
        quiet |= {f'attributes.{name}' for name in SCHEDULE_ATTRIBUTES}
    found: list[Change] = []
    for name in _FIELDS:
        if name not in quiet and previous[name] != new[name]:
            found.append(Change(field=name, before=_text(previous[name]), after=_text(new[name])))
    before_at = _location(previous['lat'], previous['lng'])
    after_at = _location(event.lat, event.lng)
    if before_at != after_at:
        found.append(Change(field='location', before=before_at, after=after_at))
    old_attributes: dict[str, Any] = previous['attributes'] or {}
    new_attributes: dict[str, Any] = new['attributes']
    for key in sorted(old_attributes.keys() | new_attributes.keys()):
        if f'attributes.{key}' in quiet:
            continue
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
