"""The role matrix for bulletins: every page and API endpoint tried with no credentials, each role, and admin.
Only the intended roles get through (no session → sign-in, no token → 401, wrong role → 403), and what they do
is in the audit log."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier import audit
from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.bulletins import SALE_WARD, Desk, bulletin_in, sale_ward
from tests.support.pages import csrf_of

VIEW, COMPOSE, APPROVE = ('comms', 'approver', 'admin'), ('comms', 'admin'), ('approver', 'admin')
GOOD_FORM = [('title', 'Road closed'), ('message', 'The high street is closed today.'), ('topics', 'bulletins'),
             ('area', 'wards'), ('wards', SALE_WARD), ('channels', 'email'), ('urgency', 'normal')]  # fmt: skip


# (method, path with {id}, the state the bulletin must be in, roles that may, the audit action a success writes)
PAGES = [
    ('GET', '/staff/bulletins', 'draft', VIEW, None),
    ('GET', '/staff/bulletins/new', 'draft', COMPOSE, None),
    ('POST', '/staff/bulletins/new', 'draft', COMPOSE, 'bulletin.compose'),
    ('GET', '/staff/bulletins/{id}', 'draft', VIEW, None),
    ('GET', '/staff/bulletins/{id}/edit', 'draft', COMPOSE, None),
    ('POST', '/staff/bulletins/{id}/edit', 'draft', COMPOSE, 'bulletin.edit'),
    ('POST', '/staff/bulletins/{id}/submit', 'draft', COMPOSE, 'bulletin.submit'),
    ('POST', '/staff/bulletins/{id}/approve', 'awaiting_approval', APPROVE, 'bulletin.approve'),
    ('GET', '/staff/bulletins/{id}/send-back', 'awaiting_approval', APPROVE, None),
    ('POST', '/staff/bulletins/{id}/send-back', 'awaiting_approval', APPROVE, 'bulletin.send_back'),
    ('GET', '/staff/bulletins/{id}/progress', 'sending', VIEW, None),
    ('GET', '/staff/bulletins/{id}/report', 'sending', VIEW, None),
    ('GET', '/staff/bulletins/{id}/progress', 'sent', VIEW, None),
    ('POST', '/staff/bulletins/{id}/pause', 'sending', COMPOSE, 'bulletin.pause'),
    ('POST', '/staff/bulletins/{id}/resume', 'paused', COMPOSE, 'bulletin.resume'),
    ('POST', '/staff/bulletins/{id}/cancel', 'draft', COMPOSE, 'bulletin.cancel'),
]


@pytest.mark.parametrize('role', [None, 'case_officer', 'comms', 'approver', 'admin'])
async def test_staff_pages_answer_only_their_roles(
    role: str | None, aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    await sale_ward(pg)
    if role:
        await desk.staff(f'{role}@council.example', role)
    csrf = csrf_of(await (await desk.client.get('/staff/sign-in')).text())
    for method, template, state, roles, action in PAGES:
        bulletin = await bulletin_in(pg, state)
        path = template.format(id=bulletin)
        before = await pg.fetchval('select count(*) from audit_log where action = $1', action or '-')
        if method == 'GET':
            answer = await desk.client.get(path, allow_redirects=False)
        else:
            answer = await desk.client.post(path, data=[*GOOD_FORM, ('when', 'now'), ('reason', 'Check the date'),
                                                        ('csrf_token', csrf)], allow_redirects=False)  # fmt: skip
        where = f'{method} {template} as {role}'
        if role is None:
            assert answer.status == 303 and answer.headers['Location'].startswith('/staff/sign-in?next='), where
        elif role not in roles:
            assert answer.status == 403, where
        else:
            assert answer.status == (200 if method == 'GET' else 303), where
            if action:
                after = await pg.fetchval('select count(*) from audit_log where action = $1', action)
                assert after == before + 1, where


API = [
    ('POST', '/api/bulletins', 'draft', COMPOSE, 201, 'bulletin.compose'),
    ('GET', '/api/bulletins/{id}', 'draft', VIEW, 200, None),
    ('GET', '/api/bulletins/{id}/preview', 'draft', VIEW, 200, None),
    ('POST', '/api/bulletins/{id}/send', 'draft', COMPOSE, 200, 'bulletin.submit'),
    ('POST', '/api/bulletins/{id}/approve', 'awaiting_approval', APPROVE, 200, 'bulletin.approve'),
    ('POST', '/api/bulletins/{id}/send-back', 'awaiting_approval', APPROVE, 200, 'bulletin.send_back'),
    ('POST', '/api/bulletins/{id}/pause', 'sending', COMPOSE, 200, 'bulletin.pause'),
    ('POST', '/api/bulletins/{id}/resume', 'paused', COMPOSE, 200, 'bulletin.resume'),
    ('POST', '/api/bulletins/{id}/cancel', 'draft', COMPOSE, 200, 'bulletin.cancel'),
]
BODY = {'title': 'Road closed', 'message': 'The high street is closed today.', 'topics': ['bulletins'],
        'area': 'wards', 'wards': [SALE_WARD], 'channels': ['email'], 'urgency': 'normal'}  # fmt: skip


@pytest.mark.parametrize('role', [None, 'case_officer', 'system', 'comms', 'approver', 'admin'])
async def test_api_endpoints_answer_only_their_roles(
    role: str | None, aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    await sale_ward(pg)
    headers = {'Authorization': f'Bearer {await desk.token(role)}'} if role else {}
    for method, template, state, roles, success, action in API:
        bulletin = await bulletin_in(pg, state)
        path = template.format(id=bulletin)
        before = await pg.fetchval('select count(*) from audit_log where action = $1', action or '-')
        body = {'reason': 'Check the date'} if template.endswith('/send-back') else BODY if method == 'POST' else None
        answer = await desk.client.request(method, path, json=body, headers=headers)
        where = f'{method} {template} as {role}'
        if role is None:
            assert answer.status == 401, where
        elif role not in roles:
            assert answer.status == 403, where
        else:
            assert answer.status == success, (where, await answer.text())
            if action:
                entries = await audit.entries(pg, action=action, limit=1)
                assert len(entries) == 1 and entries[0].actor_kind == 'token', where
                assert await pg.fetchval('select count(*) from audit_log where action = $1', action) == before + 1
