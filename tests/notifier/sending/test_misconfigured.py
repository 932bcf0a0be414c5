"""When Notify refuses our set-up (a revoked key, a template it no longer has), sending stops and waits for a
person to fix it; the queued messages are kept, not failed one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from redis.asyncio import Redis

from notifier.sending import template_links
from notifier.sending.delivery import MISCONFIGURED_PAUSE, Sender
from notifier.settings import Settings
from tests.support.notify import RunningSim, make_notification, row, sender_for


async def test_a_revoked_key_pauses_every_channel_and_keeps_the_message(
    sim: RunningSim, delivery_settings: Settings, pg: asyncpg.Pool, redis: Redis
) -> None:
    sender = sender_for(pg, redis, sim.client(sim.revoked_key), delivery_settings)
    first, second = await make_notification(pg), await make_notification(pg)
    assert await sender.deliver(first) == 'paused'
    stored = await row(pg, first)
    assert stored['status'] == 'retry' and stored['attempts'] == 0
    assert 'API key revoked' in stored['last_error']
    assert stored['not_before'] > datetime.now(UTC) + MISCONFIGURED_PAUSE - timedelta(seconds=30)
    assert set(await sender.limiter.parked_channels()) == {'email', 'sms', 'letter'}
    # the rest of the backlog is not tried (and not failed) while paused
    assert await sender.claim_ready(10, skip_channels=await sender.limiter.parked_channels()) == []
    assert (await row(pg, second))['status'] == 'pending'
    assert sim.sent(first) == []


async def test_a_template_notify_no_longer_has_holds_its_channel_until_linked_again(
    sim: RunningSim, sender: Sender, pg: asyncpg.Pool
) -> None:
    # the council deletes its email template in Notify after linking it
    sim.sim.edit_template(sim.council_template('email').id, archived=True)
    email, text = await make_notification(pg), await make_notification(pg, channel='sms')
    later = await make_notification(pg)
    assert await sender.deliver(email) == 'waiting'
    stored = await row(pg, email)
    assert stored['status'] == 'retry' and stored['attempts'] == 0
    assert 'Template has been deleted' in stored['last_error']
    assert (await template_links.read(pg))['email'].state == 'different'
    # the other emails are not tried (and not failed); texts still go
    claimed = await sender.claim_ready(10)
    assert [c.id for c in claimed] == [text]
    assert await sender.send(claimed[0]) == 'sent'
    assert (await row(pg, later))['status'] == 'pending'
    assert await sender.limiter.parked_channels() == []
    # staff are told once, in the audit log
    alerts = await pg.fetch("select details from audit_log where action = 'notify.template_different'")
    assert len(alerts) == 1


async def test_a_bad_address_still_fails_just_that_message(sim: RunningSim, sender: Sender, pg: asyncpg.Pool) -> None:
    bad = await make_notification(pg)
    await sim.fault({'action': '400'})
    assert await sender.deliver(bad) == 'failed'
    assert await sender.limiter.parked_channels() == []
