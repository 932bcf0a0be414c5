"""An event's page says how far it is from the viewer's own place — "About 620 m from M32 0AH" — only to a browser
that proves a subscription: signed in, or holding the subscription's manage link. Everyone else sees the public page."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from subscriptions.manage.common import manage_path
from tests.support.factories import make_event, make_resident, make_subscription, record
from tests.support.manage import SECRET, sign_in
from tests.support.pages import section, text_of


async def test_a_subscriber_who_came_by_their_link_sees_how_far_and_nobody_else_does(
    client: TestClient, pg: asyncpg.Pool
) -> None:
    resident = await make_resident(pg, email='near@example.com')
    sub_id = await make_subscription(pg, resident, near='M32 0AH', radius_m=1000, topics=['planning'])
    event = await record(pg, make_event(postcode='M32 9BA', attributes={'address': '12 Derbyshire Lane'}))
    page = f'/e/{event.event_id}'
    public = await (await client.get(page)).text()
    assert '12 Derbyshire Lane' in public and 'id="how-far"' not in public and 'M32 0AH' not in public

    await client.get(manage_path(SECRET.encode(), sub_id))  # the manage link in their message
    html = await (await client.get(page)).text()
    assert section(html, 'where') == '12 Derbyshire Lane'
    assert section(html, 'how-far') == 'About 620 m from M32 0AH'
    welsh = await (await client.get(f'{page}?lang=cy')).text()
    assert 'Pa mor bell' in welsh and section(welsh, 'how-far') == 'Tua 620 m o M32 0AH'


async def test_signed_in_the_nearest_of_your_places_is_used(client: TestClient, pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, email='two@example.com')
    await make_subscription(pg, resident, near='M32 0AH', radius_m=2000, topics=['planning'])
    await make_subscription(pg, resident, near='M32 9RW', radius_m=2000, topics=['planning'])
    await make_subscription(pg, resident, kind='topic', topics=['planning'])
    event = await record(pg, make_event(postcode='M32 9BA'))
    await sign_in(client, pg, 'two@example.com')
    html = await (await client.get(f'/e/{event.event_id}')).text()
    nearest = section(html, 'how-far')
    assert nearest.endswith(('from M32 0AH', 'from M32 9RW')) and nearest.startswith('About ')


async def test_someone_elses_subscription_says_nothing_on_the_page(client: TestClient, pg: asyncpg.Pool) -> None:
    other = await make_resident(pg, email='other@example.com')
    await make_subscription(pg, other, near='M32 0AH', radius_m=1000, topics=['planning'])
    me = await make_resident(pg, email='me@example.com')
    await make_subscription(pg, me, kind='topic', topics=['planning'])
    event = await record(pg, make_event(postcode='M32 9BA'))
    await sign_in(client, pg, 'me@example.com')
    html = await (await client.get(f'/e/{event.event_id}')).text()
    assert 'id="how-far"' not in html and 'M32 0AH' not in text_of(html)
