"""A form answered with its errors is shown by a GET (notifier/web/form_errors.py), so Back never lands on the answer
to a POST (Chromium's ERR_CACHE_MISS: tests/browser/test_browser_back_after_an_error.py shows it in the browser)."""

from __future__ import annotations

import re

import asyncpg
from aiohttp.test_utils import TestClient

from tests.support.pages import post_form, text_of


async def test_a_form_error_is_a_redirect_to_a_get_that_shows_it_once(client: TestClient, pg: asyncpg.Pool) -> None:
    answer = await post_form(client, '/near', {'postcode': 'not a postcode'})
    assert (answer.status, answer.headers['Location']) == (303, '/near')
    assert answer.headers['Cache-Control'] == 'no-store'
    shown = await client.get('/near', allow_redirects=False)
    html = await shown.text()
    assert shown.status == 200 and '<title>Error:' in html and 'value="not a postcode"' in html
    assert shown.headers['Cache-Control'] == 'no-store', 'still kept by no browser cache'
    nonce = re.search(r"'nonce-([^']+)'", shown.headers['Content-Security-Policy']).group(1)
    assert f'nonce="{nonce}"' in html, 'the page runs under this answer’s policy'
    again = await (await client.get('/near')).text()
    assert '<title>Error:' not in again and 'govuk-error-summary' not in again, 'shown once'


async def test_the_error_waits_for_its_own_page_only(client: TestClient, pg: asyncpg.Pool) -> None:
    await post_form(client, '/near', {'postcode': ''})
    assert 'govuk-error-summary' not in await (await client.get('/bins')).text()
    assert 'govuk-error-summary' not in await (await client.get('/near')).text(), 'another page was asked for first'


async def test_a_welsh_error_stays_welsh(client: TestClient, pg: asyncpg.Pool) -> None:
    answer = await post_form(client, '/near?lang=cy', {'postcode': ''})
    assert answer.headers['Location'] == '/near?lang=cy'
    html = await (await client.get('/near?lang=cy')).text()
    assert '<html lang="cy"' in html and 'Gwall:' in html


async def test_a_refused_form_and_a_staff_form_are_answered_as_they_were(client: TestClient, pg: asyncpg.Pool) -> None:
    forged = await client.post('/near', data={'postcode': 'M32 0AH', 'csrf_token': 'forged'}, allow_redirects=False)
    assert forged.status == 403 and 'Location' not in forged.headers
    staff = await post_form(client, '/staff/sign-in', {'email': 'nobody@example.com', 'password': 'wrong'})
    assert staff.status == 200 and 'Enter a correct email address and password' in text_of(await staff.text())
