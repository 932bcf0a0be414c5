"""A client that goes away in the middle of sending its request (a phone losing signal, a proxy timing out, a load
tester stopping) is not an error of ours: no traceback at ERROR for an operator to chase, one INFO line, and the app
goes on answering. Found by benchmarks/scale.py, where wrk hangs up mid-request when it stops. A real `tellme web`
process: aiohttp's test server cancels the handler instead, which hides what production does (the read fails)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from notifier.shell.app import error_middleware
from notifier.shell.embedded import free_port
from tests.conftest import Services
from tests.support.api import new_token
from tests.support.web import start_web, wait_serving


async def cut_short(port: int, head: str) -> None:
    """Send `head` and a tenth of the body it promises, then hang up."""
    _, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write(head.encode() + b'{"source": "x"')
    await writer.drain()
    await asyncio.sleep(0.2)  # the app has the headers and is reading the body
    writer.close()
    await writer.wait_closed()


@pytest.mark.timeout(120)
async def test_a_request_cut_short_is_not_logged_as_an_error(services: Services, pg: asyncpg.Pool) -> None:
    port = free_port()
    web = await start_web(services, port, LOG_LEVEL='INFO')
    token = await new_token(pg, name='case system')
    try:
        await wait_serving(port)
        async with aiohttp.ClientSession() as http:
            await cut_short(port, (
                'POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
                f'Authorization: Bearer {token}\r\nContent-Length: 140\r\n\r\n'
            ))  # fmt: skip
            async with http.get(f'http://127.0.0.1:{port}/near') as response:  # a form's cookie, as a browser has
                cookie = response.cookies['tellme_csrf'].value
            await cut_short(port, (
                'POST /near HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n'
                f'Cookie: tellme_csrf={cookie}\r\nContent-Length: 140\r\n\r\n'
            ))  # fmt: skip
            async with http.get(f'http://127.0.0.1:{port}/livez') as response:
                assert response.status == 200  # still answering
        web.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(web.communicate(), 30)
    finally:
        if web.returncode is None:
            web.kill()
            await web.wait()
    lines = [json.loads(line) for line in output.decode().splitlines() if line.startswith('{')]
    errors = [line['message'] for line in lines if line['level'] in ('ERROR', 'CRITICAL')]
    assert errors == [], errors
    gone = [line['message'] for line in lines if 'went away' in line['message']]
    assert gone == ['the client went away during POST api-events', 'the client went away during POST /near'], [
        (line['message'], line.get('status')) for line in lines if line.get('status')
    ]
    assert [line['route'] for line in lines if line.get('status') == 499] == ['/api/events', '/near']


async def test_a_connection_reset_while_the_client_is_still_there_is_our_error(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A ConnectionResetError from our own side (asyncpg's connection to PostgreSQL reset in a failover, a pooler
    restarting) while the resident is still waiting is a failure of ours: a 500 they can read, logged at ERROR,
    never a silent 499."""

    async def database_gone(request: web.Request) -> web.Response:
        raise ConnectionResetError('the database connection was reset')

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get('/api/thing', database_gone, name='thing')
    client = await aiohttp_client(app)
    with caplog.at_level(logging.INFO):
        response = await client.get('/api/thing')
    assert response.status == 500
    assert 'Sorry, something went wrong' in (await response.json())['message']
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ['unhandled error on GET thing']
