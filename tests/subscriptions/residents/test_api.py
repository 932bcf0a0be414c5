"""Signing up through the API, confirming, the pages messages link to, and looking a message up."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from notifier.app_keys import QUEUE
from notifier.notify_sim.rules import rendering
from notifier.outbox import links
from templates.registry import REGISTRY, template
from tests.support.api import Api
from tests.support.factories import make_event, make_resident, make_subscription, place, record
from tests.support.notify import CALLBACK_TOKEN

PUBLIC = 'https://tellme.example.gov.uk'
SIGNUP = {'email': 'Resident@Example.com', 'kind': 'near', 'lat': 53.4563, 'lng': -2.3107, 'radius_m': 400,
          'topics': ['planning']}  # fmt: skip


@pytest.fixture
async def api(api: Api) -> Api:
    """The API, called by default with the council website's token."""
    api.token = await api.new_token(name='council website', days=None)
    return api


async def page_of(api: Api, path: str, method: str = 'GET', **kwargs: Any) -> tuple[int, str]:
    """A page a message links to: its status and HTML."""
    response = await api.client.request(method, path, **kwargs)
    assert response.content_type == 'text/html'
    return response.status, await response.text()


async def confirmation_row(api: Api, subscription_id: int) -> asyncpg.Record:
    return await api.pg.fetchrow("select * from notifications where subscription_id = $1 and purpose = 'confirmation'",
                                 subscription_id)  # fmt: skip


async def test_signing_up_makes_a_pending_subscription_and_queues_a_confirmation(api: Api) -> None:
    status, body = await api.post('/api/subscriptions', SIGNUP)
    assert status == 201, body
    assert body['status'] == 'pending' and body['confirmation']['channel'] == 'email'
    subscription = await api.pg.fetchrow('select * from subscriptions where id = $1', body['subscription_id'])
    assert subscription['status'] == 'pending' and subscription['kind'] == 'near' and subscription['radius_m'] == 400
    assert await api.pg.fetchval('select address from contact_points') == 'resident@example.com'
    row = await confirmation_row(api, body['subscription_id'])
    assert str(row['id']) == body['confirmation']['notification_id']
    assert row['status'] == 'pending' and row['channel'] == 'email' and row['event_id'] is None
    assert str(row['template_id']) == REGISTRY[('confirmation', 'email', 'en')].template_id
    text = rendering.render(template(str(row['template_id']))['body'], row['personalisation'])
    # as the resident reads it (a zero width space keeps "53.4563" from starting a Notify list: public_text.plain)
    shown = text.replace('\u200b', '')
    assert 'You asked to hear about planning applications within 400 m of 53.4563, -2.3107.' in shown
    assert f'{PUBLIC}/confirm/{body["subscription_id"]}.' in text and '((' not in text
    assert await api.client.app[QUEUE].exists(f'arq:job:deliver:{row["id"]}')


async def test_a_welsh_sign_up_by_postcode_and_text_gets_a_welsh_text(api: Api) -> None:
    spot = place('M32 0AH')
    await api.pg.execute(
        "insert into postcodes (postcode, lat, lng, eastings, northings, positional_quality, country_code,"
        " district_code, ward_code) values ('M32 0AH', $1, $2, 378000, 395000, 10, 'E92000001', $3, $4)",
        spot.lat, spot.lng, spot.district_code, spot.ward_code,
    )  # fmt: skip
    body = {'mobile': '07700 900123', 'language': 'cy', 'postcode': 'm320ah', 'kind': 'near', 'radius_m': 250}
    status, answer = await api.post('/api/subscriptions', body)
    assert status == 201, answer
    subscription = await api.pg.fetchrow('select * from subscriptions where id = $1', answer['subscription_id'])
    assert (subscription['centre_lat'], subscription['centre_lng']) == (spot.lat, spot.lng)
    row = await confirmation_row(api, answer['subscription_id'])
    assert row['channel'] == 'sms' and str(row['template_id']) == REGISTRY[('confirmation', 'sms', 'cy')].template_id
    text = rendering.render(template(str(row['template_id']))['body'], row['personalisation'])
    assert text.startswith(
        'Tell Me: cadarnhewch eich bod am gael negeseuon testun am newyddion y cyngor o fewn 250 m i M32 0AH'
    )


async def test_a_bad_sign_up_is_400_naming_every_field_and_nothing_is_written(api: Api) -> None:
    body = {'email': 'not an email', 'kind': 'near', 'lat': 53.4, 'radius_m': 10, 'frequency': 'hourly'}
    status, answer = await api.post('/api/subscriptions', body)
    assert status == 400
    assert set(answer['errors']) == {'email', 'radius_m', 'frequency'}
    assert 'greater than or equal to 50' in answer['errors']['radius_m']
    status, answer = await api.post(
        '/api/subscriptions', {'kind': 'topic', 'topics': ['planning'], 'channels': ['sms']}
    )
    assert status == 400 and set(answer['errors']) == {'email', 'mobile'}
    status, answer = await api.post('/api/subscriptions', {**SIGNUP, 'lng': None})
    assert status == 400 and answer['errors'] == {'body': 'a near subscription needs lng'}
    status, answer = await api.post('/api/subscriptions', {**SIGNUP, 'postcode': 'ZZ99 9ZZ', 'lat': None, 'lng': None})
    assert status == 400
    for table in ('residents', 'contact_points', 'subscriptions', 'notifications'):
        assert await api.pg.fetchval(f'select count(*) from {table}') == 0, table
    assert (await api.post('/api/subscriptions', SIGNUP, token=''))[0] == 401


@pytest.mark.parametrize(
    ('kind', 'topics', 'refused'),
    [
        ('near', ['planning', 'bins'], 'bins'),  # bin collections are chosen for an address, with reminders
        ('topic', ['cases'], 'cases'),  # case updates reach the people following that case only
        ('near', ['roadworks'], 'roadworks'),  # a topic the council hid
    ],
)
async def test_a_topic_residents_may_not_choose_is_refused_with_a_422_naming_the_field(
    api: Api, kind: str, topics: list[str], refused: str
) -> None:
    await api.pg.execute("update topics set offered = false where key = 'roadworks'")
    where = {} if kind == 'near' else {'lat': None, 'lng': None, 'radius_m': None}
    status, answer = await api.post('/api/subscriptions', {**SIGNUP, **where, 'kind': kind, 'topics': topics})
    assert status == 422, answer
    assert list(answer['errors']) == ['topics'] and refused in answer['errors']['topics']
    assert 'may not choose' in answer['errors']['topics']
    for table in ('residents', 'contact_points', 'subscriptions', 'notifications'):
        assert await api.pg.fetchval(f'select count(*) from {table}') == 0, table
    # what the sign-up pages offer is taken, and so is a part of one ('bulletins/roads' is council news)
    status, answer = await api.post('/api/subscriptions', {**SIGNUP, 'topics': ['planning', 'bulletins/roads']})
    assert status == 201, answer


async def test_signing_up_again_with_the_same_address_joins_the_same_resident(api: Api) -> None:
    first = (await api.post('/api/subscriptions', SIGNUP))[1]
    second = (await api.post('/api/subscriptions', {**SIGNUP, 'email': 'resident@example.com', 'radius_m': 1000}))[1]
    assert first['subscription_id'] != second['subscription_id']
    assert await api.pg.fetchval('select count(*) from residents') == 1
    assert await api.pg.fetchval('select count(distinct resident_id) from subscriptions') == 1


async def a_text(api: Api, number: str, message: str) -> None:
    """A text to the council's Notify number, as Notify forwards it."""
    body = {'id': str(uuid.uuid4()), 'source_number': number, 'destination_number': '07700900000', 'message': message}
    response = await api.client.post(
        '/notify/callbacks/inbound-sms', json=body, headers={'Authorization': f'Bearer {CALLBACK_TOKEN}'}
    )
    assert response.status == 200


@pytest.mark.parametrize('also_email', [False, True], ids=['by text', 'by email and text'])
async def test_a_number_that_texted_us_first_still_proves_itself_when_it_signs_up(api: Api, also_email: bool) -> None:
    """Texting BINIAU gave the number a resident of its own, unproved (issue 15). Signing up with it later is a
    sign-up like any other: in the language chosen now, on a resident of its own, and nothing is sent to the number
    but the confirmation until someone proves it is theirs."""
    await a_text(api, '07700 900999', 'BINIAU')
    texted = await api.pg.fetchrow("select id, resident_id from contact_points where address = '447700900999'")
    assert await api.pg.fetchval('select language from residents where id = $1', texted['resident_id']) == 'cy'

    signup = {'mobile': '07700 900999', 'kind': 'topic', 'topics': ['planning'], 'language': 'en'}
    if also_email:
        signup |= {'email': 'someone@example.com', 'channels': ['email', 'sms']}
    else:
        signup |= {'channels': ['sms']}
    status, created = await api.post('/api/subscriptions', signup)
    assert status == 201, created

    sub = await api.pg.fetchrow('select status, resident_id from subscriptions where id = $1',
                                created['subscription_id'])  # fmt: skip
    assert sub['status'] == 'pending'
    assert sub['resident_id'] != texted['resident_id'], 'not joined to what texting made'
    assert await api.pg.fetchval('select language from residents where id = $1', sub['resident_id']) == 'en'
    point = await api.pg.fetchrow("select id, resident_id, verified_at from contact_points where channel = 'sms'")
    assert (point['id'], point['resident_id'], point['verified_at']) == (texted['id'], sub['resident_id'], None)
    assert await api.pg.fetchval('select count(*) from contact_points where resident_id = $1',
                                 texted['resident_id']) == 0  # fmt: skip
    row = await confirmation_row(api, created['subscription_id'])
    assert str(row['template_id']) == REGISTRY[('confirmation', row['channel'], 'en')].template_id
    assert row['channel'] == ('email' if also_email else 'sms')

    token = row['personalisation']['confirm_url'].rsplit('/', 1)[1]
    status, _ = await api.post(f'/api/subscriptions/{created["subscription_id"]}/confirm', {'token': token}, token='')
    assert status == 200
    verified = await api.pg.fetchval("select verified_at from contact_points where channel = 'sms'")
    assert (verified is not None) is (not also_email), 'only the address the confirmation reached is proved'


async def test_confirming_activates_and_verifies_and_a_wrong_token_does_nothing(api: Api) -> None:
    created = (await api.post('/api/subscriptions', SIGNUP))[1]
    sub_id = created['subscription_id']
    row = await confirmation_row(api, sub_id)
    token = row['personalisation']['confirm_url'].rsplit('/', 1)[1]
    other = (await api.post('/api/subscriptions', {**SIGNUP, 'radius_m': 900}))[1]['subscription_id']
    status, answer = await api.post(f'/api/subscriptions/{other}/confirm', {'token': token}, token='')
    assert status == 404 and answer['errors'] == {'token': 'not valid'}
    assert (await api.post(f'/api/subscriptions/{sub_id}/confirm', {'token': 'x'}, token=''))[0] == 400
    assert await api.pg.fetchval('select status from subscriptions where id = $1', sub_id) == 'pending'
    for _ in range(2):  # confirming twice is harmless
        status, answer = await api.post(f'/api/subscriptions/{sub_id}/confirm', {'token': token}, token='')
        assert (status, answer) == (200, {'subscription_id': sub_id, 'status': 'active'})
    assert await api.pg.fetchval('select verified_at from contact_points') is not None


async def test_the_confirm_link_in_the_message_confirms_with_a_button(api: Api) -> None:
    sub_id = (await api.post('/api/subscriptions', SIGNUP))[1]['subscription_id']
    url = (await confirmation_row(api, sub_id))['personalisation']['confirm_url']
    # opening the link (as a mail scanner would) confirms nothing
    status, html = await page_of(api, url.removeprefix(PUBLIC))
    assert status == 200 and '<button' in html
    assert await api.pg.fetchval('select status from subscriptions where id = $1', sub_id) == 'pending'
    status, html = await page_of(api, url.removeprefix(PUBLIC), 'POST')
    assert status == 200 and 'You’re signed up' in html
    assert await api.pg.fetchval('select status from subscriptions where id = $1', sub_id) == 'active'
    status, html = await page_of(api, f'/confirm/{sub_id}.AAAAAAAAAAAAAAAAAAAAAA')
    assert status == 404 and 'This link does not work' in html and 'Traceback' not in html


async def test_one_click_unsubscribe_ends_the_subscription_and_a_second_click_is_still_fine(api: Api) -> None:
    resident = await make_resident(api.pg)
    sub_id = await make_subscription(api.pg, resident, kind='topic', topics=['planning'])
    path = links.unsubscribe_url('', api.settings.link_secrets[0], sub_id)
    status, html = await page_of(api, path)
    assert status == 200 and '<form method="post">' in html and 'planning applications' in html
    for _ in range(2):
        status, html = await page_of(api, path, 'POST', data='List-Unsubscribe=One-Click')
        assert status == 200 and 'You have unsubscribed' in html
    row = await api.pg.fetchrow('select status, ended_reason, ended_by from subscriptions where id = $1', sub_id)
    assert tuple(row) == ('ended', 'unsubscribed', 'resident')
    for method in ('GET', 'POST'):
        status, html = await page_of(api, f'/unsubscribe/{sub_id}.bm90LW91cnM', method)
        assert status == 404 and 'This link does not work' in html


async def test_the_event_page_shows_the_news_safely_with_its_history(api: Api) -> None:
    event = make_event(
        title='Extension <script>alert(1)</script>', attributes={'address': '1 King St', 'status': 'validated'}
    )
    first = await record(api.pg, event)
    second = await record(
        api.pg, event.model_copy(update={'attributes': {'address': '1 King St', 'status': 'decided'}})
    )
    status, html = await page_of(api, f'/e/{first.event_id}')
    assert status == 200
    assert '<script>' not in html and 'Extension &lt;script&gt;alert(1)&lt;/script&gt;' in html
    assert 'Erection of a single-storey rear extension.' in html and '1 King St' in html
    assert str(event.url) in html and f'href="/e/{second.event_id}"' in html  # a newer version exists
    status, html = await page_of(api, f'/e/{second.event_id}')
    assert 'What has changed' in html and 'validated → decided' in html and '>History</h2>' in html
    assert (await page_of(api, '/e/999999'))[0] == 404
    assert (await page_of(api, '/e/99999999999999999'))[0] == 404
    assert (await page_of(api, '/manage'))[0] == 200


async def test_a_notification_can_be_looked_up_without_revealing_the_address(api: Api) -> None:
    created = (await api.post('/api/subscriptions', SIGNUP))[1]
    notification_id = created['confirmation']['notification_id']
    status, body = await api.get(f'/api/notifications/{notification_id}')
    assert status == 200
    assert body['status'] == 'pending' and body['attempts'] == 0 and body['last_error'] is None
    assert body['to'] == 'r***@example.com' and body['purpose'] == 'confirmation'
    assert 'resident@example.com' not in str(body)
    assert (await api.get(f'/api/notifications/{notification_id}', token=''))[0] == 401
    assert (await api.get(f'/api/notifications/{uuid.uuid4()}'))[0] == 404
    assert (await api.get('/api/notifications/not-a-uuid'))[0] == 404
