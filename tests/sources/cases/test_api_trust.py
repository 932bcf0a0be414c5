"""How far a case system's token is trusted: bound to its sources, expiring, and vouching for reporters' addresses
only when made with --may-verify. Through real HTTP against the app, PostgreSQL, Redis and the Notify simulator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from notifier.sending.delivery import Sender
from tests.conftest import Services
from tests.support.api import Api
from tests.support.cli import tellme
from tests.support.factories import make_event
from tests.support.notify import RunningSim, link_in

CONSENT = {'given': True, 'wording': 'Keep me updated about my report by email and text', 'at': '2026-03-01T09:00:00Z'}
REPORTER = {'email': 'Reporter@Example.com', 'mobile': '07700 900123', 'verified': True, 'consent': CONSENT}


def update(reference: str = 'FMS-1', **overrides: Any) -> tuple[str, dict[str, Any]]:
    body = {'source': 'fixmystreet', 'status': 'confirmed', 'occurred_at': '2026-03-01T09:05:00Z',
            'title': 'Pothole on King Street'}  # fmt: skip
    return f'/api/cases/{reference}/updates', body | overrides


# --- tokens bound to sources ---------------------------------------------------------------------------------


async def test_a_token_bound_to_sources_may_push_for_them_only(api: Api) -> None:
    token = await api.new_token(sources=['fixmystreet', 'uniform'])
    status, body = await api.post(*update(source='highways'), token)
    assert status == 403, body
    assert body['message'] == "this token may not push for the source 'highways': it is bound to fixmystreet, uniform"
    assert body['errors'] == {'source': 'not allowed for this token'}
    event = make_event(source='highways').model_dump(mode='json', exclude_none=True)
    status, body = await api.post('/api/events', event, token)
    assert status == 403 and 'highways' in body['message']
    assert await api.count('events') == 0
    status, body = await api.post(*update(), token)
    assert status == 201, body
    event['source'] = 'uniform'
    assert (await api.post('/api/events', event, token))[0] == 201
    assert await api.count('events') == 2


async def test_a_bound_token_cannot_change_anything_that_names_no_source(api: Api) -> None:
    token = await api.new_token(sources=['fixmystreet'])
    signup = {'email': 'someone@example.com', 'kind': 'topic', 'topics': ['planning']}
    status, body = await api.post('/api/subscriptions', signup, token)
    assert status == 403 and 'bound to the sources fixmystreet' in body['message']
    assert await api.count('subscriptions') == 0
    response = await api.client.get('/api/sources', headers={'Authorization': f'Bearer {token}'})
    assert response.status == 200  # reading is not pushing


async def test_an_unbound_token_still_pushes_for_any_source(api: Api) -> None:
    token = await api.new_token()  # as every token made before sources could be bound
    assert (await api.post(*update(source='highways'), token))[0] == 201
    assert (await api.post(*update(source='fixmystreet'), token))[0] == 201


async def test_an_expired_token_is_401_saying_so(api: Api) -> None:
    token = await api.new_token(sources=['fixmystreet'], days=30)
    await api.pg.execute(
        "update api_tokens set created_at = now() - interval '31 days', expires_at = now() - interval '1 day'"
    )
    status, body = await api.post(*update(), token)
    assert status == 401
    assert 'expired on' in body['message'] and 'tellme staff create-token' in body['message']
    assert await api.count('events') == 0
    assert await api.pg.fetchval('select last_used_at from api_tokens') is None


# --- verified addresses --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('role', 'scope'),
    [('system', {}), ('system', {'sources': ['fixmystreet']}), ('case_officer', {'sources': ['fixmystreet']})],
    ids=['unbound system', 'bound system', 'case officer'],
)
async def test_verified_from_a_token_without_may_verify_needs_the_reporter_to_confirm(
    api: Api, sender: Sender, sim: RunningSim, role: str, scope: dict[str, Any]
) -> None:
    token = await api.new_token(role, **scope)
    status, body = await api.post(*update(reporter=REPORTER), token)
    assert status == 201, body
    assert body['subscribed'] is True and body['subscription']['status'] == 'pending' and body['matched'] == 0
    assert any('verified was ignored' in warning for warning in body['warnings'])
    assert await api.pg.fetchval('select count(*) from contact_points where verified_at is not null') == 0
    [confirmation] = await api.outbox('confirmation')
    assert await sender.deliver(confirmation['id']) == 'sent'
    [sent] = sim.sent(confirmation['id'])
    assert sent.to == 'reporter@example.com' and 'confirm' in link_in(sent.body, '/confirm')

    status, body = await api.post(*update(status='investigating'), token)
    assert status == 201 and body['outcome'] == 'changed' and body['matched'] == 0
    assert await api.outbox('event') == []  # nothing about the case until they confirm

    token_in_link = link_in(sent.body, '/confirm').rsplit('/', 1)[1]
    subscription_id = await api.pg.fetchval('select id from subscriptions')
    response = await api.client.post(f'/api/subscriptions/{subscription_id}/confirm', json={'token': token_in_link})
    assert response.status == 200, await response.text()
    status, body = await api.post(*update(status='fixed'), token)
    assert status == 201 and body['matched'] == 1
    [row] = await api.outbox('event')
    assert row['channel'] == 'email'  # the mobile stays unverified until the resident verifies it


async def test_verified_from_a_may_verify_token_subscribes_at_once(api: Api, sim: RunningSim) -> None:
    token = await api.new_token(sources=['fixmystreet'], may_verify=True)
    status, body = await api.post(*update(reporter=REPORTER), token)
    assert status == 201, body
    assert body['subscription']['status'] == 'active' and body['matched'] == 2 and body['warnings'] == []
    assert await api.outbox('confirmation') == []
    assert sorted(row['channel'] for row in await api.outbox('event')) == ['email', 'sms']


async def test_the_consent_record_says_what_was_agreed_by_whom_and_when(api: Api) -> None:
    token = await api.new_token(name='FixMyStreet Trafford', sources=['fixmystreet'])
    status, body = await api.post(*update('FMS-77', reporter=REPORTER), token)
    assert status == 201, body
    consent = await api.pg.fetchrow('select * from consents')
    assert consent['recorded_by'] == 'FixMyStreet Trafford'
    assert consent['channels'] == ['email', 'sms']
    assert consent['addresses'] == {'email': 'reporter@example.com', 'sms': '447700900123'}
    assert consent['wording'] == CONSENT['wording'] and consent['given_at'].isoformat() == '2026-03-01T09:00:00+00:00'
    assert (consent['case_source'], consent['case_reference']) == ('fixmystreet', 'FMS-77')
    assert consent['subscription_id'] == body['subscription']['id'] and consent['recorded_at'] is not None


# --- the staff CLI -------------------------------------------------------------------------------------------


async def test_staff_cli_binds_a_token_to_sources_with_an_expiry_and_lists_them(api: Api, services: Services) -> None:
    code, out, err = await tellme(
        services, 'staff', 'create-token', 'FixMyStreet', '--role', 'system', '--source', 'fixmystreet', '--may-verify',
        '--expires', '90d',
    )  # fmt: skip
    assert code == 0, err
    token = out.strip()
    assert 'sources: fixmystreet' in err and 'may vouch' in err and 'shown once' in err
    assert 'fixmystreet is not a source Tell Me polls' in err
    assert (await api.post(*update(source='highways'), token))[0] == 403
    status, body = await api.post(*update(reporter=REPORTER), token)
    assert status == 201 and body['subscription']['status'] == 'active'
    code, out, _ = await tellme(services, 'staff', 'list-tokens')
    assert code == 0 and token not in out
    [row] = out.splitlines()[1:]
    assert 'FixMyStreet' in row and 'fixmystreet' in row and ' yes ' in row and ' live ' in row
    expires = await api.pg.fetchval("select to_char(expires_at at time zone 'UTC', 'YYYY-MM-DD') from api_tokens")
    assert expires in row
    assert await api.pg.fetchval('select expires_at - created_at from api_tokens') == timedelta(days=90)


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['--role', 'system', '--may-verify'], '--may-verify is for a system token bound to its case system'),
        (['--role', 'case_officer', '--source', 'fms', '--may-verify'], '--may-verify is for a system token'),
        (['--role', 'admin', '--source', 'fms'], 'an admin token may do everything'),
        (['--role', 'system', '--source', 'Not A Source'], "--source: 'Not A Source' is not a source name"),
        (['--role', 'system', '--expires', 'soon'], 'give a number of days, weeks or years'),
        (['--role', 'system', '--expires', '11y'], 'between 1 day and 3650 days'),
        (['--role', 'system', '--expires', '90d', '--days', '90'], 'not allowed with argument'),
    ],
)
async def test_staff_cli_refuses_a_token_it_cannot_make_and_makes_none(
    api: Api, services: Services, args: list[str], message: str
) -> None:
    code, out, err = await tellme(services, 'staff', 'create-token', *args)
    assert code == 2 and message in err and out == ''
    assert await api.count('api_tokens') == 0
