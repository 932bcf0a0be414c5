"""The role matrix: EVERY /staff page and /api endpoint in the router, tried with no credentials, as each staff role
and with each API token role. Who may is read from the guards themselves (`staff_page(...)`, `requires(...)`), so a
new route without a guard fails here unless it is one of the PUBLIC ones below. No session → 303 to sign-in, no
token → 401, a role that may not → 403, a role that may → past the guard. And what changes something is audited."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier.shell.app import create_app
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.bulletins import Desk, bulletin_in, sale_ward
from tests.support.pages import csrf_of

STAFF_ROLES = ('case_officer', 'comms', 'approver', 'admin')
TOKEN_ROLES = ('case_officer', 'comms', 'approver', 'admin', 'system')
# Open to anyone, on purpose: signing in and out, setting a password from an emailed link, the OpenID Connect
# round trip, the API's own description, and confirming a subscription (the confirmation token is the credential).
PUBLIC = {
    ('GET', '/staff/sign-in'), ('POST', '/staff/sign-in'), ('POST', '/staff/sign-out'),
    ('GET', '/staff/set-password/{token}'), ('POST', '/staff/set-password/{token}'),
    ('GET', '/staff/sign-in/oidc'), ('GET', '/staff/sign-in/oidc/callback'),
    ('GET', '/api/openapi.json'), ('POST', '/api/subscriptions/{id}/confirm'),
}  # fmt: skip
PARAMETER = re.compile(r'{([^}:]+)(?::[^}]*)?}')
REFERENCE = 'FMS-ROLES-1'


def guarded_routes() -> list[tuple[str, str, str, tuple[str, ...] | None]]:
    """(kind 'page' or 'api', method, path, roles: () any staff, None no guard) for every staff and API route."""
    app = create_app(settings_for(Services('', '', '')))
    found = []
    for route in app.router.routes():
        resource = route.resource
        path = PARAMETER.sub(r'{\1}', resource.canonical) if resource is not None else ''
        if route.method == 'HEAD' or not (path == '/staff' or path.startswith(('/staff/', '/api/'))):
            continue
        kind = 'api' if path.startswith('/api/') else 'page'
        roles = getattr(route.handler, 'api_roles' if kind == 'api' else 'staff_roles', None)
        found.append((kind, route.method, path, roles))
    return found


ROUTES = guarded_routes()


def test_every_staff_page_and_api_endpoint_has_a_guard_or_is_public_on_purpose() -> None:
    unguarded = {(method, path) for _, method, path, roles in ROUTES if roles is None}
    assert unguarded == PUBLIC, f'routes with no role guard: {sorted(unguarded - PUBLIC)}'
    assert len(ROUTES) > 40  # the router was read: pages and endpoints of every kind


def may(roles: tuple[str, ...], role: str) -> bool:
    return role == 'admin' or not roles or role in roles


async def fill(path: str, pg: asyncpg.Pool) -> str:
    """A path with real-looking values: a bulletin that exists, a stage, a case reference."""
    values = {'reference': REFERENCE, 'stage': 'assessing', 'id': '1', 'token': 'x' * 40, 'key': 'planning'}
    if '{bulletin_id}' in path:
        waiting = path.endswith(('/approve', '/send-back'))
        state = 'awaiting_approval' if waiting else 'paused' if path.endswith('/resume') else 'draft'
        values['bulletin_id'] = str(await bulletin_in(pg, state))
    if path.startswith('/api/notifications/'):
        values['id'] = '00000000-0000-4000-8000-000000000000'
    return PARAMETER.sub(lambda m: values.get(m.group(1), '1'), path)


def past_the_guard(kind: str, answer: Any) -> bool:
    if answer.status in (401, 403):
        return False
    return not (kind == 'page' and answer.status == 303 and answer.headers['Location'].startswith('/staff/sign-in'))


@pytest.mark.parametrize('who', [None, *(f'staff:{r}' for r in STAFF_ROLES), *(f'token:{r}' for r in TOKEN_ROLES)])
async def test_only_the_intended_roles_get_past_each_guard(
    who: str | None, aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    await sale_ward(pg)
    headers: dict[str, str] = {}
    kind_of, role = (who or 'none:').split(':')
    if kind_of == 'staff':
        await desk.staff(f'{role}@council.example', role)
    elif kind_of == 'token':
        headers['Authorization'] = f'Bearer {await desk.token(role)}'
    csrf = csrf_of(await (await desk.client.get('/staff/sign-in')).text())
    wrong: list[str] = []
    for kind, method, template, roles in ROUTES:
        if roles is None:
            continue
        path = await fill(template, pg)
        if kind == 'page':
            data = {'csrf_token': csrf} if method == 'POST' else None
            answer = await desk.client.request(method, path, data=data, allow_redirects=False)
        else:
            body = {} if method in ('POST', 'PUT') else None
            answer = await desk.client.request(method, path, json=body, headers=headers, allow_redirects=False)
        where = f'{method} {template} as {who}: {answer.status}'
        signed_in = kind_of == ('staff' if kind == 'page' else 'token')
        if not signed_in:
            expected = (answer.status == 303 and answer.headers['Location'].startswith('/staff/sign-in?next=')
                        if kind == 'page' else answer.status == 401)  # fmt: skip
            if not expected:
                wrong.append(f'{where} (expected {"303 to sign-in" if kind == "page" else 401})')
        elif may(roles, role):
            if not past_the_guard(kind, answer):
                wrong.append(f'{where} (expected past the guard: {(await answer.text())[:200]})')
        elif answer.status != 403:
            wrong.append(f'{where} (expected 403)')
    assert not wrong, '\n'.join(wrong)


async def audit_count(pg: asyncpg.Pool, action: str) -> int:
    return await pg.fetchval('select count(*) from audit_log where action = $1', action)


async def test_changes_leave_an_audit_entry_naming_who(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    await sale_ward(pg)
    before = await audit_count(pg, 'staff.sign_in')
    await desk.staff('officer@council.example', 'case_officer')
    row = await pg.fetchrow(
        "select actor_kind, actor_name from audit_log where action = 'staff.sign_in' order by id desc"
    )
    assert await audit_count(pg, 'staff.sign_in') == before + 1
    assert (row['actor_kind'], row['actor_name']) == ('staff', 'officer@council.example')

    system = {'Authorization': f'Bearer {await desk.token("system", name="Case system")}'}
    update = {'source': 'fixmystreet', 'stage': 'assessing', 'note': 'We are looking at it',
              'occurred_at': '2026-03-01T09:05:00Z', 'title': 'Pothole'}  # fmt: skip
    answer = await desk.client.post(f'/api/cases/{REFERENCE}/updates', json=update, headers=system)
    assert answer.status == 201, await answer.text()
    entry = await pg.fetchrow(
        "select actor_kind, actor_name, target_id from audit_log where action = 'case.update' order by id desc"
    )
    assert (entry['actor_kind'], entry['actor_name'], entry['target_id']) == ('token', 'Case system', REFERENCE)

    comms = {'Authorization': f'Bearer {await desk.token("comms", name="Comms tool")}'}
    draft = {'title': 'Road closed', 'message': 'The high street is closed today.', 'area': 'council',
             'channels': ['email'], 'topics': ['bulletins']}  # fmt: skip
    made = await desk.client.post('/api/bulletins', json=draft, headers=comms)
    assert made.status == 201, await made.text()
    bulletin_id = (await made.json())['id']
    cancelled = await desk.client.post(f'/api/bulletins/{bulletin_id}/cancel', headers=comms)
    assert cancelled.status == 200, await cancelled.text()
    actions = await pg.fetch(
        "select action, actor_name from audit_log where target_kind = 'bulletin' and target_id = $1 order by id",
        str(bulletin_id),
    )
    assert [(a['action'], a['actor_name']) for a in actions] == [
        ('bulletin.compose', 'Comms tool'),
        ('bulletin.cancel', 'Comms tool'),
    ]

    await desk.staff('comms@council.example', 'comms')  # and from the pages, as the person signed in
    composed = await desk.compose(urgency='normal')
    entry = await pg.fetchrow(
        "select actor_kind, actor_name from audit_log where action = 'bulletin.compose' and target_id = $1",
        str(composed),
    )
    assert (entry['actor_kind'], entry['actor_name']) == ('staff', 'comms@council.example')


def test_the_guards_record_their_roles() -> None:
    """The matrix reads the decorators' roles: a guard that stopped recording them would empty the matrix."""
    pages = {(m, p): r for k, m, p, r in ROUTES if k == 'page'}
    apis = {(m, p): r for k, m, p, r in ROUTES if k == 'api'}
    assert pages[('GET', '/staff/overview')] == ('comms', 'approver')
    assert apis[('PUT', '/api/case-templates/{stage}')] == ('admin',)
