"""A postcode outside the council's districts (TELLME_COUNCIL_DISTRICTS) is told so, in English and Welsh, rather than
signed up silently; one close enough to the area for a near subscription to reach it may go on, one further away may
not (nothing in the area could ever be near it)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from tests.conftest import Services
from tests.support.journey import Browser, choose_contact, make_browser
from tests.support.pages import CSRF

TRAFFORD = {'council_districts': 'E08000009', 'council_name': 'Trafford Council', 'council_name_cy': 'Cyngor Trafford'}
# Manchester city centre: about 5 km from the nearest Trafford postcode in the shipped sample
FAR = ('M1 1AA', 53.4808, -2.2374, 'E08000003')
# a Salford postcode, put 670 m north of Stretford's M32 0AH (Trafford) in the test's table
CLOSE = ('M5 9ZZ', 53.457258, -2.310003, 'E08000006')


@pytest.fixture
async def browser(aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis) -> Browser:
    """A resident on Trafford Council's service, with two postcodes outside it in the table."""
    await pg.executemany(
        'insert into postcodes (postcode, lat, lng, eastings, northings, positional_quality, district_code)'
        ' values ($1, $2, $3, 380000, 400000, 10, $4)',
        [FAR, CLOSE],
    )
    return await make_browser(aiohttp_client, services, pg, **TRAFFORD)


async def test_a_postcode_far_outside_the_area_is_told_so_and_goes_no_further(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    page = await browser.submit('/near', {'postcode': 'm1 1aa'})
    assert page.status == 200 and page.path == '/near/outside'
    assert 'M1 1AA is outside Trafford Council’s area We can only tell you about things in our area.' in page.text
    assert 'M1 1AA is too far from our area for anything in it to be near you.' in page.text
    assert '<title>M1 1AA is outside Trafford Council’s area – Tell Me – Trafford Council</title>' in page.html
    assert 'Continue with' not in page.text and '<form method="post"' not in page.html, 'no way on'
    assert '<a class="govuk-link" href="/near">Enter a different postcode</a>' in page.html
    assert 'href="https://www.gov.uk/find-local-council"' in page.html

    again = await browser.get('/near')
    assert again.value('postcode') == 'M1 1AA', 'what was typed is kept to correct'
    assert (await browser.get('/near/radius')).path == '/near', 'the postcode was not taken as the answer'
    token = CSRF.search(page.html) or CSRF.search(again.html)
    forced = await browser.client.post('/near/outside', data={'csrf_token': token[1]})
    assert forced.url.path == '/near', 'nor can it be, by posting the form the page did not offer'
    assert await pg.fetchval('select count(*) from subscriptions') == 0


async def test_a_postcode_close_to_the_area_may_go_on_to_a_near_subscription(
    browser: Browser, pg: asyncpg.Pool
) -> None:
    page = await browser.submit('/near', {'postcode': 'M5 9ZZ'})
    assert page.path == '/near/outside'
    assert 'M5 9ZZ is outside Trafford Council’s area We can only tell you about things in our area.' in page.text
    assert 'M5 9ZZ is close to our area, so you can still choose to hear about things in our area near it.' in page.text
    assert 'Continue with M5 9ZZ' in page.text and 'Enter a different postcode' in page.text

    page = await browser.submit('/near/outside', {})
    assert page.path == '/near/radius', page.errors()
    for step, answer in (('radius', {'radius': '1000'}), ('topics', {'topics': 'planning'}),
                         ('frequency', {'frequency': 'weekly'})):  # fmt: skip
        page = await browser.submit(f'/near/{step}', answer)
    check = await choose_contact(browser, 'near', email='sam@example.com')
    assert 'M5 9ZZ' in check.text
    await browser.submit('/near/check', {})
    subscription = await pg.fetchrow('select kind, centre_lat as lat, centre_lng as lng, radius_m from subscriptions')
    assert dict(subscription) == {'kind': 'near', 'lat': CLOSE[1], 'lng': CLOSE[2], 'radius_m': 1000}


async def test_the_notice_is_in_welsh_for_welsh_readers(browser: Browser) -> None:
    await browser.get('/near?lang=cy')
    page = await browser.submit('/near', {'postcode': 'M5 9ZZ'})
    assert 'Mae M5 9ZZ y tu allan i ardal Cyngor Trafford' in page.text
    assert 'Dim ond am bethau yn ein hardal ni y gallwn ni ddweud wrthych chi.' in page.text
    assert 'Parhau gyda M5 9ZZ' in page.text and 'Rhoi cod post gwahanol' in page.text
    far = await browser.submit('/near', {'postcode': 'M1 1AA'})
    assert 'Mae M1 1AA yn rhy bell o’n hardal ni' in far.text and 'Dod o hyd i’ch cyngor lleol ar GOV.UK' in far.text


async def test_a_postcode_in_the_area_goes_straight_on(browser: Browser) -> None:
    page = await browser.submit('/near', {'postcode': 'M32 0AH'})
    assert page.path == '/near/radius'
    assert (await browser.get('/near/outside')).path == '/near', 'nothing kept aside: the notice sends you back'


async def test_changing_to_a_postcode_over_the_border_returns_to_check_your_answers(browser: Browser) -> None:
    await browser.submit('/near', {'postcode': 'M32 0AH'})
    for step, answer in (('radius', {'radius': '500'}), ('topics', {'topics': 'planning'}),
                         ('frequency', {'frequency': 'daily'})):  # fmt: skip
        await browser.submit(f'/near/{step}', answer)
    await choose_contact(browser, 'near', email='sam@example.com')
    page = await browser.submit('/near?change=1', {'postcode': 'M5 9ZZ'})
    assert page.path == '/near/outside?change=1'
    assert '<a class="govuk-link" href="/near?change=1">Enter a different postcode</a>' in page.html
    page = await browser.submit('/near/outside?change=1', {})
    assert page.path == '/near/check' and 'M5 9ZZ' in page.text


async def test_without_districts_there_is_no_check(
    aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis
) -> None:
    await pg.execute(
        'insert into postcodes (postcode, lat, lng, eastings, northings, positional_quality, district_code)'
        " values ('M1 1AA', 53.4808, -2.2374, 380000, 400000, 10, 'E08000003')"
    )
    anywhere = await make_browser(aiohttp_client, services, pg, council_name='Trafford Council')
    page = await anywhere.submit('/near', {'postcode': 'M1 1AA'})
    assert page.path == '/near/radius'
