"""/livez and /readyz as a load balancer or an orchestrator reads them: /livez checks nothing outside the process;
/readyz is the database (reachable, and migrated to this code's newest migration) and Redis, never Notify; the
OpenAPI document describes both."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier import db
from notifier.shell import embedded
from notifier.shell.app import create_app
from notifier.shell.embedded import free_port
from notifier.shell.views import READINESS
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.notify import RunningSim


async def answer(client: TestClient, path: str) -> tuple[int, dict[str, Any]]:
    client.app[READINESS].at = float('-inf')  # one answer serves every caller for a second: ask afresh
    response = await client.get(path)
    assert response.headers['Cache-Control'] == 'no-store'
    return response.status, await response.json()


async def test_live_and_ready_while_notify_cannot_be_reached(
    aiohttp_client: Any, services: Services, notify: RunningSim
) -> None:
    closed = f'http://127.0.0.1:{free_port()}'  # the Notify simulator stopped, as far as this app can tell
    client = await aiohttp_client(create_app(settings_for(services, notify, notify_base_url=closed)))
    assert await answer(client, '/livez') == (200, {'status': 'ok'})
    status, body = await answer(client, '/readyz')
    assert status == 200, body
    assert body['status'] == 'ready' and set(body['checks']) == {'database', 'redis'}
    assert body['checks']['database']['detail'] == f'schema {db.latest_migration()}'
    assert body['checks']['redis'] == {**body['checks']['redis'], 'ok': True, 'detail': 'reachable'}
    health = await client.get('/healthz')  # the detailed view still says Notify is down
    assert health.status == 503 and (await health.json())['checks']['notify']['ok'] is False


@pytest.fixture
async def own_postgres(server_dir: Path) -> AsyncIterator[embedded.EmbeddedPostgres]:
    """A PostgreSQL of this test's own, which the test may stop."""
    postgres = embedded.EmbeddedPostgres(server_dir)
    try:
        yield postgres
    finally:
        postgres.stop()


async def test_not_ready_while_postgres_is_unreachable_and_live_all_along(
    aiohttp_client: Any, services: Services, own_postgres: embedded.EmbeddedPostgres
) -> None:
    server_url = own_postgres.start()
    await db.ensure_database(server_url, 'tellme_probe')
    database_url = db.with_database(server_url, 'tellme_probe')
    conn = await asyncpg.connect(database_url)
    try:
        await db.migrate(conn)
    finally:
        await conn.close()
    client = await aiohttp_client(create_app(settings_for(services, database_url=database_url)))
    status, body = await answer(client, '/readyz')
    assert status == 200, body

    own_postgres.stop()  # the database server goes away under a running web process
    status, body = await answer(client, '/readyz')
    assert status == 503 and body['status'] == 'unready', body
    assert body['checks']['database']['ok'] is False and body['checks']['redis']['ok'] is True
    assert await answer(client, '/livez') == (200, {'status': 'ok'})  # restarting would not bring it back


async def test_not_ready_on_a_database_behind_the_code_until_it_is_migrated(
    aiohttp_client: Any, services: Services, scratch_database: str, tmp_path: Path
) -> None:
    *older, newest = db.find_migrations()
    for migration in older:  # the database as the previous release left it
        shutil.copy(migration.path, tmp_path / migration.path.name)
    conn = await asyncpg.connect(scratch_database)
    try:
        await db.migrate(conn, tmp_path)
        client = await aiohttp_client(create_app(settings_for(services, database_url=scratch_database)))
        status, body = await answer(client, '/readyz')
        assert status == 503, body
        detail = body['checks']['database']['detail']
        assert f'schema {older[-1].version}' in detail and newest.version in detail and 'tellme migrate' in detail

        assert await db.migrate(conn) == [newest.version]  # the release step
        status, body = await answer(client, '/readyz')
        assert status == 200, body
        assert body['checks']['database']['detail'] == f'schema {newest.version}'
    finally:
        await conn.close()


async def test_a_database_ahead_of_the_code_is_ready(
    aiohttp_client: Any, services: Services, scratch_database: str
) -> None:
    """A rolling release: `tellme migrate` ran for the new code while this process still runs the old one."""
    conn = await asyncpg.connect(scratch_database)
    try:
        await db.migrate(conn)
        await conn.execute("insert into schema_migrations (version, checksum) values ('9999_from_the_future', 'x')")
    finally:
        await conn.close()
    client = await aiohttp_client(create_app(settings_for(services, database_url=scratch_database)))
    status, body = await answer(client, '/readyz')
    assert status == 200, body


async def test_ready_answers_are_shared_for_a_second_and_stopping_wins_at_once(
    aiohttp_client: Any, services: Services
) -> None:
    client = await aiohttp_client(create_app(settings_for(services)))
    assert (await client.get('/readyz')).status == 200
    state = client.app[READINESS]
    at = state.at
    assert (await client.get('/readyz')).status == 200 and state.at == at  # no second round of checks
    state.stopping = True  # what SIGTERM does (notifier/shell/serve.py)
    response = await client.get('/readyz')
    assert response.status == 503 and (await response.json())['status'] == 'stopping'
    assert (await client.get('/livez')).status == 200


def test_the_openapi_document_describes_the_probes(services: Services) -> None:
    from notifier.shell import openapi

    document = openapi.document(create_app(settings_for(Services('', '', ''))))
    for path in ('/livez', '/readyz', '/healthz'):
        operation = document['paths'][path]['get']
        assert operation['tags'] == ['probes'] and operation['security'] == [] and '200' in operation['responses']
    readyz = document['paths']['/readyz']['get']['responses']
    assert readyz['503']['content'] == readyz['200']['content']  # the same answer, saying what is wrong
    assert set(readyz['200']['content']['application/json']['schema']['properties']['status']['enum']) == {
        'ready',
        'unready',
        'stopping',
    }
