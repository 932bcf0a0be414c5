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
reference. A reporter who gave consent is subscribed to their case in the same transaction (sources/cases/reporters.py).
The storing is `sources.cases.updates.save_update`, shared with the officers' case page.

`GET /api/cases/{reference}` (case_officer): the case as an officer sees it (sources/cases/queries.py): stage, every
version, subscribers with masked contact details, and every message sent about it with Notify's delivery status.

Trust: a token bound to sources may push only for them (403 naming them, before anything is read or written);
`reporter.verified` is honoured only for a system token made with `--may-verify`, and otherwise ignored with a
warning in the answer (the reporter is asked to confirm, and hears nothing about the case until they do).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import ValidationError

from notifier.api.auth import CALLER, check_source, field_errors, json_error, read_json, requires
from notifier.app_keys import PG, SETTINGS
from sources.cases import queries as case_queries
from sources.cases.updates import NEED_INFO, CaseUpdate, Location, Place, save_update, status_word
from sources.feeds import registry
from sources.feeds.adapters.open311 import STAGES, stage_map
from sources.feeds.base import SourceError
from subscriptions.places.geocoding import locate_postcode, make_geocoder
from subscriptions.places.postcodes import PostcodeError, normalise_postcode

logger = logging.getLogger('notifier.cases_api')

routes = web.RouteTableDef()


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
    word = status_word(update.status)
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


async def _place(request: web.Request, location: Location | None) -> Place:
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


async def _read(request: web.Request) -> CaseUpdate:
    data = await read_json(request)
    try:
        return CaseUpdate.model_validate(data)
    except ValidationError as exc:
        raise json_error(400, 'invalid request', field_errors(exc)) from None


def checked_reference(raw: str) -> str:
    reference = raw.strip()
    if not 1 <= len(reference) <= 100 or not reference.isprintable():
        raise json_error(400, 'invalid request', {'reference': 'a case reference is 1 to 100 printable characters'})
    return reference


@routes.post('/api/cases/{reference}/updates', name='api-case-updates')
@requires('system', 'case_officer')
async def post_case_update(request: web.Request) -> web.Response:
    reference = checked_reference(request.match_info['reference'])
    update = await _read(request)
    caller = request[CALLER]
    check_source(caller, update.source)
    stage = await _stage(request.app[PG], update)
    if update.evidence_due is not None and stage != NEED_INFO:
        raise json_error(
            400, 'invalid request', {'evidence_due': f'only for the stage {NEED_INFO} ("we need something from you")'}
        )
    place = await _place(request, update.location)
    status, body = await save_update(request.app, reference, update, stage, place, actor=caller.actor, caller=caller)
    return web.json_response(body, status=status)


async def one_case(request: web.Request, reference: str, source: str | None) -> dict[str, Any]:
    """The case with this reference (and source, when several case systems use the reference), or a JSON 404/400."""
    found = await case_queries.find(request.app[PG], reference, source)
    if not found.cases:
        raise json_error(404, f'no case has the reference {reference!r}')
    if found.case is None:
        sources = ', '.join(case['source'] for case in found.cases)
        raise json_error(
            400, 'more than one case system has this reference', {'source': f'name one of: {sources} (?source=)'}
        )
    return found.case


@routes.get('/api/cases/{reference}', name='api-case')
@requires('case_officer')
async def get_case(request: web.Request) -> web.Response:
    """The case as an officer sees it: stage, history, subscribers (masked), every message and its delivery."""
    reference = checked_reference(request.match_info['reference'])
    case = await one_case(request, reference, request.query.get('source') or None)
    return web.json_response(await case_queries.as_json(request.app[PG], case))
