"""Signing out of managing your updates is a POST with the form's CSRF token: a GET (a link, an <img> on another
site, a mail scanner or a prefetch) only shows the button, and never signs anyone out."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from tests.support.factories import make_resident
from tests.support.manage import sign_in
from tests.support.pages import post_form

FORM = '<form method="post" action="/manage/sign-out"'


async def signed_in(client: TestClient) -> bool:
    return (await client.get('/manage/subscriptions', allow_redirects=False)).status == 200


async def test_a_get_shows_the_button_and_signs_nobody_out(client: TestClient, pg: asyncpg.Pool) -> None:
    await make_resident(pg, email='eve@example.com')
    await sign_in(client, pg, 'eve@example.com')
    page = await client.get('/manage/sign-out')
    html = await page.text()
    assert page.status == 200 and FORM in html and 'name="csrf_token"' in html
    assert await signed_in(client), 'a GET alone signs nobody out'
    assert await pg.fetchval('select count(*) from web_sessions where resident_id is not null') == 1


async def test_the_button_signs_out(client: TestClient, pg: asyncpg.Pool) -> None:
    await make_resident(pg, email='eve@example.com')
    await sign_in(client, pg, 'eve@example.com')
    listing = await (await client.get('/manage/subscriptions')).text()
    assert FORM in listing, 'the menu signs out with a button, not a link'
    out = await post_form(client, '/manage/sign-out', page='/manage/subscriptions')
    assert out.status == 200 and 'You have signed out' in await out.text()
    assert not await signed_in(client)
    assert await pg.fetchval('select count(*) from web_sessions where resident_id is not null') == 0


async def test_a_post_from_another_site_signs_nobody_out(client: TestClient, pg: asyncpg.Pool) -> None:
    await make_resident(pg, email='eve@example.com')
    await sign_in(client, pg, 'eve@example.com')
    forged = await client.post('/manage/sign-out', data={'csrf_token': 'forged'}, allow_redirects=False)
    assert forged.status == 403
    assert await signed_in(client)


async def test_signed_out_already_a_get_goes_to_sign_in(client: TestClient) -> None:
    page = await client.get('/manage/sign-out', allow_redirects=False)
    assert (page.status, page.headers['Location']) == (303, '/manage')


async def test_the_sign_out_page_is_in_welsh(client: TestClient, pg: asyncpg.Pool) -> None:
    await make_resident(pg, email='eve@example.com')
    await sign_in(client, pg, 'eve@example.com')
    html = await (await client.get('/manage/sign-out?lang=cy')).text()
    assert '<html lang="cy"' in html and 'Allgofnodi' in html and FORM in html
