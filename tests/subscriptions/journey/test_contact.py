"""The steps every sign-up shares: how to be told, contact details with errors people can fix, quiet hours,
check your answers with Change links, confirming a text by code, the limits on sign-ups, forms another site
cannot submit, and Welsh all the way to the resident's stored language."""

from __future__ import annotations

import asyncpg
import pytest

from notifier.outbox import contacts
from tests.support.factories import make_event, make_resident, record
from tests.support.journey import Browser, choose_contact, outbox

LANDLINE = '01632 960 001 is a landline. Enter a mobile number, like 07700 900 982'


@pytest.fixture
async def browser(browser: Browser, pg: asyncpg.Pool) -> Browser:
    """The resident's browser, with a case to follow."""
    await record(pg, make_event(
        source='fixmystreet', kind='case.status', topic='cases', case_reference='FMS-4471', external_key='c1',
        title='Fly-tipping reported', attributes={'status': 'action scheduled'},
    ))  # fmt: skip
    return browser


async def start(browser: Browser, channel: str) -> None:
    await browser.submit('/case', {'reference': 'FMS-4471'})
    page = await browser.submit('/case/channel', {'channel': channel})
    assert page.path == '/case/contact'


async def test_a_typo_in_an_email_domain_is_offered_not_silently_changed(browser: Browser, pg: asyncpg.Pool) -> None:
    await start(browser, 'email')
    page = await browser.submit('/case/contact', {'email': 'jo@gmial.com'})
    assert page.path == '/case/contact'
    assert page.errors() == ['Did you mean jo@gmail.com? Choose the address to use']
    assert page.value('email') == 'jo@gmial.com'
    assert 'Yes, use jo@gmail.com' in page.text and 'No, jo@gmial.com is right' in page.text
    page = await browser.submit(
        '/case/contact', {'email': 'jo@gmial.com', 'email_checked': 'jo@gmial.com', 'email-choice': 'suggested'}
    )
    assert page.path == '/case/check' and 'jo@gmail.com' in page.text


@pytest.mark.parametrize('domain', ['hotmial.co.uk', 'outlok.com'])
async def test_keeping_an_unusual_domain_is_the_residents_choice(browser: Browser, domain: str) -> None:
    await start(browser, 'email')
    typed = f'jo@{domain}'
    page = await browser.submit('/case/contact', {'email': typed})
    assert page.errors()[0].startswith('Did you mean jo@')
    page = await browser.submit('/case/contact', {'email': typed, 'email_checked': typed, 'email-choice': 'typed'})
    assert page.path == '/case/check' and typed in page.text


@pytest.mark.parametrize(
    ('typed', 'message'),
    [
        ('01632 960 001', LANDLINE),
        ('07700 90', 'Enter a UK mobile number with 11 digits, like 07700 900 982'),
        ('07700 9OO 123', 'A mobile number has only numbers. Enter a mobile number, like 07700 900 982'),
        ('', 'Enter your mobile number, like 07700 900 982'),
    ],
)
async def test_a_number_we_cannot_text_says_what_to_do(browser: Browser, typed: str, message: str) -> None:
    await start(browser, 'sms')
    page = await browser.submit('/case/contact', {'mobile': typed})
    assert page.status == 200 and page.path == '/case/contact'
    assert page.errors() == [message]
    assert page.value('mobile') == typed
    assert 'govuk-input--error' in page.html


async def test_email_and_text_errors_are_listed_together_and_both_values_kept(browser: Browser) -> None:
    await start(browser, 'both')
    page = await browser.submit('/case/contact', {'email': 'jo.example.com', 'mobile': '01632 960 001'})
    assert page.errors() == ['Enter an email address in the correct format, like name@example.com', LANDLINE]
    assert (page.value('email'), page.value('mobile')) == ('jo.example.com', '01632 960 001')


async def test_unanswered_choices_and_bad_quiet_hours_say_what_to_do(browser: Browser) -> None:
    await browser.submit('/case', {'reference': 'FMS-4471'})
    page = await browser.submit('/case/channel', {})
    assert page.errors() == ['Select how you would like to get updates']
    await browser.submit('/case/channel', {'channel': 'sms'})
    await browser.submit('/case/contact', {'mobile': '07700 900 123'})
    page = await browser.submit('/case/quiet-hours', {'quiet': 'choose', 'quiet_start': '25:00', 'quiet_end': '7am'})
    assert page.errors() == ['Quiet hours must start at a real time of day, from 00:00 to 23:59']
    assert (page.value('quiet_start'), page.value('quiet_end')) == ('25:00', '7am')
    page = await browser.submit('/case/quiet-hours', {'quiet': 'choose', 'quiet_start': 'teatime', 'quiet_end': ''})
    assert page.errors() == ['Enter the time quiet hours start using numbers, like 21:00 or 9pm',
                             'Enter the time quiet hours end, like 08:00']  # fmt: skip
    page = await browser.submit('/case/quiet-hours', {'quiet': 'choose', 'quiet_start': '10pm', 'quiet_end': '7am'})
    assert page.path == '/case/check' and 'Not between 22:00 and 07:00' in page.text


async def test_change_links_return_to_check_and_ask_what_a_change_needs(browser: Browser, pg: asyncpg.Pool) -> None:
    await browser.submit('/case', {'reference': 'FMS-4471'})
    check = await choose_contact(browser, 'case', email='jo@example.com')
    assert 'href="/case/channel?change=1"' in check.html
    page = await browser.submit('/case/channel?change=1', {'channel': 'both'})
    assert page.path == '/case/contact?change=1', 'texts need a mobile number first'
    page = await browser.submit('/case/contact?change=1', {'email': 'jo@example.com', 'mobile': '07700900123'})
    assert page.path == '/case/quiet-hours?change=1'
    page = await browser.submit('/case/quiet-hours?change=1', {'quiet': 'none'})
    assert page.path == '/case/check' and '07700 900 123' in page.text and 'Any time of day or night' in page.text
    await browser.submit('/case/check', {})
    subscription = await pg.fetchrow('select channels, quiet_start from subscriptions')
    assert subscription['channels'] == ['email', 'sms'] and subscription['quiet_start'] is None


async def text_sign_up(browser: Browser, pg: asyncpg.Pool) -> str:
    await browser.submit('/case', {'reference': 'FMS-4471'})
    await choose_contact(browser, 'case', mobile='07700 900 123')
    page = await browser.submit('/case/check', {})
    assert page.path == '/confirm/code' and 'Enter the code we sent you' in page.text and '07700 900 123' in page.text
    [message] = await outbox(pg)
    assert message['channel'] == 'sms' and message['purpose'] == 'confirmation'
    return message['personalisation']['code']


async def test_the_right_code_confirms_a_text_sign_up(browser: Browser, pg: asyncpg.Pool) -> None:
    code = await text_sign_up(browser, pg)
    wrong = '000000' if code != '000000' else '111111'
    page = await browser.submit('/confirm/code', {'code': wrong})
    assert page.errors() == ['That code is not right. Check the text message and try again']
    assert page.value('code') == wrong
    assert await pg.fetchval('select status from subscriptions') == 'pending'
    page = await browser.submit('/confirm/code', {'code': f'{code[:3]} {code[3:]}'})
    assert page.path == '/signup/confirmed' and 'You’re signed up' in page.text
    assert await pg.fetchval('select status from subscriptions') == 'active'
    assert await pg.fetchval('select verified_at is not null from contact_points') is True


async def test_an_expired_code_offers_a_new_one_that_works(browser: Browser, pg: asyncpg.Pool) -> None:
    code = await text_sign_up(browser, pg)
    await pg.execute("update one_time_secrets set expires_at = now() - interval '1 minute'")
    page = await browser.submit('/confirm/code', {'code': code})
    assert page.errors() == ['That code has expired. Send a new code and enter it within 15 minutes']
    assert 'action="/confirm/code/resend"' in page.html
    page = await browser.submit('/confirm/code/resend', {}, via='/confirm/code')
    assert page.path == '/confirm/code?resent=1' and 'We’ve sent you a new code' in page.text
    first, second = await outbox(pg)
    assert second['channel'] == 'sms' and second['personalisation']['code'].isdigit()
    page = await browser.submit('/confirm/code', {'code': second['personalisation']['code']})
    assert page.path == '/signup/confirmed'


async def test_guesses_at_a_code_are_capped(browser: Browser, pg: asyncpg.Pool) -> None:
    code = await text_sign_up(browser, pg)
    wrong = '000000' if code != '000000' else '111111'
    for _ in range(4):
        await browser.submit('/confirm/code', {'code': wrong})
    page = await browser.submit('/confirm/code', {'code': wrong})
    assert page.errors()[0].startswith('That code cannot be used any more')
    page = await browser.submit('/confirm/code', {'code': code})
    assert page.errors()[0].startswith('That code cannot be used any more'), 'even the right code, once spent'
    assert await pg.fetchval('select status from subscriptions') == 'pending'


async def test_twenty_sign_ups_for_one_address_in_a_minute_send_at_most_four(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    answers = []
    for _ in range(20):
        await browser.submit('/case', {'reference': 'FMS-4471'})
        await choose_contact(browser, 'case', email='jo@example.com')
        answers.append(await browser.submit('/case/check', {}))
    assert [page.path for page in answers[:4]] == ['/signup/sent'] * 4
    refused = answers[-1]
    assert refused.status == 429 and refused.path == '/case/check'
    assert 'Wait a few minutes' in refused.errors()[0] and 'jo@example.com' in refused.text, 'answers kept'
    assert len(await outbox(pg)) == 4
    assert await pg.fetchval('select count(*) from subscriptions') == 4


async def test_a_form_without_its_csrf_token_is_refused(browser: Browser, pg: asyncpg.Pool) -> None:
    page = await browser.submit('/case', {'reference': 'FMS-4471'}, csrf=False)
    assert page.status == 403
    await browser.submit('/case', {'reference': 'FMS-4471'})
    await choose_contact(browser, 'case', email='jo@example.com')
    forged = await browser.submit('/case/check', {}, csrf=False)
    assert forged.status == 403
    assert await pg.fetchval('select count(*) from subscriptions') == 0 and not await outbox(pg)


async def test_a_welsh_sign_up_is_in_welsh_and_stores_welsh(browser: Browser, pg: asyncpg.Pool) -> None:
    first = await browser.get('/near?lang=cy')
    assert 'Beth yw eich cod post?' in first.text and '<html lang="cy"' in first.html
    page = await browser.submit('/near', {'postcode': 'M32 0AH'})
    assert 'Pa mor bell o’ch cod post?' in page.text
    await browser.submit('/near/radius', {'radius': '250'})
    page = await browser.submit('/near/topics', {})
    assert page.errors() == ['Dewiswch o leiaf un peth i glywed amdano']
    await browser.submit('/near/topics', {'topics': 'planning'})
    await browser.submit('/near/frequency', {'frequency': 'immediate'})
    await browser.submit('/near/channel', {'channel': 'sms'})
    page = await browser.submit('/near/contact', {'mobile': '01632 960 001'})
    assert page.errors() == ['Llinell dir yw 01632 960 001. Rhowch rif ffôn symudol, fel 07700 900 982']
    await browser.submit('/near/contact', {'mobile': '07700 900 123'})
    check = await browser.submit('/near/quiet-hours', {'quiet': 'default'})
    assert 'Gwiriwch eich atebion' in check.text and 'Nid rhwng 9pm ac 8am' in check.text
    page = await browser.submit('/near/check', {})
    assert 'Rhowch y cod a anfonwyd atoch' in page.text
    assert await pg.fetchval('select language from residents') == 'cy'
    [message] = await outbox(pg)
    assert 'o fewn 250 m i M32 0AH' in message['personalisation']['subscription']


async def test_an_address_we_no_longer_send_to_is_refused_with_what_to_do(browser: Browser, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email='bounced@example.com')
    async with pg.acquire() as conn:
        await contacts.suppress_contact_point(conn, resident.email_id, 'permanent-failure')
    await browser.submit('/case', {'reference': 'FMS-4471'})
    await choose_contact(browser, 'case', email='bounced@example.com')
    page = await browser.submit('/case/check', {})
    assert page.path == '/case/check' and page.errors() == [
        'We cannot send messages to this address any more. Change it to a different email address or mobile number.'
    ]
    assert await pg.fetchval('select count(*) from subscriptions') == 0 and not await outbox(pg)
