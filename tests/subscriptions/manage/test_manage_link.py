"""The manage link in a message opens that subscription for changes, without signing in (issue 14 item 2): the page
says what it can and cannot do, every change works from it, unsubscribing lands back on it, and "see all" leads to
signing in; in English and in Welsh. What the link must never reach is in tests/security/test_manage_link.py."""

from __future__ import annotations

from datetime import time

import asyncpg
from aiohttp.test_utils import TestClient

from subscriptions.manage.common import manage_path
from tests.support.factories import make_resident, make_subscription
from tests.support.manage import SECRET, sign_in
from tests.support.pages import csrf_of, form_answer, post_form, section, text_of

KEY = SECRET.encode()


async def row(pg: asyncpg.Pool, sub_id: int) -> asyncpg.Record:
    return await pg.fetchrow('select * from subscriptions where id = $1', sub_id)


async def test_the_link_opens_its_subscription_and_says_what_it_can_and_cannot_do(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    resident = await make_resident(pg, email='ann@example.com', sms='07700 900111')
    sub_id = await make_subscription(pg, resident, near='M32 0AH', radius_m=500, topics=['planning'])
    page = await client.get(manage_path(KEY, sub_id))
    assert page.url.path == f'/manage/subscriptions/{sub_id}'
    html = await page.text()
    assert 'Planning applications within 500 m of M32 0AH' in html
    said = section(html, 'opened-by-link')
    assert 'You opened this page with the link in one of our messages' in said
    assert 'change these updates, pause them or stop them' in said
    assert 'download or delete your data, you need to sign in' in said
    assert 'href="/manage" id="see-all"' in html and 'Sign in to see all your subscriptions' in html
    assert 'govuk-back-link' not in html, 'no way back to a list this browser may not see'
    for field in ('radius', 'topics', 'channels', 'frequency', 'quiet-hours'):
        assert f'id="change-{field}"' in html
    welsh = await (await client.get(f'/manage/subscriptions/{sub_id}?lang=cy')).text()
    assert 'Rydych wedi agor y dudalen hon gyda’r ddolen yn un o’n negeseuon' in text_of(welsh)
    assert 'Mewngofnodi i weld eich holl danysgrifiadau' in welsh
    assert 'Ceisiadau cynllunio o fewn 500 m i M32 0AH' in text_of(welsh)


async def test_every_change_works_from_the_link(client: TestClient, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email='bea@example.com', sms='07700 900222')
    sub_id = await make_subscription(pg, resident, near='M32 0AH', radius_m=250, topics=['planning'])
    await client.get(manage_path(KEY, sub_id))
    base = f'/manage/subscriptions/{sub_id}'
    changes = [
        ('radius', {'radius': '2000'}), ('topics', {'topics': ['planning', 'licensing']}),
        ('frequency', {'frequency': 'weekly'}), ('channels', {'channels': ['email', 'sms']}),
        ('quiet-hours', {'quiet': 'choose', 'quiet_start': '22:30', 'quiet_end': '07:00'}),
    ]  # fmt: skip
    for field, data in changes:
        answer = await post_form(client, f'{base}/change/{field}', data)
        assert (answer.status, answer.headers['Location']) == (303, base), field
    stored = await row(pg, sub_id)
    assert (stored['radius_m'], stored['topics'], stored['frequency']) == (2000, ['licensing', 'planning'], 'weekly')
    assert (stored['quiet_start'], stored['quiet_end']) == (time(22, 30), time(7))
    shown = await (await client.get(base)).text()
    assert 'Your change has been saved' in shown and 'Within 2 km' in shown and 'No texts from 22:30 to 07:00' in shown

    paused = await post_form(client, f'{base}/pause', page=base)
    assert paused.status == 303 and (await row(pg, sub_id))['status'] == 'paused'
    assert (await post_form(client, f'{base}/resume', page=base)).status == 303
    assert (await row(pg, sub_id))['status'] == 'active'
    gone = await post_form(client, f'{base}/unsubscribe')
    assert (gone.status, gone.headers['Location']) == (303, base), 'back to the page the link opened'
    ended = await (await client.get(base)).text()
    assert (
        'You have unsubscribed from: Licence applications and planning applications' in ended
        and 'You have unsubscribed from this' in ended
    )
    assert (await row(pg, sub_id))['ended_by'] == 'resident'


async def test_an_ended_subscriptions_link_says_the_updates_have_stopped(client: TestClient, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    sub_id = await make_subscription(pg, resident, kind='topic', topics=['planning'], status='ended')
    answer = await client.get(manage_path(KEY, sub_id))
    assert answer.status == 410
    html = text_of(await answer.text())
    assert 'These updates have stopped' in html and 'Sign up again to hear about this' in html
    welsh = text_of(await (await client.get(manage_path(KEY, sub_id) + '?lang=cy')).text())
    assert 'Mae’r diweddariadau hyn wedi’u hatal' in welsh and 'Cofrestru eto i glywed am hyn' in welsh


async def test_a_second_link_opens_a_second_subscription_and_the_first_stays_open(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    resident = await make_resident(pg)
    first = await make_subscription(pg, resident, kind='topic', topics=['planning'])
    second = await make_subscription(pg, resident, kind='topic', topics=['licensing'])
    await client.get(manage_path(KEY, first))
    await client.get(manage_path(KEY, second))
    for sub_id in (first, second):
        assert (await client.get(f'/manage/subscriptions/{sub_id}', allow_redirects=False)).status == 200


async def test_signed_in_as_someone_else_a_link_opens_only_its_own_subscription(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    me = await make_resident(pg, email='me@example.com')
    mine = await make_subscription(pg, me, kind='topic', topics=['bins'])
    partner = await make_resident(pg, email='partner@example.com')
    theirs = await make_subscription(pg, partner, kind='topic', topics=['planning'])
    also_theirs = await make_subscription(pg, partner, kind='topic', topics=['licensing'])
    await sign_in(client, pg, 'me@example.com')
    page = await (await client.get(manage_path(KEY, theirs))).text()
    assert 'id="opened-by-link"' in page, "a shared computer: the partner's link, opened while I am signed in"
    listing = await (await client.get('/manage/subscriptions')).text()
    assert f'subscription-{mine}' in listing and f'subscription-{theirs}' not in listing
    assert (await client.get(f'/manage/subscriptions/{also_theirs}')).status == 404
    csrf = csrf_of(page)
    refused = await client.post(f'/manage/subscriptions/{also_theirs}/pause', data={'csrf_token': csrf})
    assert refused.status == 404 and (await row(pg, also_theirs))['status'] == 'active'


async def test_the_change_pages_offer_what_sign_up_offered(client: TestClient, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, sms='07700 900333')
    sub_id = await make_subscription(pg, resident, near='M32 0AH', radius_m=2000, topics=['planning'],
                                     quiet_hours=(time(22, 30), time(7)))  # fmt: skip
    await client.get(manage_path(KEY, sub_id))
    radius = await (await client.get(f'/manage/subscriptions/{sub_id}/change/radius')).text()
    for words in ('Within 100 m', 'Within 250 m', 'Within 500 m', 'Within 1 km', 'Within 2 km'):
        assert words in text_of(radius)
    assert 'value="2000" checked' in radius
    quiet = await (await client.get(f'/manage/subscriptions/{sub_id}/change/quiet-hours')).text()
    assert 'value="choose" checked' in quiet
    assert 'value="22:30"' in quiet and 'value="07:00"' in quiet
    assert 'Not between 9pm and 8am' in quiet and 'Any time of day or night' in quiet
    wrong = await form_answer(client, f'/manage/subscriptions/{sub_id}/change/quiet-hours',
                              {'quiet': 'choose', 'quiet_start': '25:00', 'quiet_end': 'teatime'})  # fmt: skip
    html = await wrong.text()
    assert 'Quiet hours must start at a real time of day, from 00:00 to 23:59' in html
    assert 'Enter the time quiet hours end using numbers, like 08:00 or 8am' in html
    assert 'value="25:00"' in html and 'value="teatime"' in html
    stored = await row(pg, sub_id)
    assert (stored['quiet_start'], stored['quiet_end']) == (time(22, 30), time(7))
