"""/healthz as an operator's load balancer and dashboard read it."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from notifier.notify_sim.rules import keys as sim_keys
from notifier.sending import template_links
from notifier.shell.app import create_app
from notifier.shell.embedded import free_port
from notifier.shell.views import HEALTH
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.notify import RunningSim
from workers.heartbeat import Heartbeat


async def test_healthy_when_database_redis_and_notify_answer(
    aiohttp_client: type[TestClient], services: Services, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    notify = sim  # the council's templates are linked
    client = await aiohttp_client(create_app(settings_for(services, notify)))  # type: ignore[operator]
    response = await client.get('/healthz')
    body = await response.json()
    assert response.status == 200, body
    assert body['status'] == 'ok'
    assert {name: check['ok'] for name, check in body['checks'].items()} == {
        'database': True,
        'redis': True,
        'notify': True,
        'notify_templates': True,
    }
    assert body['checks']['database']['detail'].startswith('schema ')
    assert body['checks']['notify_templates']['detail'] == '3 linked'
    assert body['workers_alive'] == 0
    assert response.headers['Cache-Control'] == 'no-store'
    assert response.headers['X-Content-Type-Options'] == 'nosniff'

    heartbeat = Heartbeat(pg)
    await heartbeat.start()
    try:
        # one report serves every caller for a few seconds; a later one sees the worker
        assert (await (await client.get('/healthz')).json())['workers_alive'] == 0
        client.app[HEALTH].clear()
        assert (await (await client.get('/healthz')).json())['workers_alive'] == 1
    finally:
        await heartbeat.stop()
    client.app[HEALTH].clear()
    assert (await (await client.get('/healthz')).json())['workers_alive'] == 0


async def test_unhealthy_when_notify_cannot_be_reached(
    aiohttp_client: type[TestClient], services: Services, notify: RunningSim
) -> None:
    key = notify.key
    settings = settings_for(services, notify, notify_base_url=f'http://127.0.0.1:{free_port()}')
    client = await aiohttp_client(create_app(settings))  # type: ignore[operator]
    response = await client.get('/healthz')
    body = await response.json()
    assert response.status == 503
    assert body['checks']['notify']['ok'] is False
    assert 'could not connect' in body['checks']['notify']['detail']
    assert body['checks']['database']['ok'] is True
    assert key[-36:] not in await response.text()


async def test_unhealthy_when_the_notify_key_is_wrong(
    aiohttp_client: type[TestClient], services: Services, notify: RunningSim
) -> None:
    stranger = sim_keys.generate_api_key('stranger')
    settings = settings_for(services, notify, notify_api_key=stranger)
    client = await aiohttp_client(create_app(settings))  # type: ignore[operator]
    body = await (await client.get('/healthz')).json()
    assert body['checks']['notify']['ok'] is False
    assert 'Invalid token: service not found' in body['checks']['notify']['detail']


async def test_unhealthy_and_saying_which_while_a_notify_template_is_not_linked(
    aiohttp_client: type[TestClient], services: Services, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    # the council changed its text template after linking, and `tellme notify check` found it
    sim.sim.edit_template(sim.council_template('sms').id, body='Hello ((name)) ((body))')
    await template_links.check(pg, sim.client(), settings_for(services, sim))
    client = await aiohttp_client(create_app(settings_for(services, sim)))  # type: ignore[operator]
    response = await client.get('/healthz')
    body = await response.json()
    assert response.status == 503 and body['checks']['notify']['ok'] is True
    check = body['checks']['notify_templates']
    assert (
        check['ok'] is False
        and 'sms template “Tell Me text message”' in check['detail']
        and '((name))' in check['detail']
    )
