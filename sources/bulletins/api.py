"""The bulletins JSON API (bearer tokens): the staff pages' twins for a comms team's own tools.

- POST /api/bulletins                    comms      a draft (the compose form's fields) → 201 {id, status, …}
- GET  /api/bulletins/{id}/preview       comms, approver  rendered messages, audience per channel, cost, saving
- POST /api/bulletins/{id}/send          comms      {"send_at": ISO time or absent for now} → status
- POST /api/bulletins/{id}/approve       approver   (not the token that created it) → status
- POST /api/bulletins/{id}/send-back     approver   {"reason": why} (not the token that created it) → draft again
- POST /api/bulletins/{id}/pause | resume | cancel   comms
- GET  /api/bulletins/{id}               comms, approver  status and progress counts from the outbox; `sent` once
                                                           every message has gone (settled here too: finish.py)
Every change is audited with the token as the actor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from notifier import audit
from notifier.api.auth import CALLER, iso, json_error, read_body, read_json, requires
from notifier.app_keys import PG, QUEUE, SETTINGS
from sources.bulletins import costs as bulletin_costs
from sources.bulletins import finish
from sources.bulletins import flow as bulletins
from sources.bulletins import reports as bulletin_reports
from sources.bulletins.drafts import draft_from_json, resolve
from sources.bulletins.pages import MAX_AHEAD, wake

routes = web.RouteTableDef()


class SendBack(BaseModel):
    """Why an approver sends a bulletin back to its author (required: the author reads it)."""

    model_config = ConfigDict(frozen=True, extra='forbid')

    reason: str = Field(min_length=1, max_length=bulletins.REASON_MAX + 100)


def _actor(request: web.Request) -> audit.Actor:
    caller = request[CALLER]
    return audit.Actor('token', caller.token_id, caller.name)


def _id(request: web.Request) -> int:
    value = request.match_info['bulletin_id']
    if not value.isdigit() or len(value) > 12:
        raise json_error(404, 'no such bulletin')
    return int(value)


async def _row(request: web.Request) -> Any:
    try:
        return await bulletins.get(request.app[PG], _id(request))
    except bulletins.BulletinNotFound:
        raise json_error(404, 'no such bulletin') from None


async def _status(request: web.Request, row: Any) -> dict[str, Any]:
    progress = await bulletin_reports.progress(request.app[PG], row['event_id'])
    if row['status'] in finish.GOING and progress.finished:
        async with request.app[PG].acquire() as conn:
            if await finish.settle(conn, row['id']):
                row = await bulletins.get(conn, row['id'])
    sent_back = None
    if row['sent_back_at'] is not None:
        sent_back = {'reason': row['sent_back_reason'], 'by': row['sent_back_by_name'], 'at': iso(row['sent_back_at'])}
    return {
        'id': row['id'], 'title': row['title'], 'status': row['status'], 'urgency': row['urgency'],
        'area': row['area_kind'], 'channels': list(row['channels']), 'audience': row['audience'],
        'needs_approval': row['needs_approval'], 'approved_by': row['approved_by_name'],
        'send_at': iso(row['send_at']), 'finished_at': iso(row['finished_at']), 'sent_back': sent_back,
        'progress': {'total': progress.total, **{b: progress.count(b) for b in bulletin_reports.BUCKET_ORDER},
                     'by_channel': progress.by_channel, 'finished': progress.finished},
    }  # fmt: skip


@routes.post('/api/bulletins', name='api-bulletins')
@requires('comms')
async def create(request: web.Request) -> web.Response:
    draft = draft_from_json(await read_json(request))
    async with request.app[PG].acquire() as conn:
        target, errors = await resolve(conn, draft)
        if errors or target is None:
            raise json_error(400, 'invalid request', dict(errors))
        new_id = await bulletins.create(conn, draft, target, _actor(request))
        row = await bulletins.get(conn, new_id)
    return web.json_response(await _status(request, row), status=201)


@routes.get('/api/bulletins/{bulletin_id}', name='api-bulletin')
@requires('comms', 'approver')
async def status(request: web.Request) -> web.Response:
    return web.json_response(await _status(request, await _row(request)))


@routes.get('/api/bulletins/{bulletin_id}/preview', name='api-bulletin-preview')
@requires('comms', 'approver')
async def preview(request: web.Request) -> web.Response:
    row = await _row(request)
    settings = request.app[SETTINGS]
    audience, shown, cost = await bulletin_costs.check(request.app[PG], row, settings)
    spreads = await bulletin_costs.spreads(request.app[QUEUE], request.app[PG], settings, audience,
                                           list(row['channels']), row['urgency'])  # fmt: skip
    body = {
        'id': row['id'], 'status': row['status'],
        'messages': [{'channel': channel, 'language': language, 'subject': p.subject, 'body': p.body,
                      'characters': p.characters, 'fragments': p.fragments}
                     for (channel, language), p in shown.items()],
        'audience': {'people': audience.people, **{c: audience.on(c) for c in row['channels']}},
        'cost': {'texts': cost.texts, 'fragments': cost.fragments, 'text_pence': cost.text_pence,
                 'sms_price_pence': settings.sms_price_pence, 'letters': cost.letters, 'emails': cost.emails},
        'saving': {'calls': cost.people, 'pence': cost.saving_pence},
        'needs_approval': audience.people > settings.approval_threshold,
        'days_at_notify_limits': {one.channel: {'days': one.days, 'today': one.today} for one in spreads},
    }  # fmt: skip
    return web.json_response(body)


def _send_at(data: dict[str, Any]) -> datetime | None:
    value = data.get('send_at')
    if value in (None, '', 'now'):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise json_error(400, 'invalid request', {'send_at': 'give an ISO 8601 time with its offset'}) from None
    now = datetime.now(UTC)
    if moment.tzinfo is None:
        raise json_error(400, 'invalid request', {'send_at': 'give the time with its offset, e.g. +00:00'})
    if moment <= now or moment - now > MAX_AHEAD:
        raise json_error(400, 'invalid request', {'send_at': 'must be in the next 90 days'})
    return moment


async def _released(request: web.Request, bulletin_id: int, new_status: str) -> web.Response:
    if new_status in ('sending', 'awaiting_approval', 'draft'):  # messages, approvers' or the author's email
        await wake(request)
    return web.json_response(await _status(request, await bulletins.get(request.app[PG], bulletin_id)))


@routes.post('/api/bulletins/{bulletin_id}/send', name='api-bulletin-send')
@requires('comms')
async def send(request: web.Request) -> web.Response:
    row = await _row(request)
    send_at = _send_at(await read_json(request) if request.can_read_body else {})
    try:
        async with request.app[PG].acquire() as conn:
            new_status = await bulletins.submit(conn, row['id'], _actor(request), send_at=send_at,
                                                threshold=request.app[SETTINGS].approval_threshold,
                                                public_url=request.app[SETTINGS].public_url)  # fmt: skip
    except bulletins.BulletinError as exc:
        raise json_error(409, str(exc)) from None
    return await _released(request, row['id'], new_status)


@routes.post('/api/bulletins/{bulletin_id}/approve', name='api-bulletin-approve')
@requires('approver')
async def approve(request: web.Request) -> web.Response:
    row = await _row(request)
    try:
        async with request.app[PG].acquire() as conn:
            new_status = await bulletins.approve(conn, row['id'], _actor(request),
                                                 threshold=request.app[SETTINGS].approval_threshold,
                                                 public_url=request.app[SETTINGS].public_url)  # fmt: skip
    except bulletins.BulletinError as exc:
        raise json_error(409, str(exc)) from None
    return await _released(request, row['id'], new_status)


@routes.post('/api/bulletins/{bulletin_id}/send-back', name='api-bulletin-send-back')
@requires('approver')
async def send_back(request: web.Request) -> web.Response:
    row = await _row(request)
    asked = await read_body(request, SendBack)
    problem = bulletins.reason_problem(asked.reason)
    if problem:
        raise json_error(400, 'invalid request', {'reason': problem})
    try:
        async with request.app[PG].acquire() as conn:
            await bulletins.send_back(conn, row['id'], _actor(request), reason=asked.reason,
                                      public_url=request.app[SETTINGS].public_url)  # fmt: skip
    except bulletins.BulletinError as exc:
        raise json_error(409, str(exc)) from None
    return await _released(request, row['id'], 'draft')


async def _step(request: web.Request, step: str) -> web.Response:
    row = await _row(request)
    action = {'pause': bulletins.pause, 'resume': bulletins.resume, 'cancel': bulletins.cancel}[step]
    try:
        async with request.app[PG].acquire() as conn:
            await action(conn, row['id'], _actor(request))
    except bulletins.BulletinError as exc:
        raise json_error(409, str(exc)) from None
    return await _released(request, row['id'], 'sending' if step == 'resume' else step)


@routes.post('/api/bulletins/{bulletin_id}/pause', name='api-bulletin-pause')
@requires('comms')
async def pause(request: web.Request) -> web.Response:
    return await _step(request, 'pause')


@routes.post('/api/bulletins/{bulletin_id}/resume', name='api-bulletin-resume')
@requires('comms')
async def resume(request: web.Request) -> web.Response:
    return await _step(request, 'resume')


@routes.post('/api/bulletins/{bulletin_id}/cancel', name='api-bulletin-cancel')
@requires('comms')
async def cancel(request: web.Request) -> web.Response:
    return await _step(request, 'cancel')
