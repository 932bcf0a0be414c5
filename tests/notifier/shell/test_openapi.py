"""GET /api/openapi.json describes exactly the API the router serves: every /api route and method, each with the
roles its `@requires(...)` names, the body model its handler validates with, and the error envelope."""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

import pytest
import schemathesis
from aiohttp import web

from notifier.api.auth import json_error
from notifier.shell import openapi, openapi_paths
from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for

METHODS = ('get', 'put', 'post', 'delete', 'patch')
READS_MODEL = re.compile(r'read_body\(request, (\w+)\)')


@pytest.fixture
def app() -> web.Application:
    return create_app(settings_for(Services('', '', '')))


def router_operations(app: web.Application) -> dict[tuple[str, str], web.AbstractRoute]:
    return {(method.lower(), path): route for method, path, route in openapi.documented_routes(app)}


async def test_the_document_is_served_without_a_token(aiohttp_client: Any, services: Services) -> None:
    client = await aiohttp_client(create_app(settings_for(services)))
    answer = await client.get('/api/openapi.json')
    assert answer.status == 200 and answer.content_type == 'application/json'
    document = await answer.json()
    assert document['openapi'].startswith('3.1')
    assert document['components']['securitySchemes']['bearer'] == {
        'type': 'http',
        'scheme': 'bearer',
        'description': 'an API token',
    }
    assert '/api/cases/{reference}/updates' in document['paths']
    assert document['servers'] == [{'url': 'http://tellme.test'}]  # the public address, where callers find it
    schemathesis.openapi.from_dict(document).validate()  # a valid OpenAPI 3.1 document (raises if not)


def test_every_route_is_documented_and_every_operation_is_a_route(app: web.Application) -> None:
    served = router_operations(app)
    document = openapi.document(app)
    documented = {(method, path) for path, item in document['paths'].items() for method in item if method in METHODS}
    assert documented == set(served), (
        f'missing from the document: {sorted(set(served) - documented)}; '
        f'not in the router: {sorted(documented - set(served))}'
    )
    assert len(served) >= 20


def test_every_api_route_has_its_description_and_none_is_stale(app: web.Application) -> None:
    names = {route.name for route in router_operations(app).values()}
    assert names == set(openapi_paths.OPERATIONS), (
        f'describe these in notifier/shell/openapi_paths.py: {sorted(names - set(openapi_paths.OPERATIONS))}; '
        f'no such routes: {sorted(set(openapi_paths.OPERATIONS) - names)}'
    )


def test_x_roles_are_the_roles_in_each_requires(app: web.Application) -> None:
    document = openapi.document(app)
    for (method, path), route in router_operations(app).items():
        operation = document['paths'][path][method]
        roles = getattr(route.handler, 'api_roles', None)
        assert operation['x-roles'] == list(roles or []), (method, path)
        if roles is None:
            assert operation['security'] == [] and '401' not in operation['responses'], (method, path)
        else:
            assert operation['security'] == [{'bearer': []}], (method, path)
            assert {'401', '403'} <= set(operation['responses']), (method, path)
            assert all(role in operation['description'] for role in roles), (method, path)


def test_request_bodies_are_the_models_the_handlers_validate_with(app: web.Application) -> None:
    document = openapi.document(app)
    schemas = document['components']['schemas']
    checked = 0
    for (method, path), route in router_operations(app).items():
        source = inspect.getsource(inspect.unwrap(route.handler))
        operation = document['paths'][path][method]
        read = READS_MODEL.search(source)
        if read:
            module = inspect.getmodule(inspect.unwrap(route.handler))
            model = getattr(module, read.group(1))
            assert operation['requestBody']['content']['application/json']['schema'] == {
                '$ref': f'#/components/schemas/{model.__name__}'
            }, (method, path)
            refine = openapi_paths.OPERATIONS[route.name].refine
            assert set(refine) <= set(model.model_fields), f'{method} {path} refines fields the model does not have'
            expected = openapi.body_schema(model, refine)
            expected.pop('$defs', None)
            assert schemas[model.__name__] == expected, (method, path)
            checked += 1
        if method in ('post', 'put') and ('read_json(' in source or 'read_body(' in source or '_read(' in source):
            assert 'requestBody' in operation, f'{method} {path} reads a body the document does not describe'
    assert checked >= 5


def test_errors_are_described_as_the_envelope_json_error_writes(app: web.Application) -> None:
    document = openapi.document(app)
    envelope = document['components']['schemas']['Error']
    error = json_error(400, 'invalid request', {'title': 'Enter a title'})
    assert set(envelope['properties']) == set(json.loads(error.text))
    for status in ('400', '401', '403', '404', '409'):
        response = document['components']['responses'][f'E{status}']
        assert response['content']['application/json']['schema'] == {'$ref': '#/components/schemas/Error'}
