"""The confirm link in a sign-up's email: a button the first time; once used, it says the subscription is confirmed
(not the button again, nor "we will delete the details after 7 days"); for a sign-up that has ended or gone, it says
so."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from notifier.settings import Settings
from subscriptions.residents.signup import confirm_url
from tests.support.factories import make_resident, make_subscription
from tests.support.manage import PUBLIC
from tests.support.pages import text_of


async def test_a_used_confirm_link_says_it_is_confirmed(
    client: TestClient, pg: asyncpg.Pool, settings: Settings
) -> None:
    resident = await make_resident(pg, verified=False)
    sub_id = await make_subscription(pg, resident, kind='topic', topics=['planning'], status='pending')
    path = confirm_url(settings, sub_id).removeprefix(PUBLIC)
    first = text_of(await (await client.get(path)).text())
    assert 'Confirm your subscription' in first and 'We will delete the details after 7 days' in first
    assert (await client.post(path)).status == 200
    assert await pg.fetchval('select status from subscriptions where id = $1', sub_id) == 'active'

    again = await client.get(path)
    html = text_of(await again.text())
    assert again.status == 200 and 'Your subscription is confirmed' in html
    assert 'You have already confirmed it' in html and 'after 7 days' not in html and 'govuk-button' not in html
    welsh = text_of(await (await client.get(f'{path}?lang=cy')).text())
    assert 'Mae eich tanysgrifiad wedi’i gadarnhau' in welsh and 'Rydych eisoes wedi’i gadarnhau' in welsh
    await pg.execute("update subscriptions set status = 'paused' where id = $1", sub_id)
    assert 'Your subscription is confirmed' in text_of(await (await client.get(f'{path}?lang=en')).text())


async def test_a_confirm_link_for_an_ended_or_deleted_sign_up_says_so(
    client: TestClient, pg: asyncpg.Pool, settings: Settings
) -> None:
    resident = await make_resident(pg)
    ended = await make_subscription(pg, resident, kind='topic', topics=['planning'], status='ended')
    html = text_of(await (await client.get(confirm_url(settings, ended).removeprefix(PUBLIC))).text())
    assert 'This subscription has ended' in html
    gone = await client.get(confirm_url(settings, 999_999).removeprefix(PUBLIC))
    assert gone.status == 404 and 'This sign-up has expired' in text_of(await gone.text())
