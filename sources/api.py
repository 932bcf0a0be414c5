"""`POST /api/events`: a case system, a feed bridge or a staff tool pushes one normalised event.

The event is recorded and fanned out to the outbox in one transaction (nothing is half-written), and the senders
are woken only after it commits. Case officers may push case events and comms staff bulletins; systems and
admins anything.
"""

from __future__ import annotations

import logging

from aiohttp import web

from notifier import queue
from notifier.api_auth import CALLER, Caller, json_error, read_body, requires
from notifier.app_keys import PG, QUEUE
from sources.ingest import IngestRace, ingest
from sources.models import Event

logger = logging.getLogger('notifier.sources_api')

routes = web.RouteTableDef()

# what a role may push, by the event's topic (system and admin: anything)
TOPICS_BY_ROLE = {'case_officer': ('cases',), 'comms': ('bulletins',)}


def _check_topic(caller: Caller, event: Event) -> None:
    allowed = TOPICS_BY_ROLE.get(caller.role)
    if allowed is not None and event.topic.split('/', 1)[0] not in allowed:
        raise json_error(
            403, f'a {caller.role} token may only send {" or ".join(allowed)} events', {'topic': 'not allowed'}
        )


@routes.post('/api/events', name='api-events')
@requires('system', 'case_officer', 'comms')
async def post_event(request: web.Request) -> web.Response:
    event = await read_body(request, Event)
    if any(not 1 <= len(name) <= 100 for name in event.attributes):  # a change names its attribute (Change.field)
        raise json_error(400, 'invalid request', {'attributes': 'each attribute name must be 1 to 100 characters'})
    _check_topic(request[CALLER], event)
    try:
        async with request.app[PG].acquire() as conn, conn.transaction():
            result = await ingest(conn, event)
    except IngestRace:
        raise json_error(409, 'this record is being changed by another request; send it again') from None
    if result.matched:
        try:
            await queue.wake_for_event(request.app[QUEUE], result.event_id or 0)
        except Exception:  # noqa: BLE001 - the rows are committed; the senders also poll the outbox
            logger.warning('could not wake the senders for event %s', result.event_id, exc_info=True)
    body = {
        'event_id': result.event_id,
        'version': result.version,
        'outcome': result.outcome,
        'matched': result.matched,
    }
    return web.json_response(body, status=200 if result.outcome == 'unchanged' else 201)
