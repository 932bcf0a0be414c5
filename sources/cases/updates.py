"""One case update, whoever sends it: a case system (`POST /api/cases/{reference}/updates`) or an officer on the
case page (/staff/cases/update). Both end in `save_update`, so a resident hears the same thing either way.

`save_update` records the update as a version of the case's event (`case.status`, or `case.evidence_requested`
for "we need something from you"), subscribes a consenting reporter, closes the case's open request for evidence
when the case moves and opens a new one for a need_info update with a due date (sources/cases/evidence.py), and writes
the audit entry, all in one transaction; then it wakes the senders. `draft_event` builds the same version without
writing it, for the officer's preview.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from notifier import audit
from notifier.api.auth import Caller, json_error
from notifier.app_keys import PG, QUEUE, SETTINGS
from notifier.outbox import queue
from sources.cases import evidence
from sources.cases.reporters import Reporter, canonical_addresses, subscribe_reporter
from sources.events import queries as sources_queries
from sources.events.ingest import IngestRace, IngestRefused, describe_changes, ingest
from sources.events.models import Event
from sources.feeds import registry
from sources.feeds.adapters.open311 import _STAGE_WORDS as STAGE_WORDS
from sources.feeds.adapters.open311 import STAGES
from subscriptions.residents import signup
from subscriptions.residents.models import Channel

logger = logging.getLogger('notifier.case_updates')

NEED_INFO = 'need_info'
SOURCE_PATTERN = r'^[a-z0-9][a-z0-9_.-]*$'
Place = tuple[float | None, float | None, str | None]  # lat, lng, postcode
NO_PLACE: Place = (None, None, None)


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    lat: float | None = Field(None, ge=49.0, le=61.0)
    lng: float | None = Field(None, ge=-9.0, le=2.0)
    postcode: str | None = Field(None, min_length=2, max_length=12)

    @model_validator(mode='after')
    def _one_way(self) -> Location:
        if (self.lat is None) != (self.lng is None):
            raise ValueError('give both lat and lng, or neither')
        if (self.lat is None) == (self.postcode is None):
            raise ValueError('give lat and lng, or a postcode')
        return self


class CaseUpdate(BaseModel):
    model_config = ConfigDict(frozen=True, extra='forbid')

    source: str = Field(min_length=1, max_length=100, pattern=SOURCE_PATTERN)
    status: str | None = Field(None, min_length=1, max_length=100)
    stage: str | None = None
    note: str = Field('', max_length=4000)
    occurred_at: AwareDatetime
    title: str | None = Field(None, min_length=1, max_length=300)
    location: Location | None = None
    reporter: Reporter | None = None
    evidence_due: date | None = None

    @model_validator(mode='after')
    def _checked(self) -> CaseUpdate:
        if self.source == registry.RESERVED:
            raise ValueError(f'{registry.RESERVED!r} is reserved for Tell Me’s own alerts')
        if self.stage is not None and self.stage not in STAGES:
            raise ValueError(f'stage {self.stage!r} is not one of {", ".join(STAGES)}')
        if self.status is None and self.stage is None:
            raise ValueError('give the case system’s status, or our stage')
        return self


def status_word(status: str) -> str:
    return status.strip().lower().replace(' ', '_')


def build_event(reference: str, update: CaseUpdate, stage: str, place: Place) -> Event:
    lat, lng, postcode = place
    attributes: dict[str, Any] = {'stage': stage, 'status': STAGE_WORDS[stage]}
    if update.status is not None:
        attributes['service_status'] = status_word(update.status)
    note = update.note.strip()
    if note:
        attributes['notes'] = note[:1000]
    if update.evidence_due is not None:
        attributes['respond_by'] = update.evidence_due.isoformat()
    if postcode:
        attributes['postcode'] = postcode
    return Event(
        source=update.source,
        external_key=reference,
        kind='case.evidence_requested' if stage == NEED_INFO else 'case.status',
        topic='cases',
        title=update.title or f'Your case {reference}',
        summary=note[:5000],  # the stage is said once, by its name (attributes.status), beside it
        lat=lat,
        lng=lng,
        case_reference=reference,
        attributes=attributes,
        occurred_at=update.occurred_at,
    )


def carried_over(event: Event, update: CaseUpdate, previous: asyncpg.Record | None) -> Event:
    """An update that leaves out the title or the location keeps the case's (not a change to tell anyone about)."""
    if previous is None:
        return event
    kept: dict[str, Any] = {}
    if update.title is None:
        kept['title'] = previous['title']
    if update.location is None and previous['lat'] is not None:
        kept['lat'], kept['lng'] = previous['lat'], previous['lng']
        postcode = (previous['attributes'] or {}).get('postcode')
        if postcode:
            kept['attributes'] = {**event.attributes, 'postcode': postcode}
    return event.model_copy(update=kept)


async def draft_event(
    conn: asyncpg.Connection | asyncpg.Pool, reference: str, update: CaseUpdate, stage: str
) -> tuple[Event, list[dict[str, Any]]]:
    """The version `save_update` would store for this update (and what it would say changed), without storing it."""
    previous = await conn.fetchrow(sources_queries.LATEST_VERSION, update.source, reference)
    event = carried_over(build_event(reference, update, stage, NO_PLACE), update, previous)
    return event, describe_changes(previous, event) if previous is not None else []


async def save_update(
    app: web.Application,
    reference: str,
    update: CaseUpdate,
    stage: str,
    place: Place,
    *,
    actor: audit.Actor,
    caller: Caller | None = None,
    staff_id: int | None = None,
) -> tuple[int, dict[str, Any]]:
    """Store the update and tell the case's subscribers; (HTTP status, the answer). Errors are JSON HTTP errors."""
    settings = app[SETTINGS]
    reporter = update.reporter
    addresses = canonical_addresses(reporter) if reporter is not None and reporter.consenting else {}
    if addresses and not settings.link_secrets:
        raise json_error(503, 'TELLME_SECRET_KEY is not set, so confirmation links cannot be made')
    event = build_event(reference, update, stage, place)
    try:
        async with app[PG].acquire() as conn, conn.transaction():
            subscription, confirmation = await _reporter(conn, app, caller, update, reference, addresses)
            # after the subscription, so a reporter whose addresses the case system verified hears this one too
            previous = await sources_queries.latest_version(conn, update.source, reference)
            result = await ingest(conn, carried_over(event, update, previous))
            asked = None
            if result.outcome != 'unchanged' and result.event_id is not None:
                asked = await evidence.after_update(
                    conn, (update.source, reference), result.event_id, update.evidence_due if stage == NEED_INFO
                    else None, requested_by=actor.name, staff_id=staff_id,
                )  # fmt: skip
            details = {'source': update.source, 'stage': stage, 'outcome': result.outcome, 'version': result.version,
                       'matched': result.matched}  # fmt: skip
            if asked is not None:
                details['evidence_due'] = update.evidence_due.isoformat() if update.evidence_due else None
            await audit.record(conn, actor, 'case.update', target_kind='case', target_id=reference, details=details)
    except IngestRace:
        raise json_error(409, 'this case is being changed by another request; send it again') from None
    except IngestRefused as exc:
        raise json_error(409, str(exc), {'reference': 'names a record that is not a case'}) from None
    if result.matched:
        try:
            await queue.wake_for_event(app[QUEUE], result.event_id or 0)
        except Exception:  # noqa: BLE001 - the rows are committed; the senders also poll the outbox
            logger.warning('could not wake the senders for event %s', result.event_id, exc_info=True)
    if confirmation is not None:
        await signup.send_confirmation(app[QUEUE], confirmation)
    warnings = subscription.pop('warnings', [])
    body = {
        'event_id': result.event_id,
        'version': result.version,
        'outcome': result.outcome,
        'stage': stage,
        'matched': result.matched,
        'subscribed': subscription.pop('subscribed'),
        'subscription': subscription,
        'warnings': warnings,
    }
    return (200 if result.outcome == 'unchanged' else 201), body


async def _reporter(
    conn: asyncpg.Connection,
    app: web.Application,
    caller: Caller | None,
    update: CaseUpdate,
    reference: str,
    addresses: dict[Channel, str],
) -> tuple[dict[str, Any], uuid.UUID | None]:
    """Subscribe the reporter if they consented; (what happened, a confirmation to send after commit)."""
    reporter = update.reporter
    if reporter is None or not reporter.consenting or caller is None:
        reason = (
            'no reporter was passed' if reporter is None or caller is None else 'the reporter has not given consent'
        )
        return {'subscribed': False, 'reason': reason}, None
    return await subscribe_reporter(conn, app[SETTINGS], caller, (update.source, reference), reporter, addresses)
