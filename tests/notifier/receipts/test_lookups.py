"""A message Notify accepted but sent no receipt for is looked up by its Notify id by the sweeper and settled with
Notify's answer, as a receipt would be; one Notify no longer holds is settled with a reason, not left for ever. The
simulator here has no callback URL: no receipt ever comes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from redis.asyncio import Redis

from notifier.receipts.lookups import FORGOTTEN
from notifier.sending.delivery import Sender
from tests.support.notify import RunningSim, make_contact, make_letter, make_notification, row, sends_of, set_status
from tests.support.waiting import wait_until
from workers import sweeper

NOW = timedelta(0)  # the threshold the tests choose: anything sent is due a look-up


async def sweep(sender: Sender, pg: asyncpg.Pool, redis: Redis, sent_after: timedelta | None = NOW) -> dict[str, int]:
    return await sweeper.sweep({'sender': sender, 'pg': pg, 'redis': redis}, sent_after=sent_after)


async def at_notify(sim: RunningSim, nid: uuid.UUID, status: str) -> None:
    async def there() -> bool:
        return [n.status for n in sim.sent(nid)] == [status]

    await wait_until(there, timeout=5)


def looked_up(outcomes: dict[str, int]) -> dict[str, Any]:
    return {name: count for name, count in outcomes.items() if name.startswith('looked up')}


async def test_a_message_whose_receipt_never_came_is_settled_delivered_by_one_sweep(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    assert sim.sim.callback_url is None
    sim.sim.status_delay = 0.05
    nid = await make_notification(pg)
    assert await sender.deliver(nid) == 'sent'
    await at_notify(sim, nid, 'delivered')
    assert looked_up(await sweep(sender, pg, redis, sent_after=None)) == {}  # not yet: 6 hours by default
    assert (await row(pg, nid))['status'] == 'sent'

    assert looked_up(await sweep(sender, pg, redis)) == {'looked up: delivered': 1}
    settled = await row(pg, nid)
    assert settled['status'] == 'delivered' and settled['completed_at'] is not None
    assert looked_up(await sweep(sender, pg, redis)) == {}  # settled: never asked about again
    assert len(sim.sent(nid)) == 1


async def test_a_message_notify_does_not_know_is_settled_with_the_reason(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    nid = await make_notification(pg)
    assert await sender.deliver(nid) == 'sent'
    # Notify has forgotten it (it keeps notifications 7 days), or the key now belongs to another service
    await pg.execute('update notifications set notify_id = $2 where id = $1', nid, uuid.uuid4())
    assert looked_up(await sweep(sender, pg, redis)) == {'looked up: forgotten': 1}
    settled = await row(pg, nid)
    assert (settled['status'], settled['last_error']) == ('failed', FORGOTTEN)
    assert settled['completed_at'] is not None and len(sim.sent(nid)) == 1  # never sent again blind


async def test_a_message_notify_is_still_sending_is_asked_about_again_only_after_a_day(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    nid = await make_notification(pg)  # the simulator keeps it `sending` for an hour
    assert await sender.deliver(nid) == 'sent'
    assert looked_up(await sweep(sender, pg, redis)) == {'looked up: still with Notify': 1}
    waiting = await row(pg, nid)
    assert waiting['status'] == 'sent' and waiting['looked_up_at'] is not None
    assert looked_up(await sweep(sender, pg, redis)) == {}
    await pg.execute("update notifications set looked_up_at = looked_up_at - interval '25 hours' where id = $1", nid)
    assert looked_up(await sweep(sender, pg, redis)) == {'looked up: still with Notify': 1}


async def test_a_permanent_failure_found_by_looking_up_suppresses_the_address_as_a_receipt_does(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    sim.sim.status_delay = 0.05
    contact = await make_contact(pg)
    nid, queued = await make_notification(pg, contact), await make_notification(pg, contact)
    await sim.fault({'action': 'status', 'status': 'permanent-failure', 'match': {'reference': str(nid)}}, rule=True)
    assert await sender.deliver(nid) == 'sent'
    await at_notify(sim, nid, 'permanent-failure')
    assert looked_up(await sweep(sender, pg, redis)) == {'looked up: permanent-failure': 1}
    assert (await row(pg, nid))['status'] == 'permanent-failure'
    assert await pg.fetchval('select suppressed_reason from contact_points where id = $1', contact) == (
        'permanent-failure'
    )
    assert (await row(pg, queued))['status'] == 'cancelled'


async def test_a_technical_failure_found_by_looking_up_sends_an_email_again_and_a_letter_never(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    email, letter = await make_notification(pg), await make_letter(pg)
    for nid in (email, letter):
        assert await sender.deliver(nid) == 'sent'
        await set_status(sim, (await row(pg, nid))['notify_id'], 'technical-failure')  # letters: no callback
    assert looked_up(await sweep(sender, pg, redis)) == {'looked up: technical-failure': 2}
    assert ((await row(pg, email))['status'], (await row(pg, email))['resends']) == ('retry', 1)
    assert ((await row(pg, letter))['status'], (await row(pg, letter))['resends']) == ('technical-failure', 0)
    assert await sender.deliver(email) == 'sent' and await sender.deliver(letter) == 'skipped'
    assert sends_of(sim, email) == [str(email), f'{email}.2'] and sends_of(sim, letter) == [str(letter)]


async def test_a_letter_notify_has_received_is_delivered(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    sim.sim.status_delay = 0.05
    nid = await make_letter(pg)
    assert await sender.deliver(nid) == 'sent'
    await at_notify(sim, nid, 'delivered')  # Notify shows a printed letter as `received`
    assert looked_up(await sweep(sender, pg, redis)) == {'looked up: delivered': 1}
    assert (await row(pg, nid))['status'] == 'delivered'


async def test_when_notify_does_not_answer_the_rows_wait_for_the_next_sweep(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    first, second = await make_notification(pg), await make_notification(pg)
    for nid in (first, second):
        assert await sender.deliver(nid) == 'sent'
    await sim.fault({'action': '503', 'all_endpoints': True, 'count': 5})
    assert looked_up(await sweep(sender, pg, redis)) == {}  # one failed look-up stops the batch
    for nid in (first, second):
        assert ((await row(pg, nid))['status'], (await row(pg, nid))['looked_up_at']) == ('sent', None)
