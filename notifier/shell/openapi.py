"""`GET /api/openapi.json`: the JSON API described as OpenAPI 3.1, built from the app's own router.

Every /api route becomes an operation, and so do the probes (/livez, /readyz, /healthz; tag `probes`): its path
and method from the router, its roles from the `@requires(...)` on the handler (as `x-roles` and in words), its body
schema from the pydantic model the handler validates with, and its answers with the error envelope
`{message, errors}` that notifier.api.auth.json_error writes. What the router cannot know (summaries, bodies,
answers) is in notifier/shell/openapi_paths.py by route name. No token is needed to read the document: it describes
the API and holds no data.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from notifier.app_keys import SETTINGS
from notifier.shell.openapi_paths import OPERATIONS, PROBES, Op, Schema

routes = web.RouteTableDef()

ERROR = {'$ref': '#/components/schemas/Error'}
PARAMETER = re.compile(r'{([^}:]+)(?::[^}]*)?}')
REASONS = {
    400: 'The request is wrong: `errors` names each field and what to do',
    401: 'No API token, or one that is unknown, expired or revoked',
    403: "The token's role may not do this (or it is bound to other sources)",
    404: 'Not found',
    409: 'It cannot be done in the state things are in now',
    422: 'Well formed, but not something this caller may ask for: `errors` names the field and why',
    503: 'The service is not configured for this (the message says what is missing)',
}
ROLE_WORDS = 'Tokens with the role {roles} may call this (admin tokens may call everything).'


def api_routes(app: web.Application) -> list[tuple[str, str, web.AbstractRoute]]:
    """(method, path, route) for every /api route in the router (HEAD, which aiohttp adds to each GET, left out)."""
    found = []
    for route in app.router.routes():
        resource = route.resource
        path = PARAMETER.sub(r'{\1}', resource.canonical) if resource is not None else ''
        if route.method != 'HEAD' and path.startswith('/api/'):
            found.append((route.method, path, route))
    return found


def documented_routes(app: web.Application) -> list[tuple[str, str, web.AbstractRoute]]:
    """(method, path, route) for every route the document describes: the /api routes and the probes."""
    found = api_routes(app)
    for route in app.router.routes():
        if route.method == 'GET' and route.name in PROBES and route.resource is not None:
            found.append((route.method, route.resource.canonical, route))
    return found


def roles_of(route: web.AbstractRoute) -> tuple[str, ...] | None:
    """The roles its `@requires(...)` names, or None for an operation anyone may call."""
    return getattr(route.handler, 'api_roles', None)


def body_schema(body: type[BaseModel] | Schema, refine: dict[str, Schema]) -> Schema:
    """The body's JSON schema: the model's own, with the properties its validators check further spelt out."""
    if isinstance(body, dict):
        schema = dict(body)
    else:
        schema = body.model_json_schema(ref_template='#/components/schemas/{model}')
    if refine:
        schema['properties'] = {**schema['properties'], **refine}
    return schema


def _body_ref(body: type[BaseModel] | Schema, refine: dict[str, Schema], components: dict[str, Schema]) -> Schema:
    schema = body_schema(body, refine)
    for name, definition in schema.pop('$defs', {}).items():
        components[name] = definition
    title = schema.get('title')
    if title:
        components[title] = schema
        return {'$ref': f'#/components/schemas/{title}'}
    return schema


def _responses(op: Op, roles: tuple[str, ...] | None, has_input: bool) -> dict[str, Any]:
    success = {'description': 'Done', 'content': {'application/json': {'schema': op.answer}}}
    answers: dict[str, Any] = {str(status): success for status in (op.ok, *op.also_ok)}
    for status, why in op.same_answer.items():
        answers[str(status)] = {'description': why, 'content': {'application/json': {'schema': op.answer}}}
    errors = set(op.errors)
    if has_input:
        errors.add(400)
    if roles is not None:
        errors |= {401, 403}
    for status in sorted(errors):
        answers[str(status)] = {'$ref': f'#/components/responses/E{status}'}
    return answers


def operation(method: str, path: str, route: web.AbstractRoute, components: dict[str, Schema]) -> dict[str, Any]:
    op = OPERATIONS.get(route.name or '') or Op('Not described yet (see notifier/shell/openapi_paths.py)', {})
    roles = roles_of(route)
    names = PARAMETER.findall(path)
    parameters = [
        {'name': name, 'in': 'path', 'required': True, 'schema': op.params.get(name, {'type': 'string'})}
        for name in names
    ]
    parameters += [{'name': name, 'in': 'query', 'required': False, 'schema': s} for name, s in op.query.items()]
    if roles is None:
        access = 'No token is needed.'
    else:
        access = ROLE_WORDS.format(roles=' or '.join(roles))
    doc: dict[str, Any] = {
        'operationId': route.name,
        'summary': op.summary,
        'description': access,
        'tags': [path.split('/')[2] if path.startswith('/api/') else 'probes'],
        'x-roles': list(roles) if roles is not None else [],
        'security': [{'bearer': []}] if roles is not None else [],
        'parameters': parameters,
        'responses': _responses(op, roles, bool(parameters) or op.body is not None),
    }
    if op.body is not None:
        schema = _body_ref(op.body, op.refine, components)
        doc['requestBody'] = {'required': op.body_required, 'content': {'application/json': {'schema': schema}}}
    return doc


def document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document for this app's router."""
    error = {
        'type': 'object',
        'required': ['message'],
        'properties': {
            'message': {'type': 'string'},
            'errors': {'type': 'object', 'additionalProperties': {'type': 'string'}},
        },
    }
    components: dict[str, Schema] = {'Error': error}
    paths: dict[str, dict[str, Any]] = {}
    for method, path, route in documented_routes(app):
        paths.setdefault(path, {})[method.lower()] = operation(method, path, route, components)
    json_error = {'application/json': {'schema': ERROR}}
    return {
        'openapi': '3.1.0',
        'info': {
            'title': 'Tell Me API',
            'version': '1',
            'description': (
                'The JSON twins of the staff tools, for case systems and integrations. Send an API token '
                '(`tellme staff create-token`) as `Authorization: Bearer <token>`. Every error is '
                '`{"message": ..., "errors": {field: message}}`. The probes (tag `probes`) need no token.'
            ),
        },
        'servers': [{'url': app[SETTINGS].public_url.rstrip('/')}],
        'paths': dict(sorted(paths.items())),
        'components': {
            'schemas': dict(sorted(components.items())),
            'responses': {f'E{status}': {'description': why, 'content': json_error} for status, why in REASONS.items()},
            'securitySchemes': {'bearer': {'type': 'http', 'scheme': 'bearer', 'description': 'an API token'}},
        },
    }


@routes.get('/api/openapi.json', name='api-openapi')
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document(request.app))
