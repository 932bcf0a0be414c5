"""The comms team's acceptance: an urgent bulletin to a ward reaches every subscriber in that ward exactly once —
those on daily digests and inside quiet hours too — through the Notify simulator, the delivery report shows each
delivery and the bulletin reads Sent, also when it finished while no worker ran. Real app, a real arq worker with its
sender, the simulator's receipts through our callbacks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from notifier.sending.delivery import Sender
from notifier.settings import Settings
from notifier.shell.app import create_app
from templates.personalisation import mask_address
from tests.support.app import settings_for
from tests.support.bulletins import Desk, sale_ward
from tests.support.factories import make_resident, make_subscription
from tests.support.notify import RunningSim
from tests.support.pages import section, text_of
from tests.support.waiting import wait_until
from tests.support.worker import worker_in_a_task


async def test_an_urgent_ward_bulletin_reaches_everyone_in_the_ward_once_and_the_report_shows_it(
    running: TestClient, pg: asyncpg.Pool, sim: RunningSim
) -> None:
    ward = await sale_ward(pg)
    expected = ward.expected()
    desk = Desk(running, pg)
    await desk.staff('comms@council.example', 'comms')
    bulletin = await desk.compose()

    page = await (await running.get(f'/staff/bulletins/{bulletin}')).text()
    assert section(page, 'audience-people') == str(len(ward.inside))
    sent = await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    assert sent.status == 303 and sent.headers['Location'] == f'/staff/bulletins/{bulletin}/progress'
    again = await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    assert again.status == 200 and 'already sending' in text_of(await again.text())  # a double click sends nothing

    async def everyone_delivered() -> bool:
        statuses = await pg.fetch('select status from notifications')
        return len(statuses) == len(expected) and all(row['status'] == 'delivered' for row in statuses)

    await wait_until(everyone_delivered, timeout=30.0)
    rows = await pg.fetch('select id, contact_point_id, channel from notifications')
    by_reference = {str(row['id']): (row['contact_point_id'], row['channel']) for row in rows}
    arrived = Counter(by_reference[n.reference] for n in sim.sim.store.all())
    assert set(arrived) == expected and set(arrived.values()) == {1}  # each exactly once, nobody else
    texts = {n.to for n in sim.sim.store.all() if n.type == 'sms'}
    assert len(texts) == 2  # including the resident inside their quiet hours

    progress = await (await running.get(f'/staff/bulletins/{bulletin}/progress')).text()
    assert section(progress, 'count-delivered') == str(len(expected))
    assert section(progress, 'count-queued') == '0'
    assert 'data-refresh="no"' in progress
    report = await (await running.get(f'/staff/bulletins/{bulletin}/report')).text()
    assert section(report, 'n-email-delivered') == '6' and section(report, 'n-sms-delivered') == '2'
    deliveries = section(report, 'deliveries')
    addresses = await pg.fetch('select channel, address from contact_points where id = any($1::bigint[])',
                               [cp for cp, _ in expected])  # fmt: skip
    for contact in addresses:
        assert mask_address(contact['channel'], contact['address']) in deliveries
        assert contact['address'] not in report  # masked, never in full
    assert deliveries.count('Delivered') == len(expected)
    assert 'No message has failed' in text_of(report)
    assert 'has been delivered or has failed' in section(report, 'not-delivered-count')
    event_id = await pg.fetchval('select event_id from bulletins where id = $1', bulletin)
    public = await running.get(f'/e/{event_id}')  # the link in every message: the bulletin's own page
    assert public.status == 200 and 'Water supply off in Sale' in await public.text()


async def test_the_report_gives_the_reason_for_each_failure(
    running: TestClient, pg: asyncpg.Pool, sim: RunningSim
) -> None:
    ward = await sale_ward(pg)
    bounced = await make_resident(pg, email='nobody-here@example.com')
    await make_subscription(pg, bounced, near='M33 7YF', radius_m=100)
    full = await make_resident(pg, email='full-inbox@example.com')
    await make_subscription(pg, full, near='M33 7YF', radius_m=100)
    await sim.fault({'action': 'status', 'status': 'permanent-failure', 'match': {'email_local_part': 'nobody-here'}},
                    rule=True)  # fmt: skip
    await sim.fault({'action': 'status', 'status': 'temporary-failure', 'match': {'email_local_part': 'full-inbox'}},
                    rule=True)  # fmt: skip
    desk = Desk(running, pg)
    await desk.staff('comms@council.example', 'comms')
    bulletin = await desk.compose(channels=['email'])
    await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')

    async def all_final() -> bool:
        return (
            await pg.fetchval(
                "select count(*) = 0 from notifications where status not in ('delivered', 'permanent-failure', "
                "'temporary-failure')"
            )
            and await pg.fetchval('select count(*) from notifications') == 8
        )

    await wait_until(all_final, timeout=30.0)
    report = await (await running.get(f'/staff/bulletins/{bulletin}/report')).text()
    failures = section(report, 'failures')
    assert 'n***@example.com Failed: address does not exist' in failures
    assert 'f***@example.com Failed: inbox full or phone off' in failures
    assert 'nobody-here' not in report
    assert section(report, 'n-email-delivered') == '6' and section(report, 'n-email-permanent-failure') == '1'
    assert len(ward.inside) == 7


async def test_an_urgent_bulletin_lists_who_has_not_had_it_after_n_minutes(
    aiohttp_client: Callable[..., Any], services: Any, pg: asyncpg.Pool, redis: Redis, sender: Sender
) -> None:
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    ward = await desk.comms_in_sale()
    bulletin = await desk.compose()
    await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    for row in await sender.claim_ready(100):  # with Notify; the simulator holds them 'sending' for an hour
        await sender.send(row)
    report = f'/staff/bulletins/{bulletin}/report'
    fresh = text_of(await (await desk.client.get(report)).text())
    assert 'Every message queued over 15 minutes ago has been delivered' in fresh
    await pg.execute("update notifications set created_at = now() - interval '20 minutes'")  # 20 minutes on
    progress = await (await desk.client.get(f'/staff/bulletins/{bulletin}/progress')).text()
    assert f'Warning {len(ward.expected())} messages queued over 15 minutes ago' in section(progress, 'late')
    page = await (await desk.client.get(report + '?minutes=15')).text()
    assert section(page, 'not-delivered-count').startswith(f'{len(ward.expected())} messages queued over 15 minutes')
    listed = section(page, 'not-delivered')
    assert listed.count('With Notify') == len(ward.expected())
    near = ward.inside['near']
    assert mask_address('sms', near.mobile and await pg.fetchval(
        'select address from contact_points where id = $1', near.sms_id) or '') in listed  # fmt: skip
    later = text_of(await (await desk.client.get(report + '?minutes=30')).text())
    assert 'Every message queued over 30 minutes ago has been delivered' in later


async def test_a_bulletin_that_finished_while_no_worker_ran_reads_sent_once_a_worker_starts(
    aiohttp_client: Callable[..., Any],
    services: Any,
    pg: asyncpg.Pool,
    redis: Redis,
    sender: Sender,
    delivery_settings: Settings,
) -> None:
    """Its messages all went (Notify has them) and then the workers stopped, before anyone opened its page: the
    worker that starts next settles it as Sent by itself, once, with no page opened."""
    desk = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    ward = await desk.comms_in_sale()
    bulletin = await desk.compose()
    await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    for row in await sender.claim_ready(100):
        assert await sender.send(row) == 'sent'
    assert await pg.fetchval('select status from bulletins') == 'sending'

    async def settled() -> bool:
        return await pg.fetchval('select status from bulletins') == 'sent'

    async with worker_in_a_task(delivery_settings):  # a restart: a fresh worker, its jobs run at start-up
        await wait_until(settled, timeout=15.0)
    entries = await pg.fetch("select actor_kind, details from audit_log where action = 'bulletin.sent'")
    assert [(e['actor_kind'], e['details']['sent']) for e in entries] == [('system', len(ward.expected()))]
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}/progress')).text()
    assert section(page, 'status') == 'Sent' and 'Pause' not in text_of(page)
    assert f'{len(ward.expected())} are on the way' in section(page, 'outcome')
    assert await pg.fetchval("select count(*) from audit_log where action = 'bulletin.sent'") == 1
