"""Track my case: a reference that exists (any letter case) → how to be told → a pending case subscription; a
reference we do not have, and a reporter's case asked for with other contact details, get the same answer at the
end."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import Services
from tests.support.factories import make_event, make_resident, record
from tests.support.journey import Browser, choose_contact, make_browser, outbox


async def case_event(pg: asyncpg.Pool, source: str = 'fixmystreet', reference: str = 'FMS-4471') -> None:
    await record(pg, make_event(
        source=source, kind='case.status', topic='cases', case_reference=reference, external_key=f'{source}-case',
        title='Fly-tipping reported', attributes={'status': 'action scheduled'},
    ))  # fmt: skip


NOT_MATCHED = (
    'We cannot match that case reference with that email address or mobile number. Check the reference against your '
    'email or letter, and use the email address or mobile number you gave when you reported it. A case reported '
    'today can take up to a day to reach us. If it still does not work, contact the council.'
)


async def consent_for(pg: asyncpg.Pool, email: str, reference: str = 'FMS-4471') -> None:
    """The case system passed the reporter, with their consent: the case is followed only with their details."""
    reporter = await make_resident(pg, email=email)
    await pg.execute(
        """
        insert into consents (resident_id, case_source, case_reference, given_at, via, wording, recorded_by,
                              channels, addresses)
        values ($1, 'fixmystreet', $2, now(), 'case system', 'We will email you updates.', 'case system',
                '{email}', jsonb_build_object('email', $3::text))
        """,
        reporter.id, reference, email,
    )  # fmt: skip


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


async def test_a_reference_we_do_not_have_is_answered_only_at_the_end(browser: Browser, pg: asyncpg.Pool) -> None:
    page = await browser.submit('/case', {'reference': 'FMS-9999'})
    assert page.path == '/case/channel', 'whether a case exists is not said before the contact details are'
    check = await choose_contact(browser, 'case', email='jo@example.com')
    assert 'FMS-9999' in check.text
    refused = await browser.submit('/case/check', {})
    assert refused.path == '/case/check' and refused.errors() == [NOT_MATCHED]
    again = await browser.get('/case?change=1')
    assert again.value('reference') == 'FMS-9999', 'what was typed is kept to correct'
    assert await pg.fetchval('select count(*) from subscriptions') == 0
    assert await pg.fetchval('select count(*) from notifications') == 0
    empty = await browser.submit('/case', {'reference': ''})
    assert empty.errors() == ['Enter your case reference, like FMS-4471']


async def test_a_wrong_reference_and_a_wrong_contact_get_the_same_answer(
    browser: Browser, pg: asyncpg.Pool, aiohttp_client: Any, services: Services
) -> None:
    """A stranger cannot learn from /case whether a case exists or was reported by someone who gave contact
    details, nor test whose they were: a reference we do not have and a reporter's case with other details get the
    same words and the same status."""
    await case_event(pg)
    await consent_for(pg, 'reporter@example.com')
    answers = []
    for reference in ('FMS-4471', 'FMS-4472'):
        stranger = await make_browser(aiohttp_client, services, pg)
        assert (await stranger.submit('/case', {'reference': reference})).path == '/case/channel'
        await choose_contact(stranger, 'case', email='someone.else@example.com')
        refused = await stranger.submit('/case/check', {})
        answers.append((refused.status, refused.path, refused.errors(), refused.text.replace(reference, 'REF')))
    assert answers[0] == answers[1]
    assert answers[0][2] == [NOT_MATCHED]
    assert await pg.fetchval('select count(*) from subscriptions') == 0


async def test_a_case_reported_with_contact_details_is_followed_only_with_them(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    await case_event(pg)
    await consent_for(pg, 'reporter@example.com')
    await browser.submit('/case', {'reference': 'FMS-4471'})
    await choose_contact(browser, 'case', email='someone.else@example.com')
    refused = await browser.submit('/case/check', {})
    assert refused.path == '/case/check'
    assert refused.errors() == [NOT_MATCHED]
    assert await pg.fetchval("select count(*) from subscriptions where kind = 'case'") == 0
    assert await pg.fetchval('select count(*) from notifications') == 0

    await choose_contact(browser, 'case', email='Reporter@Example.com')
    accepted = await browser.submit('/case/check', {})
    assert accepted.path == '/signup/sent'
    assert await pg.fetchval("select count(*) from subscriptions where kind = 'case'") == 1
