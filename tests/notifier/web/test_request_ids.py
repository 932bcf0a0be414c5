"""Request ids and the access log (notifier/web/request_ids.py): a sane X-Request-Id is kept and anything else
replaced, every answer carries it, and the access line names the route, never a token, a query string or (unless
the council chose it) the client's address."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from notifier.app_keys import SETTINGS
from notifier.settings import Settings
from notifier.web import request_ids
from tests.support.logs import captured_logs

TOKEN = '12.AbCdEfGhIjKlMnOpQrStUv'
NEW_ID = re.compile(r'[0-9a-f]{32}')


def tiny_app(**settings: Any) -> web.Application:
    app = web.Application()
    app[SETTINGS] = Settings(**settings)
    request_ids.setup(app)
    routes = web.RouteTableDef()

    @routes.get(r'/confirm/{token:[0-9]{1,18}\.[A-Za-z0-9_-]{1,40}}')
    async def confirm(request: web.Request) -> web.Response:
        logging.getLogger('notifier.test').info('handling')
        return web.Response(text='confirmed')

    @routes.post('/go')
    async def go(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther('/confirm/' + TOKEN)

    @routes.get('/download')
    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b'x' * 10)
        return response

    @routes.get('/broken')
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError('boom')

    @routes.get('/healthz', name='healthz')
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({'ok': True})

    app.add_routes(routes)
    return app


async def client_for(aiohttp_client: Any, **settings: Any) -> TestClient:
    return await aiohttp_client(tiny_app(**settings))


async def test_a_sane_request_id_is_kept_and_logged_on_every_line_of_the_request(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client)
    with captured_logs() as captured:
        answer = await client.get(f'/confirm/{TOKEN}?lang=cy', headers={'X-Request-Id': 'lb-1.2_3'})
    assert answer.status == 200 and answer.headers['X-Request-Id'] == 'lb-1.2_3'
    handled, access = captured.lines()
    assert handled['message'] == 'handling' and handled['request_id'] == 'lb-1.2_3'
    assert access['logger'] == 'notifier.access' and access['request_id'] == 'lb-1.2_3'
    assert access['method'] == 'GET' and access['route'] == '/confirm/{token}' and access['status'] == 200
    assert access['bytes'] == len('confirmed') and access['duration_ms'] >= 0
    assert TOKEN not in captured.text and 'lang' not in captured.text
    assert 'client_ip' not in access and '127.0.0.1' not in captured.text


@pytest.mark.parametrize('given', ['', 'a' * 65, 'has space', 'jo@example.com', '<script>', 'ünïcode'])
async def test_anything_else_is_replaced_by_a_new_id(aiohttp_client: Any, given: str) -> None:
    client = await client_for(aiohttp_client)
    with captured_logs() as captured:
        answer = await client.get(f'/confirm/{TOKEN}', headers={'X-Request-Id': given})
    made = answer.headers['X-Request-Id']
    assert NEW_ID.fullmatch(made)
    assert {line['request_id'] for line in captured.lines()} == {made}


async def test_redirects_errors_streams_and_unknown_paths_carry_the_id_too(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client)
    with captured_logs() as captured:
        redirected = await client.post('/go', allow_redirects=False)
        streamed = await client.get('/download')
        missing = await client.get('/manage/s/' + TOKEN + '/nothing-here')
        broken = await client.get('/broken')
    answers = [redirected, streamed, missing, broken]
    assert [answer.status for answer in answers] == [303, 200, 404, 500]
    ids = [answer.headers['X-Request-Id'] for answer in answers]
    assert len(set(ids)) == 4 and all(NEW_ID.fullmatch(rid) for rid in ids)
    access = {line['request_id']: line for line in captured.of('notifier.access')}
    assert [access[rid]['route'] for rid in ids] == ['/go', '/download', '/manage/…', '/broken']
    assert [access[rid]['status'] for rid in ids] == [303, 200, 404, 500]
    assert access[ids[0]]['bytes'] == redirected.content_length
    assert access[ids[1]].get('bytes') is None, 'a streamed answer is still being written'
    assert TOKEN not in captured.text
    [error] = [line for line in captured.lines() if line['level'] == 'ERROR']
    assert error['message'] == 'unhandled error on GET /broken' and error['request_id'] == ids[3]
    assert 'RuntimeError: boom' in error['exception'] and '127.0.0.1' not in captured.text


async def test_health_checks_are_logged_at_debug(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client)
    with captured_logs(level=logging.INFO) as captured:
        assert (await client.get('/healthz')).status == 200
    assert captured.text == ''


async def test_the_client_address_is_logged_only_when_the_council_chooses(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client, log_client_ip=True)
    with captured_logs() as captured:
        await client.get('/healthz')
    [access] = captured.of('notifier.access')
    assert access['client_ip'] == '127.0.0.1'
