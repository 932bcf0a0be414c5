"""A case system pushing case updates: stages mapped, the reporter subscribed with consent, updates delivered."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from notifier.api import auth as api_auth
from notifier.app_keys import QUEUE
from notifier.outbox import contacts
from notifier.sending.delivery import Sender
from sources.feeds import registry
from subscriptions.residents import queries
from templates.registry import REGISTRY
from tests.support.api import Api
from tests.support.notify import RunningSim, link_in

REFERENCE = 'FMS-20417'
PATH = f'/api/cases/{REFERENCE}/updates'
CONSENT = {'given': True, 'wording': 'Tell me by email when my report changes', 'at': '2026-03-01T09:00:00Z'}


def update(**overrides: Any) -> dict[str, Any]:
    body = {'source': 'fixmystreet', 'status': 'confirmed', 'note': 'Thank you, we have your report.',
            'occurred_at': '2026-03-01T09:05:00Z', 'title': 'Pothole on King Street'}  # fmt: skip
    return body | overrides


REPORTER = {'email': 'Reporter@Example.com', 'consent': CONSENT}


@pytest.fixture
async def api(api: Api) -> Api:
    """The API, called by default with FixMyStreet's token."""
    api.token = await api.new_token(name='FixMyStreet', days=None)
    return api


async def case_system_token(api: Api) -> str:
    """A token for a case system trusted to verify reporters' addresses itself (--may-verify)."""
    return await api.new_token(name='FixMyStreet (verifies)', sources=['fixmystreet'], may_verify=True)


async def counts(api: Api) -> tuple[int, ...]:
    tables = ('events', 'subscriptions', 'notifications', 'consents', 'residents')
    return tuple([await api.count(table) for table in tables])


async def confirm(api: Api, subscription_id: int) -> None:
    row = (await api.outbox('confirmation'))[0]
    token = row['personalisation']['confirm_url'].rsplit('/', 1)[1]
    response = await api.client.post(f'/api/subscriptions/{subscription_id}/confirm', json={'token': token})
    assert response.status == 200, await response.text()


async def test_a_consenting_reporter_is_subscribed_pending_and_hears_the_next_update_once_confirmed(
    api: Api, sender: Sender, sim: RunningSim
) -> None:
    status, body = await api.post(PATH, update(reporter=REPORTER))
    assert status == 201, body
    assert body['outcome'] == 'new' and body['stage'] == 'received' and body['version'] == 1
    assert body['subscribed'] is True and body['subscription']['status'] == 'pending'
    assert body['matched'] == 0  # not confirmed yet: nothing goes to them
    subscription = await api.pg.fetchrow('select * from subscriptions where id = $1', body['subscription']['id'])
    assert subscription['kind'] == 'case' and subscription['status'] == 'pending'
    assert (subscription['case_source'], subscription['case_reference']) == ('fixmystreet', REFERENCE)
    assert subscription['channels'] == ['email']
    event = await api.pg.fetchrow('select * from events where id = $1', body['event_id'])
    assert (event['kind'], event['topic'], event['external_key'], event['case_reference']) == (
        'case.status', 'cases', REFERENCE, REFERENCE
    )  # fmt: skip
    consent = await api.pg.fetchrow('select * from consents')
    assert consent['wording'] == CONSENT['wording'] and consent['via'] == 'FixMyStreet'
    assert consent['recorded_by'] == 'FixMyStreet' and consent['channels'] == ['email']
    assert consent['addresses'] == {'email': 'reporter@example.com'}
    assert consent['subscription_id'] == subscription['id'] and consent['resident_id'] == subscription['resident_id']
    [confirmation] = await api.outbox('confirmation')
    assert str(confirmation['id']) == body['subscription']['confirmation']['notification_id']
    assert str(confirmation['template_id']) == REGISTRY[('confirmation', 'email', 'en')].template_id
    assert await api.client.app[QUEUE].exists(f'arq:job:deliver:{confirmation["id"]}')

    await confirm(api, subscription['id'])
    status, body = await api.post(PATH, update(status='Investigating', note='An inspector visits on Monday.'))
    assert status == 201, body
    assert body['outcome'] == 'changed' and body['stage'] == 'assessing' and body['matched'] == 1
    [row] = await api.outbox('event')
    assert row['event_id'] == body['event_id'] and row['subscription_id'] == subscription['id']
    assert await sender.deliver(row['id']) == 'sent'
    [sent] = sim.sent(row['id'])
    assert sent.to == 'reporter@example.com'
    assert sent.template_id == sim.council_template('email').id
    assert f'Update on your case {REFERENCE}' in (sent.subject or '')
    assert 'Status: Being assessed' in sent.body and 'An inspector visits on Monday.' in sent.body
    link = link_in(sent.body, '/e/')
    assert link.startswith(f'{api.settings.public_url}/e/') and link != f'{api.settings.public_url}/e/{row["event_id"]}'
    page = await api.client.get(link.removeprefix(api.settings.public_url))
    assert page.status == 200 and 'An inspector visits on Monday.' in await page.text()


async def test_the_same_update_twice_changes_nothing_and_subscribes_nobody_twice(api: Api) -> None:
    first = await api.post(PATH, update(reporter=REPORTER))
    assert first[0] == 201
    before = await counts(api)
    status, body = await api.post(PATH, update(reporter=REPORTER, occurred_at='2026-03-01T09:06:00Z'))
    assert status == 200, body
    assert body['outcome'] == 'unchanged' and body['event_id'] == first[1]['event_id'] and body['matched'] == 0
    assert body['subscribed'] is False and body['subscription']['id'] == first[1]['subscription']['id']
    assert body['subscription']['reason'] == 'already subscribed to this case'
    assert await counts(api) == before


async def test_a_reporter_who_unsubscribed_from_the_case_is_not_subscribed_again(api: Api) -> None:
    _, body = await api.post(PATH, update(reporter=REPORTER))
    async with api.pg.acquire() as conn:
        await queries.end_subscription(conn, body['subscription']['id'], reason='unsubscribed', by='resident')
    status, again = await api.post(PATH, update(status='investigating', reporter=REPORTER))
    assert status == 201 and again['subscribed'] is False and 'unsubscribed' in again['subscription']['reason']
    assert await api.pg.fetchval('select count(*) from subscriptions') == 1


async def test_an_unknown_status_is_refused_naming_it_until_the_source_maps_it(api: Api) -> None:
    status, body = await api.post(PATH, update(status='Waiting For Customer', reporter=REPORTER))
    assert status == 400
    assert "unknown status 'waiting_for_customer'" in body['message']
    assert 'status.waiting_for_customer=<stage>' in body['errors']['status']
    assert await counts(api) == (0, 0, 0, 0, 0)  # nothing half-written
    await registry.add_source(
        api.pg, name='fixmystreet', kind='open311', url='https://fms.example.gov.uk/open311/requests.json',
        options={'status.waiting_for_customer': 'need_info'},
    )  # fmt: skip
    status, body = await api.post(PATH, update(status='Waiting For Customer'))
    assert status == 201 and body['stage'] == 'need_info'
    assert await api.pg.fetchval('select kind from events') == 'case.evidence_requested'


async def test_without_consent_nobody_is_subscribed(api: Api) -> None:
    refused = {'email': 'reporter@example.com', 'consent': CONSENT | {'given': False}}
    status, body = await api.post(PATH, update(reporter=refused))
    assert status == 201 and body['subscribed'] is False
    assert body['subscription']['reason'] == 'the reporter has not given consent'
    status, body = await api.post('/api/cases/OTHER-1/updates', update(status='fixed'))
    assert status == 201 and body['subscribed'] is False and body['subscription']['reason'] == 'no reporter was passed'
    assert await api.pg.fetchval('select count(*) from residents') == 0
    assert await api.pg.fetchval('select count(*) from contact_points') == 0
    assert await api.pg.fetchval('select count(*) from notifications') == 0


async def test_addresses_a_trusted_case_system_verified_are_subscribed_at_once_and_hear_this_update(api: Api) -> None:
    reporter = {'mobile': '07700 900123', 'verified': True, 'consent': CONSENT}
    status, body = await api.post(PATH, update(reporter=reporter), await case_system_token(api))
    assert status == 201, body
    assert body['subscribed'] is True and body['subscription']['status'] == 'active' and body['matched'] == 1
    assert await api.outbox('confirmation') == []
    assert await api.pg.fetchval('select verified_at is not null from contact_points') is True
    [row] = await api.outbox('event')
    assert row['channel'] == 'sms' and row['event_id'] == body['event_id']


async def test_we_need_something_from_you_carries_the_due_date(api: Api, sender: Sender, sim: RunningSim) -> None:
    reporter = REPORTER | {'verified': ['email']}
    note = 'Please send a photo of the damage.'
    status, body = await api.post(PATH, update(stage='need_info', status=None, note=note, evidence_due='2026-03-20',
                                               reporter=reporter), await case_system_token(api))  # fmt: skip
    assert status == 201, body
    assert body['stage'] == 'need_info' and body['matched'] == 1
    event = await api.pg.fetchrow('select kind, attributes from events')
    assert event['kind'] == 'case.evidence_requested' and event['attributes']['respond_by'] == '2026-03-20'
    [row] = await api.outbox('event')
    assert await sender.deliver(row['id']) == 'sent'
    [sent] = sim.sent(row['id'])
    assert sent.template_id == sim.council_template('email').id
    assert 'Please send it by 20 March 2026.' in sent.body and note in sent.body


async def test_bad_updates_are_refused_with_the_field_named(api: Api) -> None:
    status, body = await api.post(PATH, update(status='in_progress', evidence_due='2026-03-20'))
    assert status == 400 and 'need_info' in body['errors']['evidence_due']
    status, body = await api.post(PATH, update(status=None))
    assert status == 400 and 'status' in body['errors']['body']
    status, body = await api.post(PATH, update(reporter={'email': 'not-an-email', 'consent': CONSENT}))
    assert status == 400 and 'reporter.email' in body['errors']
    status, body = await api.post(PATH, update(location={'postcode': 'ZZ99 9ZZ'}))
    assert status == 400 and 'location.postcode' in body['errors']
    assert await counts(api) == (0, 0, 0, 0, 0)


async def test_the_endpoint_needs_a_case_system_or_case_officer_token(api: Api) -> None:
    async with api.pg.acquire() as conn:
        _, comms = await api_auth.create_token(conn, name='press office', role='comms', days=None)
        _, officer = await api_auth.create_token(conn, name='officer', role='case_officer', days=None)
    status, body = await api.post(PATH, update(), '')
    assert status == 401
    status, body = await api.post(PATH, update(), 'tellme_' + uuid.uuid4().hex)
    assert status == 401
    status, body = await api.post(PATH, update(), comms)
    assert status == 403 and 'comms' in body['message']
    assert await api.pg.fetchval('select count(*) from events') == 0
    status, body = await api.post(PATH, update(), officer)
    assert status == 201


async def test_a_later_update_without_title_or_place_keeps_them_and_says_only_what_changed(api: Api) -> None:
    await api.post(PATH, update(location={'lat': 53.4563, 'lng': -2.3107}))
    status, body = await api.post(
        PATH, {'source': 'fixmystreet', 'status': 'fixed', 'occurred_at': '2026-03-05T10:00:00Z'}
    )
    assert status == 201 and body['outcome'] == 'changed' and body['stage'] == 'resolved'
    event = await api.pg.fetchrow('select * from events where id = $1', body['event_id'])
    assert event['title'] == 'Pothole on King Street' and (event['lat'], event['lng']) == (53.4563, -2.3107)
    changed = {change['field'] for change in event['changes']}
    assert 'title' not in changed and 'location' not in changed and {'stage', 'status'} <= changed


async def test_a_reporter_we_no_longer_send_to_is_not_subscribed_and_the_update_is_kept(api: Api) -> None:
    async with api.pg.acquire() as conn:
        resident = await queries.create_resident(conn)
        point = await queries.add_contact_point(conn, resident, 'email', 'reporter@example.com')
        await contacts.suppress_contact_point(conn, point.id, 'permanent-failure')
    status, body = await api.post(PATH, update(reporter=REPORTER))
    assert status == 201 and body['outcome'] == 'new'
    assert body['subscribed'] is False and body['subscription']['reason'] == 'we no longer send to this address'
    assert await api.pg.fetchval('select count(*) from subscriptions') == 0
    assert await api.pg.fetchval('select count(*) from consents') == 0
