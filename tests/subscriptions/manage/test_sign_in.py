"""Signing in to manage your updates without a password: a link by email, a code by text, the same answer for an
address we do not know, limits per address, and links that work once and for one purpose only."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from notifier.outbox import links
from notifier.sending.delivery import Sender
from notifier.settings import Settings
from notifier.shell.app import create_app
from subscriptions.manage.common import manage_path
from subscriptions.residents.signup import confirm_url
from tests.support.factories import make_event, make_resident, make_subscription, record
from tests.support.manage import PUBLIC, SECRET, outbox, sign_in
from tests.support.notify import RunningSim
from tests.support.pages import form_answer, post_form, without_nonce


async def test_an_email_sign_in_link_signs_you_in_once(client: TestClient, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email='ann@example.com')
    await make_subscription(pg, resident, kind='topic', topics=['planning'])
    asked = await post_form(client, '/manage', {'address': '  Ann@Example.com '})
    assert (asked.status, asked.headers['Location']) == (303, '/manage/check-email')
    check = await (await client.get('/manage/check-email')).text()
    assert 'If Ann@Example.com is signed up for updates, we have sent a link' in check
    [message] = await outbox(pg)
    assert message['contact_point_id'] == resident.email_id and message['channel'] == 'email'
    url = message['personalisation']['sign_in_url']
    assert url.startswith(f'{PUBLIC}/manage/sign-in/') and message['personalisation']['minutes'] == '30'

    opened = await client.get(url.removeprefix(PUBLIC))  # a mail scanner opening it spends nothing
    assert opened.status == 200 and 'Sign in to manage your updates' in await opened.text()
    used = await post_form(client, url.removeprefix(PUBLIC))
    assert (used.status, used.headers['Location']) == (303, '/manage/subscriptions')
    listing = await (await client.get('/manage/subscriptions')).text()
    assert 'Your subscriptions' in listing and 'Planning applications' in listing and 'Sign out' in listing

    again = await post_form(client, url.removeprefix(PUBLIC))
    assert again.status == 404 and 'This sign-in link does not work' in await again.text()


async def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    await make_resident(pg, email='known@example.com')
    pages = {}
    for address in ('known@example.com', 'nobody@example.com'):
        asked = await post_form(client, '/manage', {'address': address})
        assert (asked.status, asked.headers['Location']) == (303, '/manage/check-email')
        pages[address] = without_nonce(await (await client.get('/manage/check-email')).text())
    assert pages['known@example.com'].replace('known@', 'nobody@') == pages['nobody@example.com']
    assert len(await outbox(pg)) == 1, 'only the known address got a message'


async def test_a_text_code_signs_you_in_and_a_wrong_one_says_what_to_do(client: TestClient, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email=False, sms='07700 900123')
    await make_subscription(pg, resident, kind='topic', topics=['planning'])
    asked = await post_form(client, '/manage', {'address': '07700900123'})
    assert (asked.status, asked.headers['Location']) == (303, '/manage/enter-code')
    [message] = await outbox(pg)
    assert message['channel'] == 'sms' and message['contact_point_id'] == resident.sms_id
    code = message['personalisation']['code']

    blank = await form_answer(client, '/manage/enter-code', {'code': ''})
    assert blank.status == 200 and 'Enter the 6-digit code from the text message' in await blank.text()
    wrong = await form_answer(client, '/manage/enter-code', {'code': '000000' if code != '000000' else '111111'})
    html = await wrong.text()
    assert wrong.status == 200 and 'The code is not right' in html and 'govuk-error-summary' in html
    right = await post_form(client, '/manage/enter-code', {'code': f'{code[:3]} {code[3:]}'})
    assert (right.status, right.headers['Location']) == (303, '/manage/subscriptions')
    assert 'Planning applications' in await (await client.get('/manage/subscriptions')).text()


async def test_a_code_for_an_unknown_number_fails_like_a_wrong_code_until_it_is_spent(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    await post_form(client, '/manage', {'address': '07700 900999'})
    assert await outbox(pg) == []
    for attempt in range(5):
        answer = await (await form_answer(client, '/manage/enter-code', {'code': '123456'})).text()
        expected = 'The code is not right' if attempt < 4 else 'You have tried too many times'
        assert expected in answer


async def test_bad_addresses_get_errors_that_say_what_to_do(client: TestClient) -> None:
    for typed, message in (('', 'Enter your email address or mobile number'),
                           ('ann@example', 'Enter an email address in the correct format'),
                           ('01632 960001', 'Enter a UK mobile number')):  # fmt: skip
        answer = await form_answer(client, '/manage', {'address': typed})
        html = await answer.text()
        assert answer.status == 200 and message in html and 'govuk-error-summary' in html
        assert f'value="{typed}"' in html, 'what was typed is kept'


async def test_one_address_asking_too_often_is_limited_without_a_message_storm(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    await make_resident(pg, email='busy@example.com')
    answers = [(await form_answer(client, '/manage', {'address': 'busy@example.com'})).status for _ in range(6)]
    assert answers == [303, 303, 303, 303, 429, 429]
    assert len(await outbox(pg)) == 4
    limited = await form_answer(client, '/manage', {'address': 'busy@example.com'})
    assert 'too many sign-in messages' in await limited.text()


async def test_signing_in_after_a_manage_link_shows_everything_and_a_signed_in_owner_goes_straight_there(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    resident = await make_resident(pg, email='cat@example.com')
    await make_subscription(pg, resident, kind='topic', topics=['licensing'])
    wanted = await make_subscription(pg, resident, kind='topic', topics=['planning'])
    opened = await client.get(manage_path(SECRET.encode(), wanted), allow_redirects=False)
    assert (opened.status, opened.headers['Location']) == (303, f'/manage/subscriptions/{wanted}')
    used = await sign_in(client, pg, 'cat@example.com')  # "sign in to see all your subscriptions"
    assert used.headers['Location'] == '/manage/subscriptions'
    listing = await (await client.get('/manage/subscriptions')).text()
    assert 'Licence applications' in listing and 'Planning applications' in listing
    again = await client.get(manage_path(SECRET.encode(), wanted), allow_redirects=False)
    assert again.headers['Location'] == f'/manage/subscriptions/{wanted}'
    page = await (await client.get(f'/manage/subscriptions/{wanted}')).text()
    assert 'opened-by-link' not in page, "signed in, the page is the owner's, with nothing about a link"
    forged = await client.get(f'/manage/s/{wanted}.AAAAAAAAAAAAAAAAAAAAAA', allow_redirects=False)
    assert forged.status == 404


async def test_a_token_for_one_purpose_fails_in_another(
    client: TestClient, pg: asyncpg.Pool, settings: Settings
) -> None:
    resident = await make_resident(pg, email='dan@example.com')
    sub_id = await make_subscription(pg, resident, kind='topic', topics=['planning'])
    unsubscribe = links.unsubscribe_url('', SECRET.encode(), sub_id)
    manage = manage_path(SECRET.encode(), sub_id)
    confirm = confirm_url(settings, sub_id).removeprefix(PUBLIC)
    await post_form(client, '/manage', {'address': 'dan@example.com'})
    sign_in_token = (await outbox(pg))[-1]['personalisation']['sign_in_url'].rsplit('/', 1)[1]

    for token in (unsubscribe.rsplit('/', 1)[1], manage.rsplit('/', 1)[1], confirm.rsplit('/', 1)[1]):
        answer = await post_form(client, f'/manage/sign-in/{token}')
        assert answer.status == 404 and 'This sign-in link does not work' in await answer.text()
    assert (await client.get(f'/unsubscribe/{sign_in_token}')).status == 404
    for path in (f'/unsubscribe/{manage.rsplit("/", 1)[1]}', f'/unsubscribe/{confirm.rsplit("/", 1)[1]}',
                 f'/confirm/{unsubscribe.rsplit("/", 1)[1]}'):  # fmt: skip
        answer = await client.post(path, data='List-Unsubscribe=One-Click')
        assert answer.status == 404 and 'This link does not work' in await answer.text()
    assert await pg.fetchval('select status from subscriptions where id = $1', sub_id) == 'active'
    assert (await post_form(client, f'/manage/sign-in/{sign_in_token}')).status == 303, 'the real link still works'


async def test_signing_out_ends_the_session(client: TestClient, pg: asyncpg.Pool) -> None:
    await make_resident(pg, email='eve@example.com')
    await sign_in(client, pg, 'eve@example.com')
    assert (await client.get('/manage/subscriptions', allow_redirects=False)).status == 200
    out = await post_form(client, '/manage/sign-out', page='/manage/subscriptions')
    assert 'You have signed out' in await out.text()
    assert (await client.get('/manage/subscriptions', allow_redirects=False)).headers['Location'] == '/manage'
    assert await pg.fetchval('select count(*) from web_sessions where resident_id is not null') == 0


async def test_the_sign_in_pages_are_in_welsh(client: TestClient) -> None:
    html = await (await client.get('/manage?lang=cy')).text()
    assert 'Rhowch eich cyfeiriad e-bost neu rif ffôn symudol' in html and '<html lang="cy"' in html


async def test_the_manage_link_in_an_event_message_opens_its_subscription(
    aiohttp_client: Any, delivery_settings: Settings, sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    client = await aiohttp_client(create_app(delivery_settings.model_copy(update={'public_url': PUBLIC})))
    resident = await make_resident(pg, email='fay@example.com')
    sub_id = await make_subscription(pg, resident, near='M32 0AH', radius_m=400, topics=['planning'])
    await record(pg, make_event())
    notification_id = await pg.fetchval("select id from notifications where purpose = 'event'")
    assert await sender.deliver(notification_id) == 'sent'
    [message] = sim.sent(notification_id)
    link = re.search(r'Manage your updates: (\S+)', message.body)
    assert link and '/manage/s/' in link.group(1)
    opened = await client.get('/manage/s/' + link.group(1).rsplit('/manage/s/', 1)[1], allow_redirects=False)
    assert opened.headers['Location'] == f'/manage/subscriptions/{sub_id}', 'no sign-in: the link is the proof'
    page = await (await client.get(opened.headers['Location'])).text()
    assert 'Planning applications within 400 m of M32 0AH' in page and 'id="opened-by-link"' in page
