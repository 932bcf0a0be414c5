"""The v2 read endpoints: notifications, received texts, templates and template preview."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from . import shapes
from .rules import rendering, schemas
from .rules.errors import ApiError, bad_request, no_result_found, validation_error
from .rules.keys import TEMPLATE_TYPES, Template
from .sending import check_schema, parse_json, url_root
from .simulator import API_KEY, SERVICE, SIM

routes = web.RouteTableDef()

MINIMAL_PDF = (
    b'%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n'
    b'3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n'
)


def check_uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise validation_error(f'{field} is not a valid UUID') from exc


@routes.get('/v2/notifications/{notification_id}')
async def get_notification(request: web.Request) -> web.Response:
    notification_id = check_uuid(request.match_info['notification_id'], 'notification_id')
    n = request.app[SIM].store.get(notification_id, request[SERVICE].id)  # any key type, as in the real server
    if n is None:
        raise no_result_found()
    return web.json_response(shapes.notification(n, url_root(request), _fragments(n.type, n.body)))


def _fragments(channel: str, body: str) -> int:
    return rendering.sms_fragment_count(body) if channel == 'sms' else 1


@routes.get('/v2/notifications/{notification_id}/pdf')
async def get_pdf(request: web.Request) -> web.Response:
    try:
        notification_id = str(uuid.UUID(request.match_info['notification_id']))
    except ValueError as exc:
        raise web.HTTPNotFound() from exc  # the real route uses a <uuid:...> converter
    n = request.app[SIM].store.get(notification_id, request[SERVICE].id)
    if n is None:
        raise no_result_found()
    if n.type != 'letter':
        raise bad_request('Notification is not a letter')
    if n.status == 'virus-scan-failed':
        raise bad_request('File did not pass the virus scan')
    if n.status == 'technical-failure':
        raise bad_request(f'PDF not available for letters in status {n.status}')
    if n.status == 'pending-virus-check':
        raise ApiError(400, 'PDFNotReadyError', 'PDF not available yet, try again later')
    return web.Response(body=n.precompiled_pdf or MINIMAL_PDF, content_type='application/pdf')


def _list_query(request: web.Request) -> dict[str, Any]:
    return schemas.query_args_to_body({name: request.query.getall(name) for name in request.query})


@routes.get('/v2/notifications')
async def list_notifications(request: web.Request) -> web.Response:
    data = check_schema('get_notifications', _list_query(request))
    sim, service, key = request.app[SIM], request[SERVICE], request[API_KEY]
    items = sim.store.page(
        service.id,
        key.key_type,
        statuses=data.get('status'),
        template_types=data.get('template_type'),
        reference=data.get('reference'),
        older_than=data.get('older_than'),
    )
    base = f'{url_root(request)}v2/notifications'
    links = {'current': f'{base}?{urlencode(data, doseq=True)}' if data else base}
    if items:
        links['next'] = f'{base}?{urlencode({**data, "older_than": items[-1].id}, doseq=True)}'
    root = url_root(request)
    return web.json_response(
        {'notifications': [shapes.notification(n, root, _fragments(n.type, n.body)) for n in items], 'links': links}
    )


@routes.get('/v2/received-text-messages')
async def received_texts(request: web.Request) -> web.Response:
    older_than = request.query.get('older_than')
    unexpected = sorted(set(request.query) - {'older_than'})
    if unexpected:
        raise validation_error(f'Additional properties are not allowed ({", ".join(unexpected)} was unexpected)')
    if older_than is not None:
        older_than = check_uuid(older_than, 'older_than')
    items = request.app[SIM].store.received_page(request[SERVICE].id, older_than)
    base = f'{url_root(request)}v2/received-text-messages'
    links = {'current': base}
    if items:
        links['next'] = f'{base}?older_than={items[-1].id}'
    return web.json_response({'received_text_messages': [shapes.received_text(t) for t in items], 'links': links})


def _template(request: web.Request) -> Template:
    template_id = check_uuid(request.match_info['template_id'], 'id')
    template = request.app[SIM].template_for(request[SERVICE], template_id)
    if template is None:
        raise no_result_found()
    return template


def _template_body(request: web.Request, template: Template) -> dict[str, Any]:
    names = rendering.placeholders(f'{template.subject or ""} {template.body}')
    return shapes.template(template, names, request.app[SIM].started_at)


@routes.get('/v2/template/{template_id}')
async def get_template(request: web.Request) -> web.Response:
    template = _template(request)
    return web.json_response(_template_body(request, template))


@routes.get('/v2/template/{template_id}/version/{version:\\d+}')
async def get_template_version(request: web.Request) -> web.Response:
    template = _template(request)
    if int(request.match_info['version']) != template.version:
        raise no_result_found()  # only the current version is kept
    return web.json_response(_template_body(request, template))


@routes.get('/v2/templates')
async def list_templates(request: web.Request) -> web.Response:
    wanted = request.query.get('type')
    if wanted is not None and wanted not in TEMPLATE_TYPES:
        raise validation_error(f'type {wanted} is not one of [{", ".join(TEMPLATE_TYPES)}]')
    templates = [t for t in request.app[SIM].templates_for(request[SERVICE]) if wanted in (None, t.type)]
    return web.json_response({'templates': [_template_body(request, t) for t in templates]})


@routes.post('/v2/template/{template_id}/preview')
async def preview_template(request: web.Request) -> web.Response:
    raw = await request.read()
    data = parse_json(raw) if raw.strip() else {}
    if isinstance(data, dict):
        data = {**data, 'id': request.match_info['template_id']}
    problems = schemas.validate_request('template_preview', data)
    if problems:
        raise validation_error(*problems)
    template = _template(request)
    personalisation = data.get('personalisation') or {}
    missing = rendering.missing_personalisation(template.subject, template.body, personalisation)
    if missing:
        raise bad_request(rendering.missing_personalisation_message(missing))
    body = rendering.render(template.body, personalisation)
    subject = rendering.render(template.subject, personalisation) if template.subject is not None else None
    return web.json_response(shapes.preview(template, body, subject))
