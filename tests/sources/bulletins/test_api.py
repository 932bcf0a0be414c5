"""The bulletins API: a comms team's tool creates, previews and sends a bulletin; one over the threshold waits for an
approver token other than the one that made it; bad bodies get field errors and change nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
from redis.asyncio import Redis

from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.bulletins import SALE_WARD, Desk, sale_ward

BODY = {'title': 'Water supply off in Sale', 'message': 'Water is off until 6pm today.', 'topics': ['*'],
        'area': 'wards', 'wards': [SALE_WARD], 'channels': ['email', 'sms'], 'urgency': 'urgent'}  # fmt: skip


async def call(desk: Desk, method: str, path: str, token: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    answer = await desk.client.request(method, path, json=body, headers={'Authorization': f'Bearer {token}'})
    return answer.status, await answer.json()


async def test_create_preview_approve_send_and_status(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services, approval_threshold=5))), pg)
    ward = await sale_ward(pg)
    comms, approver = await desk.token('comms'), await desk.token('approver')

    status, made = await call(desk, 'POST', '/api/bulletins', comms, BODY)
    assert status == 201 and made['status'] == 'draft'
    bulletin = made['id']
    status, preview = await call(desk, 'GET', f'/api/bulletins/{bulletin}/preview', approver)
    assert status == 200
    assert preview['audience'] == {'people': len(ward.inside), 'email': 6, 'sms': 2}
    texts = {m['language']: m for m in preview['messages'] if m['channel'] == 'sms'}
    assert preview['cost']['fragments'] == 2 * texts['en']['fragments']
    assert preview['cost']['text_pence'] == round(2 * texts['en']['fragments'] * 2.27, 2)
    assert preview['saving'] == {'calls': 7, 'pence': 7 * 268}
    assert preview['needs_approval'] is True
    email = next(m for m in preview['messages'] if m['channel'] == 'email' and m['language'] == 'en')
    assert email['subject'] == 'Council news: Water supply off in Sale' and 'Water is off until 6pm' in email['body']

    status, sent = await call(desk, 'POST', f'/api/bulletins/{bulletin}/send', comms, {})
    assert status == 200 and sent['status'] == 'awaiting_approval' and sent['needs_approval']
    assert await pg.fetchval('select count(*) from notifications') == 0
    status, refused = await call(desk, 'POST', f'/api/bulletins/{bulletin}/approve', comms)
    assert status == 403  # a comms token is not an approver
    status, approved = await call(desk, 'POST', f'/api/bulletins/{bulletin}/approve', approver)
    assert status == 200 and approved['status'] == 'sending' and approved['approved_by'] == 'approver token'
    assert approved['progress']['queued'] == len(ward.expected()) and not approved['progress']['finished']
    status, again = await call(desk, 'POST', f'/api/bulletins/{bulletin}/send', comms, {})
    assert status == 409 and 'already sending' in again['message']
    assert await pg.fetchval('select count(*) from notifications') == len(ward.expected())


async def test_an_approver_token_may_not_approve_what_it_created(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services, approval_threshold=0))), pg)
    await sale_ward(pg)
    admin = await desk.token('admin')
    _, made = await call(desk, 'POST', '/api/bulletins', admin, BODY)
    _, sent = await call(desk, 'POST', f'/api/bulletins/{made["id"]}/send', admin, {'send_at': 'now'})
    assert sent['status'] == 'awaiting_approval'
    status, refused = await call(desk, 'POST', f'/api/bulletins/{made["id"]}/approve', admin)
    assert status == 409 and 'someone else with the approver role' in refused['message']


async def test_bad_bodies_name_each_field_and_save_nothing(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    await sale_ward(pg)
    comms = await desk.token('comms')
    status, answer = await call(desk, 'POST', '/api/bulletins', comms, {'title': 7, 'area': 'moon', 'channels': 'fax'})
    assert status == 400
    assert set(answer['errors']) == {'message', 'area', 'channels'}
    status, answer = await call(desk, 'POST', '/api/bulletins', comms, BODY | {'area': 'radius', 'postcode': 'XX'})
    assert status == 400 and set(answer['errors']) == {'postcode', 'radius'}
    assert await pg.fetchval('select count(*) from bulletins') == 0
    _, made = await call(desk, 'POST', '/api/bulletins', comms, BODY)
    status, answer = await call(desk, 'POST', f'/api/bulletins/{made["id"]}/send', comms, {'send_at': '2020-01-01'})
    assert status == 400 and 'send_at' in answer['errors']
    status, _ = await call(desk, 'GET', '/api/bulletins/999999', comms)
    assert status == 404
    bolton = BODY | {'wards': ['E05014834']}  # nobody subscribed there
    _, empty = await call(desk, 'POST', '/api/bulletins', comms, bolton)
    status, answer = await call(desk, 'POST', f'/api/bulletins/{empty["id"]}/send', comms, {})
    assert status == 409 and answer['message'].startswith('Nobody would get this bulletin')
