"""Nobody takes over a resident by typing their address.

Each test is an attack played as a stranger would, through the pages and the API: give a resident's address
together with your own at sign-up (through the sign-up pages, the API and a case system's push), then sign in
with your own address and try to read theirs. Before the fix every one of these signed the stranger in as the
resident, with their email, mobile, home and messages in the 'your data' download.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.conftest import Services
from tests.support.api import new_token
from tests.support.factories import make_resident, make_subscription
from tests.support.journey import PUBLIC, Browser, choose_contact, make_browser

VICTIM_EMAIL = 'victim@example.com'
VICTIM_MOBILE = '07700 900111'
ATTACKER_EMAIL = 'mallory@example.net'
ATTACKER_MOBILE = '07700 900666'


@pytest.fixture
async def victim(pg: asyncpg.Pool) -> Any:
    """A resident who proved both addresses, with a subscription at home."""
    resident = await make_resident(pg, email=VICTIM_EMAIL, sms=VICTIM_MOBILE)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=200, topics=['planning'])
    return resident


async def near_sign_up(browser: Browser, *, email: str | None = None, mobile: str | None = None) -> None:
    steps = (('/near', {'postcode': 'm32 0ah'}), ('/near/radius', {'radius': '500'}),
             ('/near/topics', {'topics': 'planning'}), ('/near/frequency', {'frequency': 'immediate'}))  # fmt: skip
    for path, data in steps:
        page = await browser.submit(path, data)
        assert not page.errors(), page.errors()
    await choose_contact(browser, 'near', email=email, mobile=mobile)
    await browser.submit('/near/check', {})


async def newest(pg: asyncpg.Pool, address: str, purpose: str) -> dict[str, Any] | None:
    row = await pg.fetchrow(
        'select n.personalisation from notifications n join contact_points c on c.id = n.contact_point_id'
        ' where c.address = $1 and n.purpose = $2 order by n.created_at desc limit 1',
        address, purpose,
    )  # fmt: skip
    return dict(row['personalisation']) if row else None


async def sign_in_as_attacker(browser: Browser, pg: asyncpg.Pool, address: str) -> str:
    """Ask to sign in with `address` and use whatever reaches it; then what 'download your data' gives."""
    canonical = address if '@' in address else '44' + address.replace(' ', '')[1:]
    await browser.submit('/manage', {'address': address})
    sent = await newest(pg, canonical, 'sign-in')
    if sent is None:
        await browser.submit('/manage/enter-code', {'code': '123456'}, via='/manage/enter-code')
    elif 'code' in sent:
        await browser.submit('/manage/enter-code', {'code': sent['code']})
    else:
        await browser.submit(sent['sign_in_url'].removeprefix(PUBLIC), {})
    download = await browser.client.get('/manage/your-data/download')
    return await download.text()


def assert_nothing_of(victim: Any, seen: str) -> None:
    for secret in (VICTIM_EMAIL, '447700900111', '900111'):
        assert secret not in seen, f'the attacker saw {secret!r}'
    assert victim is not None


async def test_your_email_and_my_mobile_at_sign_up_does_not_let_me_in(
    browser: Browser, pg: asyncpg.Pool, victim: Any
) -> None:
    await near_sign_up(browser, email=VICTIM_EMAIL, mobile=ATTACKER_MOBILE)
    seen = await sign_in_as_attacker(browser, pg, ATTACKER_MOBILE)
    assert_nothing_of(victim, seen)
    assert await newest(pg, '447700900666', 'sign-in') is None, 'an address nobody proved gets no sign-in code'
    owner = await pg.fetchval("select resident_id from contact_points where address = '447700900666'")
    assert owner != victim.id, "the stranger's mobile was attached to the resident"
    # the resident still hears about it, and only they can say yes
    confirmation = await newest(pg, VICTIM_EMAIL, 'confirmation')
    assert confirmation is not None and 'confirm_url' in confirmation


async def test_my_email_and_your_mobile_then_confirming_my_email_does_not_let_me_in(
    browser: Browser, pg: asyncpg.Pool, victim: Any
) -> None:
    await near_sign_up(browser, email=ATTACKER_EMAIL, mobile=VICTIM_MOBILE)
    confirmation = await newest(pg, ATTACKER_EMAIL, 'confirmation')
    assert confirmation is not None
    await browser.client.post(confirmation['confirm_url'].removeprefix(PUBLIC))
    seen = await sign_in_as_attacker(browser, pg, ATTACKER_EMAIL)
    assert 'mallory@example.net' in seen, 'the attacker signed in to an account of their own'
    assert_nothing_of(victim, seen)
    owners = await pg.fetch('select distinct resident_id from contact_points where address = any($1)',
                            ['447700900111', VICTIM_EMAIL])  # fmt: skip
    assert [row['resident_id'] for row in owners] == [victim.id]


async def test_the_sign_up_page_says_the_same_whether_or_not_an_address_is_known(
    browser: Browser, pg: asyncpg.Pool, victim: Any
) -> None:
    pages = []
    for email in (VICTIM_EMAIL, 'nobody@example.org'):
        await near_sign_up(browser, email=email, mobile=ATTACKER_MOBILE)
        page = await browser.get('/signup/sent')
        pages.append((page.status, page.path, page.text.replace(email, 'EMAIL')))
        browser.client.session.cookie_jar.clear()  # a new visitor
    assert pages[0] == pages[1]


async def test_a_sign_up_made_in_advance_with_my_mobile_does_not_let_me_read_what_you_confirm_later(
    browser: Browser, aiohttp_client: Any, services: Services, pg: asyncpg.Pool
) -> None:
    """Pre-registration: a stranger signs up a new address of yours beside their mobile, proves the mobile, and
    waits for you to confirm a sign-up of your own."""
    await near_sign_up(browser, email='newcomer@example.org', mobile=ATTACKER_MOBILE)
    resident = await make_browser(aiohttp_client, services, pg)
    await near_sign_up(resident, email='newcomer@example.org')  # the real owner signs up, not yet confirmed
    browser.client.session.cookie_jar.clear()
    await near_sign_up(browser, mobile=ATTACKER_MOBILE)  # the stranger proves their mobile with a text code
    code = await newest(pg, '447700900666', 'confirmation')
    assert code is not None
    await browser.submit('/confirm/code', {'code': code['code']})
    link = await newest(pg, 'newcomer@example.org', 'confirmation')
    assert link is not None
    await resident.client.post(link['confirm_url'].removeprefix(PUBLIC))  # the owner confirms theirs
    seen = await sign_in_as_attacker(browser, pg, ATTACKER_MOBILE)
    assert '447700900666' in seen or '07700 900666' in seen or '07700900666' in seen
    assert 'newcomer@example.org' not in seen
    owner = await pg.fetchval("select resident_id from contact_points where address = 'newcomer@example.org'")
    active = await pg.fetch("select resident_id from subscriptions where status = 'active'")
    assert owner in {row['resident_id'] for row in active}, "the owner's confirmed subscription is theirs"


async def test_signing_up_again_with_your_own_proved_email_joins_you(browser: Browser, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email='ann@example.com')
    await near_sign_up(browser, email='ann@example.com')
    assert await pg.fetchval("select resident_id from subscriptions where status = 'pending'") == resident.id


async def test_signed_in_you_add_your_mobile_with_a_code_and_keep_one_account(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    resident = await make_resident(pg, email='ann@example.com')
    await make_subscription(pg, resident, kind='topic', topics=['planning'])
    await browser.submit('/manage', {'address': 'ann@example.com'})
    link = await newest(pg, 'ann@example.com', 'sign-in')
    assert link is not None
    await browser.submit(link['sign_in_url'].removeprefix(PUBLIC), {})
    await near_sign_up(browser, mobile='07700 900222')
    code = await newest(pg, '447700900222', 'confirmation')
    assert code is not None
    await browser.submit('/confirm/code', {'code': code['code']})
    points = await pg.fetch("select resident_id, verified_at from contact_points where address = '447700900222'")
    assert [(row['resident_id'], row['verified_at'] is not None) for row in points] == [(resident.id, True)]


# --- the API and a case system's push -----------------------------------------------------------------------


async def token(pg: asyncpg.Pool, role: str, **scope: Any) -> str:
    return await new_token(pg, role, name='Case system', **scope)


async def test_an_api_sign_up_with_your_email_and_my_mobile_does_not_let_me_in(
    browser: Browser, pg: asyncpg.Pool, victim: Any
) -> None:
    secret = await token(pg, 'system')
    response = await browser.client.post(
        '/api/subscriptions', headers={'Authorization': f'Bearer {secret}'},
        json={'email': VICTIM_EMAIL, 'mobile': ATTACKER_MOBILE, 'kind': 'topic', 'topics': ['planning']},
    )  # fmt: skip
    assert response.status == 201, await response.text()
    assert_nothing_of(victim, await sign_in_as_attacker(browser, pg, ATTACKER_MOBILE))


@pytest.mark.parametrize('may_verify', [False, True], ids=['plain token', 'may-verify token, verified false'])
async def test_a_case_push_naming_your_email_and_my_mobile_does_not_let_me_in(
    browser: Browser, pg: asyncpg.Pool, victim: Any, may_verify: bool
) -> None:
    secret = await token(pg, 'system', sources=['fixmystreet'], may_verify=may_verify)
    consent = {'given': True, 'wording': 'Keep me updated', 'at': '2026-03-01T09:00:00Z'}
    reporter = {'email': VICTIM_EMAIL, 'mobile': ATTACKER_MOBILE, 'consent': consent}
    body = {'source': 'fixmystreet', 'status': 'confirmed', 'occurred_at': '2026-03-01T09:05:00Z',
            'title': 'Pothole', 'reporter': reporter}  # fmt: skip
    response = await browser.client.post(
        '/api/cases/FMS-9/updates', headers={'Authorization': f'Bearer {secret}'}, json=body
    )
    assert response.status == 201, await response.text()
    assert_nothing_of(victim, await sign_in_as_attacker(browser, pg, ATTACKER_MOBILE))


async def test_a_case_system_trusted_to_verify_does_join_the_reporters_addresses(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    resident = await make_resident(pg, email='reporter@example.com')
    secret = await token(pg, 'system', sources=['fixmystreet'], may_verify=True)
    consent = {'given': True, 'wording': 'Keep me updated', 'at': '2026-03-01T09:00:00Z'}
    reporter = {'email': 'reporter@example.com', 'mobile': '07700 900333', 'verified': True, 'consent': consent}
    body = {'source': 'fixmystreet', 'status': 'confirmed', 'occurred_at': '2026-03-01T09:05:00Z',
            'title': 'Pothole', 'reporter': reporter}  # fmt: skip
    response = await browser.client.post(
        '/api/cases/FMS-10/updates', headers={'Authorization': f'Bearer {secret}'}, json=body
    )
    assert response.status == 201, await response.text()
    owner = await pg.fetchval("select resident_id from contact_points where address = '447700900333'")
    assert owner == resident.id


# --- found in review: traps laid with an unproved address ---------------------------------------------------


async def trap(browser: Browser, pg: asyncpg.Pool, email: str) -> None:
    """A stranger signs up `email` (not yet known) beside their own mobile, then proves the mobile by a text code."""
    await near_sign_up(browser, email=email, mobile=ATTACKER_MOBILE)
    browser.client.session.cookie_jar.clear()
    await near_sign_up(browser, mobile=ATTACKER_MOBILE)
    code = await newest(pg, '447700900666', 'confirmation')
    assert code is not None
    await browser.submit('/confirm/code', {'code': code['code']})


async def test_a_trusted_case_push_never_joins_your_email_to_a_strangers_trap(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    await trap(browser, pg, 'reporter@example.org')
    secret = await token(pg, 'system', sources=['fixmystreet'], may_verify=True)
    consent = {'given': True, 'wording': 'Keep me updated', 'at': '2026-03-01T09:00:00Z'}
    reporter = {'email': 'reporter@example.org', 'verified': True, 'consent': consent}
    body = {'source': 'fixmystreet', 'status': 'confirmed', 'occurred_at': '2026-03-01T09:05:00Z',
            'title': 'Pothole outside number 6', 'reporter': reporter}  # fmt: skip
    response = await browser.client.post(
        '/api/cases/FMS-77/updates', headers={'Authorization': f'Bearer {secret}'}, json=body
    )
    assert response.status == 201, await response.text()
    browser.client.session.cookie_jar.clear()
    seen = await sign_in_as_attacker(browser, pg, ATTACKER_MOBILE)
    assert 'reporter@example.org' not in seen and 'FMS-77' not in seen


async def test_your_pending_sign_up_is_not_shown_to_a_stranger_who_proves_a_mobile_afterwards(
    browser: Browser, aiohttp_client: Any, services: Services, pg: asyncpg.Pool
) -> None:
    await near_sign_up(browser, email='newcomer@example.org', mobile=ATTACKER_MOBILE)
    resident = await make_browser(aiohttp_client, services, pg)
    await near_sign_up(resident, email='newcomer@example.org')  # yours, not yet confirmed
    browser.client.session.cookie_jar.clear()
    await near_sign_up(browser, mobile=ATTACKER_MOBILE)
    code = await newest(pg, '447700900666', 'confirmation')
    assert code is not None
    await browser.submit('/confirm/code', {'code': code['code']})
    seen = await sign_in_as_attacker(browser, pg, ATTACKER_MOBILE)
    assert 'newcomer@example.org' not in seen
    assert seen.count('"kind"') <= 2, 'only the stranger’s own subscriptions'


async def test_your_data_never_holds_texts_from_a_number_you_did_not_prove(browser: Browser, pg: asyncpg.Pool) -> None:
    """Someone texted the council from 07700 900444 (kept for staff); a stranger gives that number at sign-up."""
    await pg.execute(
        "insert into notify_callbacks (kind, notify_id, payload, for_staff)"
        " values ('inbound-sms', gen_random_uuid(), $1, true)",
        {'id': 'in-1', 'source_number': '447700900444', 'destination_number': '07700900000',
         'message': 'My bin was missed again at number 6', 'date_received': '2026-12-01T09:00:00.000000Z'},
    )  # fmt: skip
    await near_sign_up(browser, email=ATTACKER_EMAIL, mobile='07700 900444')
    confirmation = await newest(pg, ATTACKER_EMAIL, 'confirmation')
    assert confirmation is not None
    await browser.client.post(confirmation['confirm_url'].removeprefix(PUBLIC))
    seen = await sign_in_as_attacker(browser, pg, ATTACKER_EMAIL)
    assert 'mallory@example.net' in seen and 'number 6' not in seen


async def test_an_api_sign_up_cannot_probe_an_address_by_choosing_another_channel(
    browser: Browser, pg: asyncpg.Pool, victim: Any
) -> None:
    secret = await token(pg, 'system')
    answers = []
    for email in (VICTIM_EMAIL, 'nobody@example.org'):
        response = await browser.client.post(
            '/api/subscriptions', headers={'Authorization': f'Bearer {secret}'},
            json={'email': email, 'mobile': ATTACKER_MOBILE if email == VICTIM_EMAIL else '07700 900667',
                  'channels': ['sms'], 'kind': 'topic', 'topics': ['planning']},
        )  # fmt: skip
        answers.append(response.status)
    assert answers == [201, 201]


async def test_signed_in_you_cannot_probe_someone_elses_address(
    browser: Browser, pg: asyncpg.Pool, victim: Any
) -> None:
    resident = await make_resident(pg, email='ann@example.com')
    await browser.submit('/manage', {'address': 'ann@example.com'})
    link = await newest(pg, 'ann@example.com', 'sign-in')
    assert link is not None
    await browser.submit(link['sign_in_url'].removeprefix(PUBLIC), {})
    pages = []
    for email in (VICTIM_EMAIL, 'nobody@example.org'):
        await near_sign_up(browser, email=email)
        page = await browser.get('/signup/sent')
        pages.append((page.status, page.path, page.text.replace(email, 'EMAIL')))
    assert pages[0] == pages[1]
    owners = await pg.fetch('select resident_id from contact_points where address = $1', VICTIM_EMAIL)
    assert [row['resident_id'] for row in owners] == [victim.id] and resident.id != victim.id
