"""`POST /api/cases/{reference}/updates`: a case system pushes what happened on one case, in its own words.

    {"source": "fms", "status": "investigating" | "stage": "assessing", "note": "An officer will visit on Monday",
     "occurred_at": "2026-03-02T10:00:00Z", "title": "Pothole on King Street",
     "location": {"lat": 53.45, "lng": -2.31} | {"postcode": "M32 0AH"},
     "evidence_due": "2026-03-20",                      (only with the "we need something from you" stage)
     "reporter": {"email": "…", "mobile": "…", "language": "en", "verified": false | true | ["email"],
                  "consent": {"given": true, "wording": "Tell me about my report", "at": "2026-03-01T09:00:00Z"}}}

The service's own status is mapped to our stages (received → assessing → action_scheduled → resolved / closed,
and need_info: "we need something from you") with the Open311 adapter's defaults and, when the source is also
a row in `sources`, that row's `status.<word>=<stage>` options; an unknown status is refused naming it, before
anything is written. The update becomes a `case.status` (or `case.evidence_requested`) event keyed by the
reference. A reporter who gave consent is subscribed to their case in the same transaction (sources/case_reporters.py).

Trust: a token bound to sources may push only for them (403 naming them, before anything is read or written);
`reporter.verified` is honoured only for a system token made with `--may-verify`, and otherwise ignored with a
warning in the answer (the reporter is asked to confirm, and hears nothing about the case until they do).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from notifier import queue
from notifier.api_auth import CALLER, check_source, field_errors, json_error, read_json, requires
from notifier.app_keys import PG, QUEUE, SETTINGS
from sources import queries as sources_queries
from sources import registry
from sources.adapters.open311 import _STAGE_WORDS as STAGE_WORDS
from sources.adapters.open311 import STAGES, stage_map
from sources.base import SourceError
from sources.case_reporters import Reporter, canonical_addresses, subscribe_reporter
from sources.ingest import IngestRace, ingest
from sources.models import Event
from subscriptions import signup
from subscriptions.geocoding import locate_postcode, make_geocoder
from subscriptions.models import Channel
from subscriptions.postcodes import PostcodeError, normalise_postcode

logger = logging.getLogger('notifier.cases_api')

routes = web.RouteTableDef()

NEED_INFO = 'need_info'
SOURCE_PATTERN = r'^[a-z0-9][a-z0-9_.-]*$'


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


def _status_word(status: str) -> str:
    return status.strip().lower().replace(' ', '_')


async def _stage(db: asyncpg.Pool, update: CaseUpdate) -> str:
    """Our stage for the update: as sent, else the status mapped with the source's options and the defaults."""
    if update.stage is not None:
        return update.stage
    assert update.status is not None
    source = await registry.get_source(db, update.source)
    try:
        statuses, _ = stage_map(source.options if source else {})
    except SourceError as exc:
        raise json_error(400, f'the status mapping of source {update.source} is wrong', {'source': str(exc)}) from None
    word = _status_word(update.status)
    stage = statuses.get(word)
    if stage is None:
        raise json_error(
            400,
            f'unknown status {word!r}',
            {
                'status': f'unknown status {word!r}: map it with the option status.{word}=<stage> on source '
                f'{update.source} (tellme sources add {update.source} … --option status.{word}=<stage>), '
                f'or send "stage" instead (stages: {", ".join(STAGES)})'
            },
        )
    return stage


async def _place(request: web.Request, location: Location | None) -> tuple[float | None, float | None, str | None]:
    if location is None:
        return None, None, None
    if location.postcode is None:
        return location.lat, location.lng, None
    try:
        async with make_geocoder(request.app[SETTINGS], request.app[PG]) as geocoder:
            found = await locate_postcode(geocoder, location.postcode)
        return found.latitude, found.longitude, normalise_postcode(location.postcode)
    except PostcodeError as exc:
        raise json_error(400, 'invalid request', {'location.postcode': str(exc)}) from None


def _event(
    reference: str, update: CaseUpdate, stage: str, lat: float | None, lng: float | None, postcode: str | None
) -> Event:
    attributes: dict[str, Any] = {'stage': stage, 'status': STAGE_WORDS[stage]}
    if update.status is not None:
        attributes['service_status'] = _status_word(update.status)
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
        summary=(f'{STAGE_WORDS[stage]}.' + (f' {note}' if note else ''))[:5000],
        lat=lat,
        lng=lng,
        case_reference=reference,
        attributes=attributes,
        occurred_at=update.occurred_at,
    )


def _carried_over(event: Event, update: CaseUpdate, previous: asyncpg.Record | None) -> Event:
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


async def _reporter(
    conn: asyncpg.Connection, request: web.Request, update: CaseUpdate, reference: str, addresses: dict[Channel, str]
) -> tuple[dict[str, Any], uuid.UUID | None]:
    """Subscribe the reporter if they consented; (what happened, a confirmation to send after commit)."""
    reporter = update.reporter
    if reporter is None or not reporter.consenting:
        reason = 'no reporter was passed' if reporter is None else 'the reporter has not given consent'
        return {'subscribed': False, 'reason': reason}, None
    return await subscribe_reporter(
        conn, request.app[SETTINGS], request[CALLER], (update.source, reference), reporter, addresses
    )


async def _read(request: web.Request) -> CaseUpdate:
    data = await read_json(request)
    try:
        return CaseUpdate.model_validate(data)
    except ValidationError as exc:
        raise json_error(400, 'invalid request', field_errors(exc)) from None


@routes.post('/api/cases/{reference}/updates', name='api-case-updates')
@requires('system', 'case_officer')
async def post_case_update(request: web.Request) -> web.Response:
    reference = request.match_info['reference'].strip()
    if not 1 <= len(reference) <= 100 or not reference.isprintable():
        raise json_error(400, 'invalid request', {'reference': 'a case reference is 1 to 100 printable characters'})
    settings = request.app[SETTINGS]
    update = await _read(request)
    check_source(request[CALLER], update.source)
    stage = await _stage(request.app[PG], update)
    if update.evidence_due is not None and stage != NEED_INFO:
        raise json_error(
            400, 'invalid request', {'evidence_due': f'only for the stage {NEED_INFO} ("we need something from you")'}
        )
    event = _event(reference, update, stage, *await _place(request, update.location))
    reporter = update.reporter
    addresses = canonical_addresses(reporter) if reporter is not None and reporter.consenting else {}
    if addresses and not settings.link_secrets:
        raise json_error(503, 'TELLME_SECRET_KEY is not set, so confirmation links cannot be made')
    try:
        async with request.app[PG].acquire() as conn, conn.transaction():
            subscription, confirmation = await _reporter(conn, request, update, reference, addresses)
            # after the subscription, so a reporter whose addresses the case system verified hears this one too
            previous = await sources_queries.latest_version(conn, update.source, reference)
            result = await ingest(conn, _carried_over(event, update, previous))
    except IngestRace:
        raise json_error(409, 'this case is being changed by another request; send it again') from None
    if result.matched:
        try:
            await queue.wake_for_event(request.app[QUEUE], result.event_id or 0)
        except Exception:  # noqa: BLE001 - the rows are committed; the senders also poll the outbox
            logger.warning('could not wake the senders for event %s', result.event_id, exc_info=True)
    if confirmation is not None:
        await signup.send_confirmation(request.app[QUEUE], confirmation)
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
    return web.json_response(body, status=200 if result.outcome == 'unchanged' else 201)
