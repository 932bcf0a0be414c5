"""Things near me: postcode, distance (with how much that brings), topics and filters, how often, then how to
be told — ending in a pending subscription and its confirmation in the outbox, which the link confirms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.support.factories import make_event, record
from tests.support.journey import PUBLIC, Browser, choose_contact, outbox

HOME = 'M32 0AH'


async def near_steps(browser: Browser, postcode: str = 'm32 0ah') -> None:
    page = await browser.submit('/near', {'postcode': postcode})
    assert page.path == '/near/radius', page.errors()
    page = await browser.submit('/near/radius', {'radius': '500'})
    assert page.path == '/near/topics', page.errors()
    page = await browser.submit('/near/topics', [('topics', 'planning'), ('leave_out', 'trees')])
    assert page.path == '/near/frequency', page.errors()
    page = await browser.submit('/near/frequency', {'frequency': 'daily'})
    assert page.path == '/near/channel', page.errors()


async def test_near_me_by_email_ends_pending_with_a_link_that_confirms_it(browser: Browser, pg: asyncpg.Pool) -> None:
    await near_steps(browser)
    check = await choose_contact(browser, 'near', email='jo@example.com')
    assert 'Check your answers' in check.text
    for words in ('M32 0AH', 'Within 500 m', 'Planning applications (leaving out tree works)', 'Once a day',
                  'jo@example.com'):  # fmt: skip
        assert words in check.text
    sent = await browser.submit('/near/check', {})
    assert sent.path == '/signup/sent' and 'We’ve sent you a link' in sent.text and 'jo@example.com' in sent.text
    again = await browser.submit('/near/check', {}, via='/near')  # the button pressed twice
    assert again.path == '/signup/sent'

    subscription = await pg.fetchrow('select * from subscriptions')
    assert subscription['status'] == 'pending' and subscription['kind'] == 'near'
    assert subscription['radius_m'] == 500 and subscription['topics'] == ['planning']
    assert subscription['frequency'] == 'daily' and 'Trees' in subscription['exclusions']['application_type']
    [message] = await outbox(pg)
    assert message['purpose'] == 'confirmation' and message['channel'] == 'email'
    assert message['address'] == 'jo@example.com'
    assert 'within 500 m of M32 0AH' in message['personalisation']['subscription']
    assert subscription['postcode'] == 'M32 0AH', 'the place is named by the postcode the resident gave'
    link = message['personalisation']['confirm_url']
    assert link.startswith(f'{PUBLIC}/confirm/')

    confirmed = await browser.client.post(link.removeprefix(PUBLIC))  # the button on the link's page (pages.py)
    assert confirmed.status == 200
    assert await pg.fetchval('select status from subscriptions') == 'active'


async def test_each_distance_says_how_many_updates_it_would_have_brought(browser: Browser, pg: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    for n in range(30):  # 30 in 12 weeks at the postcode itself: 2.5 a week
        await record(pg, make_event(title=f'Extension {n}', external_key=f'near-{n}', postcode=HOME,
                                    occurred_at=now - timedelta(days=2 * n)))  # fmt: skip
    await record(pg, make_event(title='Old news', external_key='old', postcode=HOME,
                                occurred_at=now - timedelta(weeks=20)))  # fmt: skip
    page = await browser.submit('/near', {'postcode': HOME})
    assert 'Within 100 m About 2 a week' in page.text
    far = await browser.submit('/near', {'postcode': 'GU3 1AH'})
    assert 'Within 2 km No updates in the last 12 weeks' in far.text


@pytest.mark.parametrize(
    ('typed', 'message'),
    [
        ('', 'Enter your postcode, like SW1A 2AA'),
        ('M32', 'Enter a full UK postcode, like SW1A 2AA'),
        ('ZZ99 9ZZ', 'We could not find the postcode ZZ99 9ZZ. Check it is right, or enter a postcode nearby'),
    ],
)
async def test_a_postcode_we_cannot_use_says_what_to_do_and_keeps_what_was_typed(
    browser: Browser, typed: str, message: str
) -> None:
    page = await browser.submit('/near', {'postcode': typed})
    assert page.status == 200 and page.path == '/near'
    assert page.errors() == [message]
    assert page.value('postcode') == typed
    assert page.html.count(message) == 2, 'in the summary and by the field'
