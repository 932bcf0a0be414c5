"""The service overview shows owners what the seeded world holds: subscribers by topic, area and channel, messages
per day by channel and status, failures, suppressed contacts, source health and the contacts avoided (case updates
and bulletins delivered, once per person) × the configured saving; its charts are well-formed, titled SVG; only
comms, approvers and admins may see it, as a page or as JSON."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from notifier import audit
from subscriptions.places import areas
from subscriptions.topics import catalogue
from tests.support import factories
from tests.support.api import bearer, new_token
from tests.support.staff import sign_in_as

SVG = '{http://www.w3.org/2000/svg}'
WARD = factories.place('M32 0AH').ward_code


async def token_for(pg: asyncpg.Pool, role: str) -> dict[str, str]:
    return bearer(await new_token(pg, role, name=f'{role} dashboard'))


async def event(pg: asyncpg.Pool, source: str, kind: str, topic: str) -> int:
    return await pg.fetchval(
        """insert into events (source, external_key, fingerprint, kind, topic, title, occurred_at)
           values ($1, $2, 'f', $3, $4, 'Something happened', now()) returning id""",
        source, str(uuid.uuid4()), kind, topic,
    )  # fmt: skip


async def message(pg: asyncpg.Pool, contact: int, channel: str, status: str, *, event_id: int | None = None,
                  purpose: str = 'event', ago: timedelta = timedelta(0), digest_id: int | None = None,
                  error: str | None = None) -> None:  # fmt: skip
    await pg.execute(
        """insert into notifications (event_id, contact_point_id, channel, purpose, status, template_id, digest_id,
                                      created_at, last_error)
           values ($1, $2, $3, $4, $5, $6, $7, now() - $8::interval, $9)""",
        event_id, contact, channel, purpose, status, None if purpose == 'event' else uuid.uuid4(), digest_id, ago,
        error,
    )  # fmt: skip


async def seed(pg: asyncpg.Pool) -> None:
    """Three people subscribed (a fourth paused, a fifth ended), news of three kinds, messages in every state."""
    one = await factories.make_resident(pg)
    two = await factories.make_resident(pg, sms=True)
    three = await factories.make_resident(pg, email=False, sms=True)
    paused, ended = await factories.make_resident(pg), await factories.make_resident(pg)
    await factories.make_subscription(pg, one, kind='topic', topics=['planning'])
    await factories.make_subscription(pg, one, kind='area', area_codes=[WARD])
    await factories.make_subscription(pg, two, kind='topic', topics=['bins', 'planning'])
    await factories.make_subscription(pg, three, kind='case', case_source='fixmystreet', case_reference='FMS-1')
    await factories.make_subscription(pg, paused, kind='topic', topics=['bins'], status='paused')
    await factories.make_subscription(pg, ended, kind='topic', topics=['bins'], status='ended')

    case = await event(pg, 'fixmystreet', 'case.status', 'cases')
    bulletin = await event(pg, 'bulletins', 'bulletin.published', 'bulletins')
    planning = await event(pg, 'trafford-planning', 'planning.new', 'planning')
    await message(pg, three.sms_id, 'sms', 'delivered', event_id=case)
    old_case = await event(pg, 'fixmystreet', 'case.status', 'cases')
    await message(pg, three.sms_id, 'sms', 'delivered', event_id=old_case, ago=timedelta(days=40))  # before the window
    # one person, two channels, one bulletin: one contact avoided
    await message(pg, two.email_id, 'email', 'delivered', event_id=bulletin)
    await message(pg, two.sms_id, 'sms', 'delivered', event_id=bulletin)
    # in a daily digest that was delivered: counted, once, as the digest
    digest = await pg.fetchval(
        'insert into digests (contact_point_id, channel, frequency, due_at, status) '
        "values ($1, 'email', 'daily', now(), 'closed') returning id",
        one.email_id,
    )
    await message(pg, one.email_id, 'email', 'digested', event_id=bulletin, digest_id=digest)
    await message(pg, one.email_id, 'email', 'delivered', purpose='digest', digest_id=digest)
    await message(pg, one.email_id, 'email', 'delivered', event_id=planning)  # other news: not counted
    await message(pg, two.email_id, 'email', 'permanent-failure', event_id=planning, error='email address not found')
    await message(pg, one.email_id, 'email', 'pending', purpose='confirmation')
    await pg.execute(
        "update contact_points set suppressed_at = now(), suppressed_reason = 'stop-reply' where id = $1", two.sms_id
    )
    await pg.execute(
        'insert into sources (name, kind, url, last_success_at, last_polled_at) '
        "values ('trafford-planning', 'planit', 'https://planit.example/api', now(), now())"
    )


async def test_the_overview_counts_what_the_service_holds(client: Any, pg: asyncpg.Pool) -> None:
    await seed(pg)
    answer = await client.get('/api/overview', headers=await token_for(pg, 'approver'))
    assert answer.status == 200
    body = await answer.json()

    subscribers = body['subscribers']
    assert (subscribers['residents'], subscribers['subscriptions']) == (3, 4)
    by = {row['label']: (row['residents'], row['subscriptions']) for row in subscribers['by_topic']}
    assert by == {'Planning applications': (2, 2), 'Bin collections': (1, 1), 'Every topic': (1, 1),
                  'Their own case': (1, 1)}  # fmt: skip
    assert {row['key'] for row in subscribers['by_topic']} == {'planning', 'bins', '(all)', '(case)'}
    by = {row['label']: (row['residents'], row['subscriptions']) for row in subscribers['by_area']}
    assert by == {f'Ward {WARD}': (1, 1), 'Whole council area': (2, 2), 'Their own case': (1, 1)}  # no names loaded
    by = {row['label']: (row['residents'], row['subscriptions']) for row in subscribers['by_channel']}
    assert by == {'Email': (2, 3), 'Text message': (2, 2)}

    messages = body['messages']
    assert (messages['messages'], messages['delivered'], messages['failed']) == (7, 5, 1)
    assert messages['per_day_by_channel']['email'][-1] == 5 and messages['per_day_by_channel']['sms'][-1] == 2
    assert sum(messages['per_day_by_status']['on_the_way']) == 1 and len(body['days']) == 30
    assert body['failures'] == [
        {'status': 'permanent-failure', 'channel': 'email', 'reason': 'email address not found', 'messages': 1}
    ]
    assert body['suppressed'] == [{'channel': 'sms', 'reason': 'stop-reply', 'contacts': 1, 'recent': 1}]
    # an approver sees which feeds there are; their health and errors are for admins (test_sources_no_echo)
    assert body['sources'] == [{'name': 'trafford-planning', 'kind': 'planit', 'status': 'active'}]
    admin = await (await client.get('/api/overview', headers=await token_for(pg, 'admin'))).json()
    assert [(s['name'], s['health'], s['healthy']) for s in admin['sources']] == [('trafford-planning', 'ok', True)]

    avoided = body['avoided_contacts']
    assert (avoided['case_updates'], avoided['bulletins'], avoided['contacts']) == (1, 2, 3)
    assert avoided['other_news_not_counted'] == 1
    assert (avoided['saving_per_contact_pence'], avoided['saving_pence']) == (268, 3 * 268)


async def test_the_page_shows_the_saving_its_method_and_accessible_charts(client: Any, pg: asyncpg.Pool) -> None:
    await seed(pg)
    await sign_in_as(client, pg, 'owner@council.example', 'approver')
    page = await client.get('/staff/overview')
    assert page.status == 200
    html = await page.text()
    assert '£8.04' in html and 'about 3 contacts avoided' in html
    assert 'SOCITM' in html and 'bin schedule changes, is not counted' in html
    assert '3 people have 4 active subscriptions' in html
    assert 'email address not found' in html and 'stop-reply' in html and 'trafford-planning' in html

    charts = re.findall(r'<svg\b.*?</svg>', html, re.S)
    assert len(charts) == 5
    for chart in charts:
        root = ET.fromstring(chart)  # well-formed XML, or this raises
        assert root.tag == f'{SVG}svg' and root.get('role') == 'img'
        title, desc = root.find(f'{SVG}title'), root.find(f'{SVG}desc')
        assert title is not None and title.text and desc is not None and desc.text
        assert root.get('aria-labelledby') == title.get('id') and root.get('aria-describedby') == desc.get('id')
        assert 'style=' not in chart and '<script' not in chart
    topic_chart = ET.fromstring(charts[0])
    assert [t.text for t in topic_chart.iter(f'{SVG}text')][:2] == ['Planning applications', '2']  # by name
    # every chart has its table of the same figures
    for table in ('table-topic', 'table-area', 'table-channel', 'table-per-day-channel', 'table-per-day-status'):
        assert f'id="{table}"' in html


async def test_an_empty_service_still_has_an_overview(client: Any, pg: asyncpg.Pool) -> None:
    await sign_in_as(client, pg, 'new@council.example', 'comms')
    page = await client.get('/staff/overview')
    html = await page.text()
    assert page.status == 200 and '£0.00' in html and 'No sources are set up yet' in html
    for chart in re.findall(r'<svg\b.*?</svg>', html, re.S):
        ET.fromstring(chart)


@pytest.mark.parametrize(
    ('roles', 'status'),
    [((), 303), (('case_officer',), 403), (('comms',), 200), (('approver',), 200), (('admin',), 200)],
)
async def test_who_may_see_the_overview_page(
    client: Any, pg: asyncpg.Pool, roles: tuple[str, ...], status: int
) -> None:
    if roles:
        await sign_in_as(client, pg, f'{roles[0]}@council.example', *roles)
    page = await client.get('/staff/overview', allow_redirects=False)
    assert page.status == status
    if status == 303:
        assert page.headers['Location'].startswith('/staff/sign-in?next=')
    if status == 200:
        assert 'Service overview' in await page.text()


@pytest.mark.parametrize(
    ('role', 'status'),
    [(None, 401), ('case_officer', 403), ('system', 403), ('comms', 200), ('approver', 200), ('admin', 200)],
)
async def test_who_may_read_the_overview_api(client: Any, pg: asyncpg.Pool, role: str | None, status: int) -> None:
    headers = await token_for(pg, role) if role else {}
    answer = await client.get('/api/overview', headers=headers)
    assert answer.status == status
    assert ('avoided_contacts' in await answer.json()) is (status == 200)


async def test_the_menu_offers_the_overview_only_to_those_who_may_see_it(client: Any, pg: asyncpg.Pool) -> None:
    await sign_in_as(client, pg, 'officer@council.example', 'case_officer')
    assert '/staff/overview' not in await (await client.get('/staff')).text()
    await sign_in_as(client, pg, 'comms@council.example', 'comms')
    assert 'href="/staff/overview"' in await (await client.get('/staff')).text()


async def test_staff_see_which_messages_wait_while_a_notify_template_is_not_linked(
    client: Any, pg: asyncpg.Pool
) -> None:
    # a new install: nothing linked yet (`tellme notify link` not run)
    await sign_in_as(client, pg, 'comms@council.example', 'comms')
    page = await (await client.get('/staff/overview')).text()
    assert 'Some messages are waiting: a GOV.UK Notify template cannot be used' in page
    assert 'Text message: “Tell Me text message” — not linked yet: run tellme notify link' in page
    await pg.execute(
        "insert into notify_templates (channel, name, notify_id, state) select c, c, gen_random_uuid(), 'linked' "
        "from unnest(array['email', 'sms', 'letter']) c"
    )
    assert 'Some messages are waiting' not in await (await client.get('/staff/overview')).text()


async def test_topics_and_areas_by_the_names_the_council_gave_them(client: Any, pg: asyncpg.Pool) -> None:
    """Topic names from the catalogue (a renamed one by its new name, a key nobody named as words), wards and
    districts by the names the postcode import loaded, the code only for an area nobody named."""
    async with pg.acquire() as conn, conn.transaction():
        await areas.load_names(conn, [areas.SAMPLE_NAMES])
        await catalogue.change(conn, 'planning', {'name_en': 'Planning and building control'}, audit.SYSTEM)
    resident = await factories.make_resident(pg)
    await factories.make_subscription(pg, resident, kind='area', area_codes=[WARD], topics=['planning', 'parks'])
    district = await factories.make_resident(pg)
    await factories.make_subscription(pg, district, kind='area', area_codes=['E08000009'], topics=['bulletins/roads'])
    unnamed = await factories.make_resident(pg)
    await factories.make_subscription(pg, unnamed, kind='area', area_codes=[factories.place('BL1 5PQ').ward_code])

    body = await (await client.get('/api/overview', headers=await token_for(pg, 'comms'))).json()
    topics = {row['key']: row['label'] for row in body['subscribers']['by_topic']}
    assert topics == {'planning': 'Planning and building control', 'parks': 'Parks',
                      'bulletins/roads': 'Council news: Roads', '(all)': 'Every topic'}  # fmt: skip
    places = {row['key']: row['label'] for row in body['subscribers']['by_area']}
    assert places == {WARD: 'Stretford & Humphrey Park', 'E08000009': 'Trafford (district)',
                      'E05014834': 'Ward E05014834'}  # fmt: skip

    await sign_in_as(client, pg, 'owner@council.example', 'comms')
    html = await (await client.get('/staff/overview')).text()
    assert 'Stretford &amp; Humphrey Park' in html and 'Planning and building control' in html
    assert f'Ward {WARD}' not in html and '>planning<' not in html


async def text_answered(pg: asyncpg.Pool, contact_id: int, answer: str, status: str, at: datetime) -> None:
    """A text received from `contact_id` and Tell Me's `answer` to it, sent at `at` and now `status`."""
    callback = await pg.fetchval(
        "insert into notify_callbacks (kind, notify_id, payload) values ('inbound-sms', $1, '{}') returning id",
        uuid.uuid4(),
    )
    reply = await pg.fetchval(
        "insert into notifications (contact_point_id, channel, purpose, status, template_id) "
        "values ($1, 'sms', 'reply', $2, $3) returning id",
        contact_id, status, uuid.uuid4(),
    )  # fmt: skip
    await pg.execute(
        'insert into text_answers (callback_id, contact_point_id, answer, notification_id, answered_at) '
        'values ($1, $2, $3, $4, $5)',
        callback, contact_id, answer, reply, at,
    )  # fmt: skip


async def test_answers_to_texts_asking_for_bin_days_or_a_case_count_as_contacts_avoided(
    client: Any, pg: asyncpg.Pool
) -> None:
    """A resident who texted BINS (or their case reference) and got the answer did not phone: each delivered answer
    counts once; a help text, an acknowledgement and an answer still on its way do not."""
    resident = await factories.make_resident(pg, email=False, sms=True)
    answers = [('bins', 'delivered'), ('case', 'delivered'), ('bins', 'sending'), ('help', 'delivered'),
               ('acknowledged', 'delivered'), ('not-followed', 'delivered')]  # fmt: skip
    now = await pg.fetchval('select now()')
    for answer, status in answers:
        await text_answered(pg, resident.sms_id, answer, status, now)
    body = await (await client.get('/api/overview', headers=await token_for(pg, 'comms'))).json()
    assert (body['avoided_contacts']['text_answers'], body['avoided_contacts']['contacts']) == (2, 2)
    await sign_in_as(client, pg, 'comms@council.example', 'comms')
    html = await (await client.get('/staff/overview')).text()
    assert 'about 2 contacts avoided' in html and 'texted BINS or a case reference' in html


async def test_a_resident_asking_for_bin_days_again_the_same_day_is_one_contact_avoided(
    client: Any, pg: asyncpg.Pool
) -> None:
    """BINS three times in a morning would have been one phone call, not three; the next day's is another."""
    resident = await factories.make_resident(pg, email=False, sms=True)
    other = await factories.make_resident(pg, email=False, sms=True)
    morning = await pg.fetchval("select date_trunc('day', now() at time zone 'Europe/London') at time zone "
                                "'Europe/London' - interval '1 day' + interval '9 hours'")  # fmt: skip
    asked = [(resident, 'bins', timedelta(0)), (resident, 'bins', timedelta(minutes=5)),
             (resident, 'bins', timedelta(hours=2)), (resident, 'case', timedelta(hours=2)),
             (resident, 'bins', timedelta(days=1)), (other, 'bins', timedelta(0))]  # fmt: skip
    for who, answer, after in asked:
        await text_answered(pg, who.sms_id, answer, 'delivered', morning + after)
    body = await (await client.get('/api/overview', headers=await token_for(pg, 'comms'))).json()
    assert body['avoided_contacts']['text_answers'] == 4, 'bins and case that morning, bins next day, the other'
