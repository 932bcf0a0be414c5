"""Track my case: a reference that exists (any letter case) → how to be told → a pending case subscription;
a reference we do not have gets a kind page that says what to do."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from tests.conftest import Services
from tests.factories import make_event, make_resident, record
from tests.journey_support import Browser, choose_contact, make_browser, outbox


@pytest.fixture
async def browser(aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis) -> Browser:
    return await make_browser(aiohttp_client, services, pg)


async def case_event(pg: asyncpg.Pool, source: str = 'fixmystreet', reference: str = 'FMS-4471') -> None:
    await record(pg, make_event(
        source=source, kind='case.status', topic='cases', case_reference=reference, external_key=f'{source}-case',
        title='Fly-tipping reported', attributes={'status': 'action scheduled'},
    ))  # fmt: skip


async def test_following_a_case_by_email_ends_pending_with_its_confirmation(browser: Browser, pg: asyncpg.Pool) -> None:
    await case_event(pg)
    page = await browser.submit('/case', {'reference': ' fms-4471 '})
    assert page.path == '/case/channel', page.errors()
    check = await choose_contact(browser, 'case', email='jo@example.com')
    assert 'FMS-4471' in check.text
    sent = await browser.submit('/case/check', {})
    assert sent.path == '/signup/sent'
    subscription = await pg.fetchrow('select * from subscriptions')
    assert (subscription['kind'], subscription['case_source'], subscription['case_reference']) == (
        'case',
        'fixmystreet',
        'FMS-4471',
    )
    [message] = await outbox(pg)
    assert message['purpose'] == 'confirmation' and message['personalisation']['subscription'] == 'your case FMS-4471'


async def test_a_reference_in_two_services_asks_which(browser: Browser, pg: asyncpg.Pool) -> None:
    await case_event(pg, 'fixmystreet')
    await case_event(pg, 'housing-repairs')
    page = await browser.submit('/case', {'reference': 'FMS-4471'})
    assert page.path == '/case/service'
    page = await browser.submit('/case/service', {})
    assert page.errors() == ['Select the service your case is with']
    page = await browser.submit('/case/service', {'source': 'housing-repairs'})
    assert page.path == '/case/channel'


async def test_a_case_we_do_not_have_gets_a_kind_page(browser: Browser, pg: asyncpg.Pool) -> None:
    page = await browser.submit('/case', {'reference': 'FMS-9999'})
    assert page.status == 200 and 'We could not find that case' in page.text
    assert 'We do not have a case with the reference FMS-9999' in page.text
    again = await browser.get('/case')
    assert again.value('reference') == 'FMS-9999', 'what was typed is kept to correct'
    assert await browser.get('/case/channel') and (await browser.get('/case/channel')).path == '/case'
    empty = await browser.submit('/case', {'reference': ''})
    assert empty.errors() == ['Enter your case reference, like FMS-4471']
    assert await pg.fetchval('select count(*) from subscriptions') == 0


async def test_a_case_reported_with_contact_details_is_followed_only_with_them(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    await case_event(pg)
    reporter = await make_resident(pg, email='reporter@example.com')
    await pg.execute(
        """
        insert into consents (resident_id, case_source, case_reference, given_at, via, wording, recorded_by,
                              channels, addresses)
        values ($1, 'fixmystreet', 'FMS-4471', now(), 'case system', 'We will email you updates.', 'case system',
                '{email}', '{"email": "reporter@example.com"}')
        """,
        reporter.id,
    )
    await browser.submit('/case', {'reference': 'FMS-4471'})
    await choose_contact(browser, 'case', email='someone.else@example.com')
    refused = await browser.submit('/case/check', {})
    assert refused.path == '/case/check'
    assert 'Use the email address or mobile number you gave when you reported it' in refused.text
    assert await pg.fetchval("select count(*) from subscriptions where kind = 'case'") == 0
    assert await pg.fetchval('select count(*) from notifications') == 0

    await choose_contact(browser, 'case', email='Reporter@Example.com')
    accepted = await browser.submit('/case/check', {})
    assert accepted.path == '/signup/sent'
    assert await pg.fetchval("select count(*) from subscriptions where kind = 'case'") == 1
