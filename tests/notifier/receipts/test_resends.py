"""Notify's technical-failure means "send it again" for an email or a text, and never for a letter (design notify.md
§2): the same outbox row goes out again as a new Notify notification, with a reference that still leads back to it,
at most TELLME_NOTIFY_TECHNICAL_FAILURE_RESENDS times. The simulator fires the receipts at our real web app."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from notifier.overview import figures as overview
from notifier.sending.delivery import Sender
from tests.support.notify import (
    CALLBACK_TOKEN,
    RunningSim,
    make_letter,
    make_notification,
    row,
    sends_of,
    set_status,
)
from tests.support.waiting import wait_until

AUTH = {'Authorization': f'Bearer {CALLBACK_TOKEN}'}


@pytest.fixture
async def app(app: TestClient, sim: RunningSim) -> TestClient:
    """The folder's app, with the simulator posting its receipts to it. Sent messages stay `sending` at the
    simulator until a test moves them (`set_status`) or lowers `sim.sim.status_delay`."""
    sim.sim.callback_url = str(app.make_url('/notify/callbacks/status'))
    sim.sim.callbacks.token = CALLBACK_TOKEN
    sim.sim.callbacks.retry_interval = 0.1
    return app


async def status_becomes(pg: asyncpg.Pool, nid: uuid.UUID, status: str) -> asyncpg.Record:
    async def there() -> bool:
        return (await row(pg, nid))['status'] == status

    await wait_until(there, timeout=5)
    return await row(pg, nid)


async def outcomes(pg: asyncpg.Pool) -> list[tuple[str, str]]:
    stored = await pg.fetch("select status, outcome from notify_callbacks where kind = 'status' order by id")
    return [(r['status'], r['outcome']) for r in stored]


def receipt(notify_id: Any, reference: str, status: str) -> dict[str, Any]:
    return {'id': str(notify_id), 'reference': reference, 'to': 'resident@example.com', 'status': status,
            'created_at': '2026-11-21T10:00:00.000000Z', 'completed_at': '2026-11-21T10:00:05.000000Z',
            'sent_at': '2026-11-21T10:00:01.000000Z', 'notification_type': 'email',
            'template_id': str(uuid.uuid4()), 'template_version': 1}  # fmt: skip


async def test_a_technical_failure_on_an_email_sends_it_once_more_and_the_resend_is_delivered(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    assert await sender.deliver(nid) == 'sent'
    first = (await row(pg, nid))['notify_id']
    await set_status(sim, first, 'technical-failure')  # Notify's receipt reaches the app

    waiting = await status_becomes(pg, nid, 'retry')
    assert (waiting['resends'], waiting['notify_id']) == (1, None)
    assert waiting['last_error'] == 'technical failure at Notify: sent again (1 of 2)'
    sim.sim.status_delay = 0.05  # the resend goes through
    assert await sender.deliver(nid) == 'sent'
    assert await sender.deliver(nid) == 'skipped'  # once more, not twice more
    done = await status_becomes(pg, nid, 'delivered')

    assert sends_of(sim, nid) == [str(nid), f'{nid}.2']  # two notifications at Notify, one row here
    assert done['notify_id'] != first and str(done['notify_id']) == sim.sent(f'{nid}.2')[0].id
    assert (done['resends'], done['attempts']) == (1, 2)
    async with pg.acquire() as conn:  # the staff overview counts one message, delivered, none failed
        view = await overview.gather(conn, saving_pence=268)
    assert view.totals == {'messages': 1, 'delivered': 1, 'failed': 0}
    assert await outcomes(pg) == [
        ('technical-failure', 'technical-failure: sent again (1 of 2)'),
        ('delivered', 'applied'),
    ]


async def test_a_text_is_sent_again_too_but_no_more_than_the_setting_allows(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    assert sender.settings.notify_technical_failure_resends == 2
    nid = await make_notification(pg, channel='sms')
    for resends in (1, 2):
        assert await sender.deliver(nid) == 'sent'
        await set_status(sim, (await row(pg, nid))['notify_id'], 'technical-failure')
        assert (await status_becomes(pg, nid, 'retry'))['resends'] == resends
    assert await sender.deliver(nid) == 'sent'
    await set_status(sim, (await row(pg, nid))['notify_id'], 'technical-failure')

    final = await status_becomes(pg, nid, 'technical-failure')
    assert final['resends'] == 2 and final['completed_at'] is not None
    assert final['last_error'] == 'technical failure at Notify on all 3 sends, not sent again'
    assert await sender.deliver(nid) == 'skipped'
    assert sends_of(sim, nid) == [str(nid), f'{nid}.2', f'{nid}.3']
    assert [outcome for _, outcome in await outcomes(pg)] == [
        'technical-failure: sent again (1 of 2)', 'technical-failure: sent again (2 of 2)', 'applied'
    ]  # fmt: skip


async def test_a_letter_with_a_technical_failure_is_not_sent_again(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_letter(pg)
    assert await sender.deliver(nid) == 'sent'
    notify_id = (await row(pg, nid))['notify_id']
    # Notify posts no delivery receipts for letters: the receipt is posted here as one would be
    response = await app.post(
        '/notify/callbacks/status', json=receipt(notify_id, str(nid), 'technical-failure'), headers=AUTH
    )
    assert response.status == 200
    final = await row(pg, nid)
    assert (final['status'], final['resends']) == ('technical-failure', 0)
    assert final['last_error'] == 'technical failure at Notify (a letter is not sent again)'
    assert await sender.deliver(nid) == 'skipped'
    assert sends_of(sim, nid) == [str(nid)]


async def test_a_late_receipt_about_the_earlier_send_does_not_overwrite_the_resend(
    app: TestClient, sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    assert await sender.deliver(nid) == 'sent'
    first = (await row(pg, nid))['notify_id']
    await set_status(sim, first, 'technical-failure')
    await status_becomes(pg, nid, 'retry')
    assert await sender.deliver(nid) == 'sent'
    second = (await row(pg, nid))['notify_id']

    # a word about the first send, by its notify id and its reference, arrives after the resend went out
    for late in (receipt(first, str(nid), 'temporary-failure'), receipt(first, str(nid), 'delivered')):
        response = await app.post('/notify/callbacks/status', json=late, headers=AUTH)
        assert response.status == 200
    stored = await row(pg, nid)
    assert (stored['status'], stored['notify_id'], stored['resends']) == ('sent', second, 1)
    assert [outcome for _, outcome in (await outcomes(pg))[1:]] == [
        'kept sent: about an earlier send of a message sent again'
    ] * 2


async def test_a_technical_failure_found_when_reconciling_sends_it_again(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    await sim.fault({'action': 'drop', 'delay': 0})  # Notify took it but we never heard
    assert await sender.deliver(nid) == 'unknown'
    await set_status(sim, sim.sent(nid)[0].id, 'technical-failure')  # no callback URL: nobody is told
    assert await sender.reconcile(nid, settle=timedelta(0)) == 'resent'
    stored = await row(pg, nid)
    assert (stored['status'], stored['resends']) == ('retry', 1)
    assert await sender.deliver(nid) == 'sent'
    assert sends_of(sim, nid) == [str(nid), f'{nid}.2']
    # reconciling the resend asks about its own reference only
    await pg.execute("update notifications set status = 'unknown' where id = $1", nid)
    assert await sender.reconcile(nid, settle=timedelta(0)) == 'found'
    assert str((await row(pg, nid))['notify_id']) == sim.sent(f'{nid}.2')[0].id
