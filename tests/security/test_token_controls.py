"""Tokens may not post round the controls.

Played as a pen-tester did: a comms token re-published a private case record (its officer's note, postcode and
place) as a public bulletin under the same (source, external_key), and an urgent bulletin pushed straight to
/api/events reached residents with no approval and no audit entry. Each test below failed before the fix.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.support.api import new_token
from tests.support.factories import make_event, make_resident, make_subscription, record

CASE = dict(source='fixmystreet', kind='case.status', topic='cases', case_reference='FMS-77', external_key='FMS-77',
            title='Fly-tipping behind 4 Acacia Avenue', summary='Officer note: the reporter lives at number 6',
            postcode='M32 0AH')  # fmt: skip


pytestmark = pytest.mark.settings(secret_key='controls-secret', public_url='https://tellme.example')  # `client`


async def token(pg: asyncpg.Pool, role: str) -> str:
    return await new_token(pg, role, name=f'{role} integration')


async def push(client: TestClient, secret: str, **event: Any) -> tuple[int, dict[str, Any]]:
    body = make_event(**event).model_dump(mode='json', exclude_none=True)
    response = await client.post('/api/events', json=body, headers={'Authorization': f'Bearer {secret}'})
    return response.status, await response.json()


async def public_page(client: TestClient, event_id: int) -> tuple[int, str]:
    response = await client.get(f'/e/{event_id}')
    return response.status, await response.text()


async def test_a_comms_token_cannot_republish_a_private_case_as_a_public_bulletin(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    case_id = (await record(pg, make_event(**CASE))).event_id
    fields = {**CASE, 'kind': 'bulletin.published', 'topic': 'bulletins', 'case_reference': None}
    status, body = await push(client, await token(pg, 'comms'), **fields)
    assert status == 403, body
    assert await pg.fetchval('select count(*) from events') == 1
    for event_id in await pg.fetch('select id from events'):
        status, page = await public_page(client, event_id['id'])
        assert status == 404 and 'number 6' not in page and 'Acacia' not in page
    assert case_id is not None


@pytest.mark.parametrize('role', ['system', 'admin'])
async def test_no_token_may_turn_a_private_case_into_public_news_or_back(
    client: TestClient, pg: asyncpg.Pool, role: str
) -> None:
    await record(pg, make_event(**CASE))
    secret = await token(pg, role)
    status, body = await push(client, secret, **{**CASE, 'kind': 'planning.new', 'topic': 'planning',
                                                 'case_reference': None})  # fmt: skip
    assert status == 409 and ('private' in body['message'] or 'cases record' in body['message']), body
    planning = dict(source='uniform', external_key='24/0001/FUL', title='Two-storey extension', postcode='M32 0AH')
    assert (await push(client, secret, **planning))[0] == 201
    status, body = await push(client, secret, **planning, kind='case.status', topic='cases', case_reference='X-1')
    assert status == 409, body
    assert await pg.fetchval('select count(*) from events') == 2
    assert await pg.fetchval('select array_agg(distinct topic order by topic) from events') == ['cases', 'planning']


async def test_an_urgent_bulletin_cannot_skip_approval_through_the_events_api(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, kind='topic', topics=['bulletins'])
    for role in ('comms', 'system', 'admin'):
        status, body = await push(client, await token(pg, role), kind='bulletin.published', topic='bulletins/roads',
                                  urgency='urgent', title='Road closed tonight')  # fmt: skip
        assert status == 403, (role, body)
        assert 'approved' in body['message'] or 'cannot do this' in body['message']
    assert await pg.fetchval('select count(*) from notifications') == 0
    assert await pg.fetchval('select count(*) from events') == 0


async def test_a_public_page_never_shows_a_record_that_was_ever_private(client: TestClient, pg: asyncpg.Pool) -> None:
    """Rows written before the rule (or by hand): a public version of a key whose history holds a private one."""
    await record(pg, make_event(**CASE))
    await pg.execute(
        'insert into events (source, external_key, version, fingerprint, kind, topic, title, summary, occurred_at)'
        " values ('fixmystreet', 'FMS-77', 2, 'x', 'planning.new', 'planning', 'Looks public', '', now())"
    )
    public_id = await pg.fetchval('select id from events where version = 2')
    status, page = await public_page(client, public_id)
    assert status == 404 and 'Acacia' not in page and 'Looks public' not in page


async def test_every_write_by_a_token_is_in_the_audit_log(client: TestClient, pg: asyncpg.Pool) -> None:
    system = await token(pg, 'system')
    body = make_event(source='uniform', external_key='24/0002/FUL', title='New shop front').model_dump(
        mode='json', exclude_none=True
    )
    headers = {'Authorization': f'Bearer {system}'}
    assert (await client.post('/api/events', json=body, headers=headers)).status == 201
    again = await client.post('/api/events', json=body, headers=headers)
    assert again.status == 200 and (await again.json())['outcome'] == 'unchanged'
    response = await client.post(
        '/api/subscriptions', headers={'Authorization': f'Bearer {system}'},
        json={'email': 'someone@example.com', 'kind': 'topic', 'topics': ['planning']},
    )  # fmt: skip
    assert response.status == 201
    rows = await pg.fetch('select actor_kind, actor_name, action, target_kind, details from audit_log order by id')
    assert [(r['actor_kind'], r['actor_name'], r['action'], r['target_kind']) for r in rows] == [
        ('token', 'system integration', 'event.new', 'event'),
        ('token', 'system integration', 'subscription.create', 'subscription'),
    ]
    assert rows[0]['details']['external_key'] == '24/0002/FUL' and rows[0]['details']['version'] == 1
    assert 'someone@example.com' not in str(rows[1]['details']), 'contact details are masked in the log'
