"""Signed in: see your subscriptions, change how often, how far, topics, channels and quiet hours, pause and resume,
unsubscribe from one or from everything — and nobody else's subscriptions, ever."""

from __future__ import annotations

from datetime import time

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.outbox import links
from tests.support.factories import Resident, make_resident, make_subscription
from tests.support.manage import SECRET, sign_in
from tests.support.pages import form_answer, post_form


@pytest.fixture
async def ann(client: TestClient, pg: asyncpg.Pool) -> Resident:
    resident = await make_resident(pg, email='ann@example.com', sms='07700 900111')
    await sign_in(client, pg, 'ann@example.com')
    return resident


async def row(pg: asyncpg.Pool, sub_id: int) -> asyncpg.Record:
    return await pg.fetchrow('select * from subscriptions where id = $1', sub_id)


async def test_the_list_shows_what_how_and_how_often(client: TestClient, pg: asyncpg.Pool, ann: Resident) -> None:
    near = await make_subscription(pg, ann, near='M32 0AH', radius_m=400, topics=['planning'], frequency='daily',
                                   channels=['email'])  # fmt: skip
    await make_subscription(pg, ann, kind='topic', topics=['licensing'], status='paused', channels=['sms'])
    await make_subscription(pg, ann, kind='topic', topics=['bins'], status='ended')
    html = await (await client.get('/manage/subscriptions')).text()
    assert 'Planning applications within 400 m of M32 0AH' in html
    assert 'Once a day' in html and 'Email' in html and 'Text message' in html and 'Paused' in html
    assert 'Bin collections' not in html and 'Subscriptions you have stopped: 1' in html
    assert f'href="/manage/subscriptions/{near}"' in html


async def test_change_how_often_and_see_it_stored(client: TestClient, pg: asyncpg.Pool, ann: Resident) -> None:
    sub_id = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    path = f'/manage/subscriptions/{sub_id}/change/frequency'
    page = await (await client.get(path)).text()
    assert 'How often do you want to get updates?' in page and 'value="immediate" checked' in page
    changed = await post_form(client, path, {'frequency': 'weekly'})
    assert (changed.status, changed.headers['Location']) == (303, f'/manage/subscriptions/{sub_id}')
    assert (await row(pg, sub_id))['frequency'] == 'weekly'
    shown = await (await client.get(f'/manage/subscriptions/{sub_id}')).text()
    assert 'Your change has been saved' in shown and 'Once a week' in shown
    assert 'Your change has been saved' not in await (await client.get(f'/manage/subscriptions/{sub_id}')).text()


async def test_a_change_without_an_answer_is_an_error_that_says_what_to_do(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    sub_id = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    for data in ({}, {'frequency': 'hourly'}):
        answer = await form_answer(client, f'/manage/subscriptions/{sub_id}/change/frequency', data)
        html = await answer.text()
        assert answer.status == 200 and 'Select how often you want to get updates' in html
        assert html.count('govuk-error-message') == 1 and '<title>Error:' in html
    assert (await row(pg, sub_id))['frequency'] == 'immediate'


async def test_change_radius_topics_channels_and_quiet_hours(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    sub_id = await make_subscription(pg, ann, near='M32 0AH', radius_m=400, topics=['planning'])
    base = f'/manage/subscriptions/{sub_id}/change'
    before = await row(pg, sub_id)
    assert (await post_form(client, f'{base}/radius', {'radius': '2000'})).status == 303
    after = await row(pg, sub_id)
    assert after['radius_m'] == 2000 and after['bbox'] != before['bbox']
    assert (await post_form(client, f'{base}/topics', {'topics': ['planning', 'licensing']})).status == 303
    assert (await row(pg, sub_id))['topics'] == ['licensing', 'planning']
    assert (await post_form(client, f'{base}/channels', {'channels': 'sms'})).status == 303
    assert (await row(pg, sub_id))['channels'] == ['sms']
    own = {'quiet': 'choose', 'quiet_start': '22:30', 'quiet_end': '7am'}
    assert (await post_form(client, f'{base}/quiet-hours', own)).status == 303
    stored = await row(pg, sub_id)
    assert (stored['quiet_start'], stored['quiet_end']) == (time(22, 30), time(7))
    assert (await post_form(client, f'{base}/quiet-hours', {'quiet': 'none'})).status == 303
    assert (await row(pg, sub_id))['quiet_start'] is None
    assert (await post_form(client, f'{base}/quiet-hours', {'quiet': 'default'})).status == 303
    stored = await row(pg, sub_id)
    assert (stored['quiet_start'], stored['quiet_end']) == (time(21), time(8))
    nothing = await form_answer(client, f'{base}/channels', {})
    assert 'Select at least one way for us to tell you' in await nothing.text()


async def test_pause_and_resume(client: TestClient, pg: asyncpg.Pool, ann: Resident) -> None:
    sub_id = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    page = f'/manage/subscriptions/{sub_id}'
    paused = await post_form(client, f'{page}/pause', page=page)
    assert paused.status == 303 and (await row(pg, sub_id))['status'] == 'paused'
    html = await (await client.get(page)).text()
    assert 'These updates are paused' in html and 'Resume these updates' in html
    # it says how they start again, and never that they have
    assert 'They start again only when you select ‘Resume these updates’' in html
    assert 'We will send updates again' not in html
    welsh = await (await client.get(f'{page}?lang=cy')).text()
    assert 'Byddant yn dechrau eto dim ond pan fyddwch yn dewis' in welsh
    assert (await post_form(client, f'{page}/resume', page=page)).status == 303
    assert (await row(pg, sub_id))['status'] == 'active'


async def test_unsubscribe_from_one_then_from_everything(client: TestClient, pg: asyncpg.Pool, ann: Resident) -> None:
    one, two, three = [await make_subscription(pg, ann, kind='topic', topics=[topic])
                       for topic in ('planning', 'licensing', 'bulletins')]  # fmt: skip
    confirm = await (await client.get(f'/manage/subscriptions/{one}/unsubscribe')).text()
    assert 'Are you sure you want to unsubscribe?' in confirm
    assert (await row(pg, one))['status'] == 'active', 'opening the page changes nothing'
    gone = await post_form(client, f'/manage/subscriptions/{one}/unsubscribe')
    assert gone.headers['Location'] == '/manage/subscriptions'
    assert ((await row(pg, one))['status'], (await row(pg, one))['ended_reason']) == ('ended', 'unsubscribed')
    assert (
        'You have unsubscribed from: Planning applications' in await (await client.get('/manage/subscriptions')).text()
    )

    assert (
        'Are you sure you want to unsubscribe from everything?'
        in await (await client.get('/manage/unsubscribe-all')).text()
    )
    assert (await post_form(client, '/manage/unsubscribe-all')).status == 303
    for sub_id in (two, three):
        ended = await row(pg, sub_id)
        assert (ended['status'], ended['ended_reason'], ended['ended_by']) == ('ended', 'unsubscribed-all', 'resident')
    html = await (await client.get('/manage/subscriptions')).text()
    assert 'You have unsubscribed from everything' in html and 'You do not have any subscriptions' in html


async def test_nobody_else_s_subscription_can_be_seen_or_changed(
    client: TestClient, pg: asyncpg.Pool, ann: Resident
) -> None:
    other = await make_resident(pg, email='bob@example.com')
    theirs = await make_subscription(pg, other, kind='topic', topics=['planning'])
    assert (await client.get(f'/manage/subscriptions/{theirs}')).status == 404
    assert (await client.get(f'/manage/subscriptions/{theirs}/change/frequency')).status == 404
    mine = await make_subscription(pg, ann, kind='topic', topics=['planning'])
    page = f'/manage/subscriptions/{mine}'
    assert (await post_form(client, f'/manage/subscriptions/{theirs}/pause', page=page)).status == 404
    assert (await post_form(client, f'/manage/subscriptions/{theirs}/unsubscribe', page=page)).status == 404
    assert (await row(pg, theirs))['status'] == 'active'
    assert 'bob@' not in await (await client.get('/manage/subscriptions')).text()


async def test_the_manage_pages_need_signing_in(client: TestClient, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    sub_id = await make_subscription(pg, resident, kind='topic', topics=['planning'])
    for path in ('/manage/subscriptions', f'/manage/subscriptions/{sub_id}', '/manage/your-data',
                 f'/manage/subscriptions/{sub_id}/change/frequency', '/manage/your-data/download'):  # fmt: skip
        answer = await client.get(path, allow_redirects=False)
        assert (answer.status, answer.headers['Location']) == (303, '/manage')
    forged = await client.post(f'/manage/subscriptions/{sub_id}/pause', allow_redirects=False)
    assert forged.status == 403 and (await row(pg, sub_id))['status'] == 'active'


async def test_one_click_unsubscribe_works_without_a_cookie_and_the_page_has_a_button(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    resident = await make_resident(pg)
    sub_id = await make_subscription(pg, resident, kind='topic', topics=['planning'])
    path = links.unsubscribe_url('', SECRET.encode(), sub_id)
    page = await (await client.get(path)).text()
    assert 'Stop getting updates about planning applications?' in page and 'govuk-button' in page
    assert (await row(pg, sub_id))['status'] == 'active'
    client.session.cookie_jar.clear()
    answer = await client.post(path, data='List-Unsubscribe=One-Click',
                               headers={'Content-Type': 'application/x-www-form-urlencoded'})  # fmt: skip
    assert answer.status == 200 and 'You have unsubscribed' in await answer.text()
    assert (await row(pg, sub_id))['status'] == 'ended'
    welsh = await (await client.get(path + '?lang=cy')).text()
    assert 'Rydych wedi dad-danysgrifio' in welsh
