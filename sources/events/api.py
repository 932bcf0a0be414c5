"""`POST /api/events`: a case system, a feed bridge or a staff tool pushes one normalised event.

The event is recorded and fanned out to the outbox in one transaction (nothing is half-written), and the senders
are woken only after it commits, and every new version is in the audit log with the token that pushed it. Case
officers may push case events; systems and admins anything else. Nobody pushes a bulletin or a staff alert here:
bulletins go through the bulletin flow (approval, audit, cost), staff alerts come from Tell Me's own checks.
"""

from __future__ import annotations

import logging

from aiohttp import web

from notifier import audit
from notifier.api.auth import CALLER, Caller, json_error, read_body, requires
from notifier.app_keys import PG, QUEUE
from notifier.outbox import queue
from sources.events.ingest import IngestRace, IngestRefused, ingest
from sources.events.models import Event

logger = logging.getLogger('notifier.sources_api')

routes = web.RouteTableDef()

# what a role may push, by the event's topic (system and admin: anything but the topics below)
TOPICS_BY_ROLE = {'case_officer': ('cases',)}
# Topics only Tell Me itself writes: a bulletin goes out through the bulletin flow (a second person's approval above
# the threshold, the audit log, the cost shown first), staff alerts come from our own checks.
OWN_TOPICS = {
    'bulletins': 'bulletins are sent through /api/bulletins (or the staff pages), where they are approved and audited',
    'staff': 'staff alerts are raised by Tell Me itself',
}


def _check_topic(caller: Caller, event: Event) -> None:
    top = event.topic.split('/', 1)[0]
    if top in OWN_TOPICS:
        raise json_error(403, OWN_TOPICS[top], {'topic': 'not allowed'})
    allowed = TOPICS_BY_ROLE.get(caller.role)
    if allowed is not None and top not in allowed:
        raise json_error(
            403, f'a {caller.role} token may only send {" or ".join(allowed)} events', {'topic': 'not allowed'}
        )


@routes.post('/api/events', name='api-events')
@requires('system', 'case_officer')
async def post_event(request: web.Request) -> web.Response:
    event = await read_body(request, Event)
    if any(not 1 <= len(name) <= 100 for name in event.attributes):  # a change names its attribute (Change.field)
        raise json_error(400, 'invalid request', {'attributes': 'each attribute name must be 1 to 100 characters'})
    caller = request[CALLER]
    _check_topic(caller, event)
    try:
        async with request.app[PG].acquire() as conn, conn.transaction():
            result = await ingest(conn, event)
            if result.outcome != 'unchanged':
                await audit.record(
                    conn, caller.actor, f'event.{result.outcome}', target_kind='event', target_id=result.event_id,
                    details={'source': event.source, 'external_key': event.external_key[:100], 'topic': event.topic,
                             'version': result.version, 'urgency': event.urgency, 'matched': result.matched},
                )  # fmt: skip
    except IngestRace:
        raise json_error(409, 'this record is being changed by another request; send it again') from None
    except IngestRefused as exc:
        raise json_error(409, str(exc), {'topic': 'may not change'}) from None
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
