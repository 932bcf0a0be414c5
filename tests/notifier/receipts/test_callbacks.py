"""Delivery receipts and received texts from Notify: the simulator posts them to our real web app."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.sending.delivery import Sender
from tests.support.factories import make_resident
from tests.support.notify import CALLBACK_TOKEN, RunningSim, make_contact, make_notification, resident_of, row

AUTH = {'Authorization': f'Bearer {CALLBACK_TOKEN}'}


@pytest.fixture
async def app(app: TestClient, sim: RunningSim) -> TestClient:
    """The folder's app, with the simulator posting receipts and texts to it (retrying quickly)."""
    base = str(app.make_url(''))
    sim.sim.callback_url = base + '/notify/callbacks/status'
    sim.sim.inbound_callback_url = base + '/notify/callbacks/inbound-sms'
    sim.sim.callbacks.token = CALLBACK_TOKEN
    sim.sim.callbacks.retry_interval = 0.1
    return app


def receipt(notify_id: str, reference: str | None, status: str) -> dict[str, Any]:
    return {
        'id': notify_id,
        'reference': reference,
        'to': 'resident@example.com',
        'status': status,
        'created_at': '2026-11-21T10:00:00.000000Z',
        'completed_at': '2026-11-21T10:00:05.000000Z',
        'sent_at': '2026-11-21T10:00:01.000000Z',
        'notification_type': 'email',
        'template_id': str(uuid.uuid4()),
        'template_version': 1,
    }


async def wait_for(pg: asyncpg.Pool, query: str, *args: Any, expected: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await pg.fetchval(query, *args) == expected:
            return
        await asyncio.sleep(0.05)
    assert await pg.fetchval(query, *args) == expected


async def test_a_delivery_receipt_from_notify_marks_the_message_delivered(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    sim.sim.status_delay = 0.05
    nid = await make_notification(pg)
    assert await sender.deliver(nid) == 'sent'
    await wait_for(pg, 'select status from notifications where id = $1', nid, expected='delivered')
    stored = await row(pg, nid)
    assert stored['completed_at'] is not None
    assert await pg.fetchval("select outcome from notify_callbacks where kind = 'status'") == 'applied'


async def test_permanent_failure_suppresses_the_contact_point_and_stops_later_sends(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    sim.sim.status_delay = 0.05
    contact = await make_contact(pg)
    first, later = await make_notification(pg, contact), await make_notification(pg, contact)
    await sim.fault({'action': 'status', 'status': 'permanent-failure', 'match': {'reference': str(first)}}, rule=True)
    assert await sender.deliver(first) == 'sent'
    await wait_for(pg, 'select suppressed_reason from contact_points where id = $1', contact,
                   expected='permanent-failure')  # fmt: skip
    assert (await row(pg, first))['status'] == 'permanent-failure'
    # the queued message to the dead address was cancelled with it, so there is nothing left to send
    assert (await row(pg, later))['status'] == 'cancelled'
    assert await sender.deliver(later) == 'skipped'
    assert len(sim.sim.store.all()) == 1


async def test_callbacks_without_the_right_token_are_refused_and_not_stored(app: TestClient, pg: asyncpg.Pool) -> None:
    body = receipt(str(uuid.uuid4()), None, 'delivered')
    for headers in ({}, {'Authorization': 'Bearer wrong-token-wrong-token'}, {'Authorization': CALLBACK_TOKEN}):
        response = await app.post('/notify/callbacks/status', json=body, headers=headers)
        assert response.status == 401
    assert await pg.fetchval('select count(*) from notify_callbacks') == 0


async def test_an_invalid_callback_body_is_a_400_with_the_field(app: TestClient, pg: asyncpg.Pool) -> None:
    response = await app.post('/notify/callbacks/status', json={'id': 'not-a-uuid', 'to': '07700900123'}, headers=AUTH)
    assert response.status == 400
    details = (await response.json())['details']
    assert {'id', 'status'} <= set(details)
    assert '07700900123' not in await response.text()  # what was sent (personal data) is not echoed back
    assert await pg.fetchval('select count(*) from notify_callbacks') == 0


async def test_duplicate_and_out_of_order_receipts_keep_the_first_final_status(
    app: TestClient, sender: Sender, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    assert await sender.deliver(nid) == 'sent'
    notify_id = str((await row(pg, nid))['notify_id'])
    failed = receipt(notify_id, str(nid), 'permanent-failure')
    for _ in range(2):  # Notify retries: the second copy is stored once and answered 200
        response = await app.post('/notify/callbacks/status', json=failed, headers=AUTH)
        assert response.status == 200
    late = await app.post('/notify/callbacks/status', json=receipt(notify_id, str(nid), 'delivered'), headers=AUTH)
    assert late.status == 200
    assert (await row(pg, nid))['status'] == 'permanent-failure'
    outcomes = await pg.fetch('select status, outcome from notify_callbacks order by id')
    assert [(r['status'], r['outcome']) for r in outcomes] == [
        ('permanent-failure', 'applied; contact point suppressed'),
        ('delivered', 'kept permanent-failure'),
    ]


async def test_a_receipt_that_arrives_before_sent_is_recorded_wins_and_stops_a_resend(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    await sim.fault({'action': 'drop', 'delay': 0})
    assert await sender.deliver(nid) == 'unknown'
    notify_id = sim.sent(nid)[0].id
    response = await app.post('/notify/callbacks/status', json=receipt(notify_id, str(nid), 'delivered'), headers=AUTH)
    assert response.status == 200
    stored = await row(pg, nid)
    assert (stored['status'], str(stored['notify_id'])) == ('delivered', notify_id)
    await pg.execute("update notifications set updated_at = now() - interval '1 hour' where id = $1", nid)
    assert await sender.reconcile_stuck() == {}
    assert len(sim.sent(nid)) == 1


async def test_stop_by_text_suppresses_the_number_and_ends_text_only_subscriptions(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    contact = await make_contact(pg, 'sms', '447700900456')
    resident = await resident_of(pg, contact)
    texts_only, both = [
        await pg.fetchval(
            "insert into subscriptions (resident_id, status, kind, channels) values ($1, 'active', 'topic', $2) "
            'returning id',
            resident,
            channels,
        )
        for channels in (['sms'], ['email', 'sms'])
    ]
    async with sim.http.post(sim.url + '/_sim/inbound-sms', json={'user_number': '07700 900456', 'content': 'Stop'}):
        pass
    await wait_for(pg, 'select suppressed_reason from contact_points where id = $1', contact, expected='stop-reply')
    subs = {r['id']: r for r in await pg.fetch('select id, status, ended_reason, channels from subscriptions')}
    assert (subs[texts_only]['status'], subs[texts_only]['ended_reason']) == ('ended', 'stop-reply')
    assert (subs[both]['status'], subs[both]['channels']) == ('active', ['email'])


async def test_other_texts_are_stored_for_staff(app: TestClient, sim: RunningSim, pg: asyncpg.Pool) -> None:
    async with sim.http.post(sim.url + '/_sim/inbound-sms', json={'user_number': '07700900789', 'content': 'When?'}):
        pass
    # stored first (answered at once), then processed: wait for the processing, not just the row
    await wait_for(pg, "select count(*) from notify_callbacks where kind = 'inbound-sms' and processed_at is not null",
                   expected=1)  # fmt: skip
    stored = await pg.fetchrow('select payload, outcome, for_staff from notify_callbacks')
    assert (stored['payload']['message'], stored['for_staff']) == ('When?', True)
    assert stored['outcome'] == 'stored; acknowledged', 'a number new to us is told when staff will reply (decision 60)'


async def test_a_dead_email_address_is_explained_to_the_resident_by_text(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    sim.sim.status_delay = 0.05
    resident = await make_resident(pg, email=True, sms=True)
    assert resident.email_id and resident.sms_id
    first = await make_notification(pg, resident.email_id)
    await sim.fault({'action': 'status', 'status': 'permanent-failure', 'match': {'reference': str(first)}}, rule=True)
    assert await sender.deliver(first) == 'sent'
    await wait_for(pg, "select count(*) from notifications where purpose = 'notice' and channel = 'sms'", expected=1)
    notice = await pg.fetchrow("select * from notifications where channel = 'sms'")
    assert notice['contact_point_id'] == resident.sms_id
    assert notice['personalisation']['masked_address'].endswith('@example.com')
    assert resident.email not in notice['personalisation']['masked_address']
    assert await sender.deliver(notice['id']) == 'sent'
    text = next(n for n in sim.sim.store.all() if n.type == 'sms')
    assert notice['personalisation']['masked_address'] in text.body
