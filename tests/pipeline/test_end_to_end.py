"""The pipeline as residents see it: a planning application is published at a postcode, everyone within their
radius (and no one outside it) gets exactly one message per channel through Notify, and Notify's receipts mark
them delivered. Real app over HTTP, a real arq worker with its sender, the simulator with its callbacks."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp.test_utils import TestClient

from tests.support.api import bearer, new_token
from tests.support.factories import make_resident, make_subscription, place
from tests.support.notify import RunningSim
from tests.support.waiting import wait_until

STRETFORD = 'M32 0AH'


async def test_a_planning_application_reaches_exactly_the_residents_near_it(
    running: TestClient, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    here = place(STRETFORD)
    near_email = await make_resident(pg, email=True)
    near_both = await make_resident(pg, email=True, sms=True)
    overlapping = await make_resident(pg, email=True)
    far_away = await make_resident(pg, email=True)
    await make_subscription(pg, near_email, near=STRETFORD, radius_m=400, topics=['planning'])
    # ~220 m north; no quiet hours, so the text goes now whatever the time of day the test runs
    await make_subscription(pg, near_both, at=(here.lat + 0.002, here.lng), radius_m=500, quiet_hours=None)
    for radius in (300, 1000, 5000):  # three overlapping subscriptions: one message
        await make_subscription(pg, overlapping, near=STRETFORD, radius_m=radius)
    await make_subscription(pg, far_away, at=(here.lat + 0.05, here.lng), radius_m=2000)  # ~5.5 km away
    event = {
        'source': 'trafford-planning',
        'external_key': '113447/HHA/26',
        'kind': 'planning.new',
        'topic': 'planning',
        'title': 'Two-storey side extension',
        'summary': 'Erection of a two-storey side extension and a dropped kerb.',
        'lat': here.lat,
        'lng': here.lng,
        'area_codes': [here.ward_code, here.district_code],
        'url': 'https://publicaccess.trafford.gov.uk/online-applications/113447',
        'occurred_at': '2026-11-21T09:30:00+00:00',
    }
    headers = bearer(await new_token(pg, name='planning system', days=None))
    response = await running.post('/api/events', json=event, headers=headers)
    body = await response.json()
    assert response.status in (200, 201), body
    assert body['outcome'] == 'new' and body['matched'] == 4  # 3 emails + 1 text

    assert near_both.mobile is not None
    mobile_e164 = '+44' + near_both.mobile.replace(' ', '')[1:]
    expected = {near_email.email, near_both.email, mobile_e164, overlapping.email}

    async def everyone_delivered() -> bool:
        return await pg.fetchval("select count(*) from notifications where status = 'delivered'") == 4

    await wait_until(everyone_delivered)
    stored = sim.sim.store.all()
    recipients = [n.to for n in stored]
    assert sorted(recipients) == sorted(expected), recipients  # once each; nobody far away
    for message in stored:
        assert f'/e/{body["event_id"]}' in message.body  # the permanent event page
        assert 'Two-storey side extension' in message.body
        if message.type == 'email':
            assert message.one_click_unsubscribe_url and '/unsubscribe/' in message.one_click_unsubscribe_url

    # the same application polled again unchanged: nobody hears twice
    again = await (await running.post('/api/events', json=event, headers=headers)).json()
    assert again['outcome'] == 'unchanged'
    await asyncio.sleep(0.5)
    assert len(sim.sim.store.all()) == 4
