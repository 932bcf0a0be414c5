"""API tokens (the staff CLI, 401 vs 403) and POST /api/events, through the real app, database and Redis."""

from __future__ import annotations

from typing import Any

from notifier.api import auth as api_auth
from tests.conftest import Services
from tests.support.api import Api
from tests.support.cli import tellme
from tests.support.factories import make_event, make_resident, make_subscription


def event_body(**overrides: Any) -> dict[str, Any]:
    return make_event(**overrides).model_dump(mode='json', exclude_none=True)


# --- tokens --------------------------------------------------------------------------------------------------


async def test_no_token_is_401_and_says_how_to_send_one(api: Api) -> None:
    status, body = await api.post('/api/events', event_body(), None)
    assert status == 401
    assert 'Authorization: Bearer' in body['message']
    response = await api.client.post('/api/events', json=event_body(), headers={'Authorization': 'Basic abc'})
    assert response.status == 401 and response.headers['WWW-Authenticate'].startswith('Bearer')


async def test_an_unknown_revoked_or_expired_token_is_401(api: Api) -> None:
    assert (await api.post('/api/events', event_body(), 'tellme_' + 'x' * 43))[0] == 401
    token = await api.new_token('system')
    async with api.pg.acquire() as conn:
        token_id = await conn.fetchval('select id from api_tokens where token_hash = $1', api_auth.hash_token(token))
        assert await api_auth.revoke_token(conn, token_id)
        assert not await api_auth.revoke_token(conn, token_id)
    status, body = await api.post('/api/events', event_body(), token)
    assert status == 401 and 'not valid' in body['message'] and 'revoked on' in body['message']
    expired = await api.new_token('system', days=1)
    await api.pg.execute(
        "update api_tokens set expires_at = now() - interval '1 second', created_at = now() - interval '2 days'"
    )
    status, body = await api.post('/api/events', event_body(), expired)
    assert status == 401 and 'expired on' in body['message']
    assert await api.pg.fetchval('select count(*) from events') == 0


async def test_a_token_whose_role_may_not_do_it_is_403(api: Api) -> None:
    status, body = await api.post('/api/events', event_body(), await api.new_token('approver'))
    assert status == 403 and 'approver' in body['message']
    # a case officer may push case events only; comms send bulletins through the bulletin flow, not here
    status, body = await api.post('/api/events', event_body(), await api.new_token('case_officer'))
    assert status == 403 and body['errors'] == {'topic': 'not allowed'}
    comms = await api.new_token('comms')
    status, _ = await api.post('/api/events', event_body(kind='bulletin.published', topic='bulletins/roads'), comms)
    assert status == 403
    assert (await api.post('/api/events', event_body(), await api.new_token('admin')))[0] == 201
    assert await api.pg.fetchval('select count(*) from events') == 1


async def test_only_the_hash_is_stored_and_use_is_recorded(api: Api) -> None:
    token = await api.new_token('system')
    assert token.startswith('tellme_') and len(token) >= 7 + 43  # 256 random bits
    row = await api.pg.fetchrow('select token_hash, last_used_at from api_tokens')
    assert row['token_hash'] == api_auth.hash_token(token) and token not in row['token_hash']
    assert row['last_used_at'] is None
    await api.post('/api/events', event_body(), token)
    assert await api.pg.fetchval('select last_used_at from api_tokens') is not None


async def test_staff_cli_prints_a_token_once_lists_and_revokes_it(api: Api, services: Services) -> None:
    code, out, err = await tellme(
        services, 'staff', 'create-token', '--role', 'system', '--name', 'Uniform feed', '--days', '30'
    )
    assert code == 0, err
    token = out.strip()
    assert token.startswith('tellme_') and 'shown once' in err
    status, _ = await api.post('/api/events', event_body(), token)
    assert status == 201
    code, out, _ = await tellme(services, 'staff', 'list-tokens')
    assert code == 0 and 'Uniform feed' in out and 'live' in out and token not in out
    token_id = out.splitlines()[1].split()[0]
    assert (await tellme(services, 'staff', 'revoke-token', token_id))[0] == 0
    assert (await tellme(services, 'staff', 'revoke-token', token_id))[0] == 1
    assert (await api.post('/api/events', event_body(), token))[0] == 401
    code, _, err = await tellme(services, 'staff', 'create-token', '--role', 'wizard')
    assert code == 2 and 'invalid choice' in err


# --- POST /api/events ----------------------------------------------------------------------------------------


async def test_a_bad_event_is_400_naming_each_field_and_nothing_is_written(api: Api) -> None:
    token = await api.new_token('system')
    body = event_body()
    body.update(lat=80.0, kind='Planning New', colour='blue')
    del body['title']
    status, answer = await api.post('/api/events', body, token)
    assert status == 400
    assert set(answer['errors']) == {'lat', 'kind', 'title', 'colour'}
    assert 'less than or equal to 61' in answer['errors']['lat']
    assert answer['errors']['title'] == 'Field required'
    response = await api.client.post('/api/events', data=b'{not json', headers={'Authorization': f'Bearer {token}'})
    assert response.status == 400 and (await response.json())['errors'] == {'body': 'the body is not valid JSON'}
    assert await api.pg.fetchval('select count(*) from events') == 0
    assert await api.pg.fetchval('select count(*) from notifications') == 0


async def test_a_new_event_is_matched_and_queued_then_the_same_again_is_unchanged(api: Api) -> None:
    near = await make_resident(api.pg, email=True, sms=True)
    await make_subscription(api.pg, near, near='M32 0AH', radius_m=500)
    far = await make_resident(api.pg)
    await make_subscription(api.pg, far, at=(53.48, -2.24), radius_m=200)  # central Manchester, 5 km away
    token = await api.new_token('system')
    body = event_body()
    status, answer = await api.post('/api/events', body, token)
    assert status == 201
    assert answer['outcome'] == 'new' and answer['version'] == 1 and answer['matched'] == 2  # email + text
    rows = await api.pg.fetch(
        'select contact_point_id, channel, status from notifications where event_id = $1', answer['event_id']
    )
    assert sorted((r['contact_point_id'], r['channel']) for r in rows) == [
        (near.email_id, 'email'),
        (near.sms_id, 'sms'),
    ]
    status, again = await api.post('/api/events', body, token)
    assert status == 200 and again == {**answer, 'outcome': 'unchanged', 'matched': 0}
    body['attributes'] = {**body['attributes'], 'status': 'decided'}
    status, changed = await api.post('/api/events', body, token)
    assert status == 201 and changed['outcome'] == 'changed' and changed['version'] == 2
    assert await api.pg.fetchval('select count(*) from events') == 2
