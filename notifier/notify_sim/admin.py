"""Inspection and control under /_sim/ (no authentication; never part of the real API)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from . import shapes
from .faults import Fault, FaultSpecError
from .rules import rendering
from .rules.keys import Template
from .simulator import SIM
from .store import Notification

routes = web.RouteTableDef()


def sim_notification(n: Notification) -> dict[str, Any]:
    return {
        'id': n.id,
        'service_id': n.service_id,
        'key_type': n.key_type,
        'api_key_name': n.api_key_name,
        'type': n.type,
        'recipient': n.to,
        'reference': n.reference,
        'status': n.status,
        'public_status': n.public_status,
        'template_id': n.template_id,
        'template_version': n.template_version,
        'subject': n.subject,
        'body': n.body,
        'personalisation': n.personalisation,
        'created_at': shapes.fmt(n.created_at),
        'sent_at': shapes.fmt(n.sent_at),
        'updated_at': shapes.fmt(n.updated_at),
        'history': [{'status': s, 'at': shapes.fmt(at)} for s, at in n.history],
    }


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text='request body must be JSON') from exc


@routes.get('/_sim/notifications')
async def list_notifications(request: web.Request) -> web.Response:
    items = request.app[SIM].store.all()
    for name in ('reference', 'status', 'type', 'key_type'):
        if name in request.query:
            wanted = request.query[name]
            items = [n for n in items if str(getattr(n, name)) == wanted]
    return web.json_response({'notifications': [sim_notification(n) for n in items]})


@routes.get('/_sim/notifications/{notification_id}')
async def get_notification(request: web.Request) -> web.Response:
    n = request.app[SIM].store.get(request.match_info['notification_id'])
    if n is None:
        raise web.HTTPNotFound(text='no such notification')
    return web.json_response(sim_notification(n))


@routes.post('/_sim/notifications/{notification_id}/status')
async def set_status(request: web.Request) -> web.Response:
    """Force a status now (fires the delivery callback for final statuses)."""
    sim = request.app[SIM]
    n = sim.store.get(request.match_info['notification_id'])
    if n is None:
        raise web.HTTPNotFound(text='no such notification')
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get('status'), str):
        raise web.HTTPBadRequest(text='body must be {"status": "..."}')
    sim.set_status(n, body['status'])
    return web.json_response(sim_notification(n))


@routes.post('/_sim/reset')
async def reset(request: web.Request) -> web.Response:
    request.app[SIM].reset()
    return web.json_response({'reset': True})


@routes.get('/_sim/faults')
async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIM].faults.describe())


@routes.post('/_sim/faults')
async def add_fault(request: web.Request) -> web.Response:
    """Add a recipient rule: {"match": {...}, "action": "500", "count": 2}."""
    try:
        fault = Fault.from_json(await _json(request))
    except FaultSpecError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    request.app[SIM].faults.add_rule(fault)
    return web.json_response(request.app[SIM].faults.describe(), status=201)


@routes.post('/_sim/faults/next')
async def set_next(request: web.Request) -> web.Response:
    """Global switch: {"action": "503", "count": 3} applies to the next 3 sends ("all_endpoints": true for any)."""
    try:
        fault = Fault.from_json(await _json(request), global_switch=True)
    except FaultSpecError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    request.app[SIM].faults.set_next(fault)
    return web.json_response(request.app[SIM].faults.describe(), status=201)


@routes.delete('/_sim/faults')
async def clear_faults(request: web.Request) -> web.Response:
    request.app[SIM].faults.clear()
    return web.json_response(request.app[SIM].faults.describe())


@routes.post('/_sim/inbound-sms')
async def inbound_sms(request: web.Request) -> web.Response:
    """Inject a received text: {"user_number", "content", optional "service_id" and "notify_number"}."""
    sim = request.app[SIM]
    body = await _json(request)
    if not isinstance(body, dict) or not body.get('user_number') or 'content' not in body:
        raise web.HTTPBadRequest(text='body must have "user_number" and "content"')
    service_id = body.get('service_id') or (next(iter(sim.services)) if len(sim.services) == 1 else None)
    if service_id not in sim.services:
        raise web.HTTPBadRequest(text='"service_id" must name a configured service')
    text = sim.receive_text(service_id, str(body['user_number']), str(body['content']), body.get('notify_number'))
    return web.json_response(shapes.received_text(text), status=201)


@routes.get('/_sim/callbacks')
async def callbacks(request: web.Request) -> web.Response:
    return web.json_response({'callbacks': request.app[SIM].callbacks.entries()})


@routes.get('/_sim/limits')
async def limits(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    used = {sid: {ch: sim.daily.used(sid, ch) for ch in sim.daily.limits} for sid in sim.services}
    return web.json_response({'rate_limit_per_minute': sim.rate_limit, 'daily_limits': sim.daily.limits, 'used': used})


# templates: what a person does in Notify's admin (the public API can only read them) -----------------------------
def _sim_template(request: web.Request, template: Template) -> dict[str, Any]:
    sim = request.app[SIM]
    names = rendering.placeholders(f'{template.subject or ""} {template.body}')
    return {**shapes.template(template, names, sim.started_at), 'service_id': template.service_id}


@routes.get('/_sim/templates')
async def list_templates(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    shown = sorted(sim.templates.values(), key=lambda t: t.name)
    return web.json_response({'templates': [_sim_template(request, t) for t in shown]})


@routes.post('/_sim/templates')
async def create_template(request: web.Request) -> web.Response:
    """Create a template as Notify's admin would: {"name", "type", "subject", "body", optional "service_id"};
    Notify (here: the simulator) picks its id."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='body must be {"name", "type", "subject", "body"}')
    try:
        template = request.app[SIM].create_template(
            name=body.get('name'), type=body.get('type'), body=body.get('body'), subject=body.get('subject'),
            service_id=body.get('service_id'),
        )  # fmt: skip
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response(_sim_template(request, template), status=201)


@routes.post('/_sim/templates/{template_id}')
async def edit_template(request: web.Request) -> web.Response:
    """Edit a template as Notify's admin would (any of "name", "subject", "body", "archived"): the next version."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='body must be an object')
    try:
        template = request.app[SIM].edit_template(request.match_info['template_id'], **body)
    except KeyError as exc:
        raise web.HTTPNotFound(text='no such template') from exc
    except (TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response(_sim_template(request, template))


# a service's settings: reply-to email addresses and text message senders, each given an id as Notify's admin does
@routes.post('/_sim/services/{service_id}/{kind:reply-to-addresses|sms-senders}')
async def add_sender(request: web.Request) -> web.Response:
    """{"value": "replies@council.example"} or {"value": "COUNCIL"}: 201 with {"id", "value"}."""
    sim = request.app[SIM]
    service = sim.services.get(request.match_info['service_id'])
    if service is None:
        raise web.HTTPNotFound(text='no such service')
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get('value'), str) or not body['value'].strip():
        raise web.HTTPBadRequest(text='body must be {"value": "..."}')
    new_id = str(uuid.uuid4())
    kept = service.reply_to_addresses if request.match_info['kind'] == 'reply-to-addresses' else service.sms_senders
    kept[new_id] = body['value'].strip()
    return web.json_response({'id': new_id, 'value': kept[new_id]}, status=201)
