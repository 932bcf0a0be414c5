"""The delivery engine against real PostgreSQL, real Redis and the Notify simulator (in-process, over HTTP).

Each test checks what a resident or an operator would notice: how many messages the simulator received for one
reference, and what the outbox row says afterwards.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier.sending.delivery import BACKOFF, Sender
from notifier.sending.notify_client import NotifyClient
from notifier.sending.rate_limit import SendLimiter, next_midnight_utc
from notifier.shell.embedded import free_port
from tests.conftest import Services
from tests.support.factories import make_subscription
from tests.support.notify import RunningSim, make_contact, make_notification, resident_of, row


async def let_time_pass(pg: asyncpg.Pool, nid: uuid.UUID) -> None:
    await pg.execute('update notifications set not_before = now() where id = $1', nid)


async def topic_subscription(pg: asyncpg.Pool, contact: int, *, status: str) -> int:
    """A planning subscription by email, in this `status`, for the resident whose contact point is `contact`."""
    resident = await resident_of(pg, contact)
    return await make_subscription(pg, resident, status=status, channels=['email'], kind='topic', topics=['planning'])


# ---------------------------------------------------------------------------------------------------------------
async def test_a_notification_claimed_twice_is_sent_once(sender: Sender, sim: RunningSim, pg: asyncpg.Pool) -> None:
    nid = await make_notification(pg)
    outcomes = await asyncio.gather(sender.deliver(nid), sender.deliver(nid), sender.deliver(nid))
    assert sorted(outcomes) == ['sent', 'skipped', 'skipped']
    assert await sender.deliver(nid) == 'skipped'
    assert len(sim.sent(nid)) == 1
    stored = await row(pg, nid)
    assert (stored['status'], stored['attempts']) == ('sent', 1)
    assert str(stored['notify_id']) == sim.sent(nid)[0].id


async def test_a_row_not_yet_due_is_not_sent(sender: Sender, sim: RunningSim, pg: asyncpg.Pool) -> None:
    nid = await make_notification(pg)
    await pg.execute("update notifications set not_before = now() + interval '1 hour' where id = $1", nid)
    assert await sender.deliver(nid) == 'skipped'
    assert sim.sent(nid) == []


async def test_503_is_retried_on_the_ladder_after_checking_notify_then_sent(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    await sim.fault({'action': '503'})
    assert await sender.deliver(nid) == 'unknown'  # an HTML 503 carries no answer: Notify may have it
    assert (await row(pg, nid))['status'] == 'unknown'
    assert await sender.reconcile(nid, settle=timedelta(0)) == 'retry'  # not at Notify: safe to send again
    stored = await row(pg, nid)
    assert stored['status'] == 'retry'
    assert BACKOFF[0] - 1 <= (stored['not_before'] - datetime.now(UTC)).total_seconds() <= BACKOFF[0]
    assert await sender.deliver(nid) == 'skipped'  # not before the backoff has passed
    await let_time_pass(pg, nid)
    assert await sender.deliver(nid) == 'sent'
    assert len(sim.sent(nid)) == 1
    assert (await row(pg, nid))['attempts'] == 2


async def test_500_is_looked_up_at_once_and_retried_later_on_the_ladder(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    await sim.fault({'action': '500', 'count': 2})
    assert await sender.deliver(nid) == 'retry'
    await let_time_pass(pg, nid)
    assert await sender.deliver(nid) == 'retry'
    stored = await row(pg, nid)
    assert BACKOFF[1] - 1 <= (stored['not_before'] - datetime.now(UTC)).total_seconds() <= BACKOFF[1]
    await let_time_pass(pg, nid)
    assert await sender.deliver(nid) == 'sent'
    assert len(sim.sent(nid)) == 1


async def test_a_notify_that_cannot_be_reached_is_retried_then_given_up(
    services: Services, sim: RunningSim, pg: asyncpg.Pool, sender: Sender
) -> None:
    unreachable = NotifyClient(sim.http, sim.key, f'http://127.0.0.1:{free_port()}', timeout=2)
    down = Sender(pg, unreachable, sender.limiter, sender.settings, backoff=(1, 2))
    nid = await make_notification(pg)
    assert await down.deliver(nid) == 'retry'
    await let_time_pass(pg, nid)
    assert await down.deliver(nid) == 'retry'
    await let_time_pass(pg, nid)
    assert await down.deliver(nid) == 'failed'
    stored = await row(pg, nid)
    assert stored['status'] == 'failed' and stored['attempts'] == 3
    assert 'gave up after 3 attempts' in stored['last_error']


async def test_a_400_fails_at_once_with_notifys_reason(sender: Sender, sim: RunningSim, pg: asyncpg.Pool) -> None:
    nid = await make_notification(pg)
    await sim.fault({'action': '400'})
    assert await sender.deliver(nid) == 'failed'
    stored = await row(pg, nid)
    assert stored['status'] == 'failed'
    assert 'ValidationError' in stored['last_error'] and 'Not a valid email address' in stored['last_error']
    await let_time_pass(pg, nid)
    assert await sender.deliver(nid) == 'skipped'


async def test_a_bad_recipient_fails_before_spending_a_token(sender: Sender, sim: RunningSim, pg: asyncpg.Pool) -> None:
    contact = await make_contact(pg, 'sms', '12345')
    nid = await make_notification(pg, contact, channel='sms')
    assert await sender.deliver(nid) == 'failed'
    assert (await row(pg, nid))['last_error'] == 'not sent: not a valid mobile number'
    assert sim.sim.store.all() == []


async def test_accepted_then_dropped_is_reconciled_and_never_sent_twice(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    await sim.fault({'action': 'drop', 'delay': 0})
    assert await sender.deliver(nid) == 'unknown'
    assert await sender.deliver(nid) == 'skipped'  # an unknown row is never resent blind
    assert await sender.reconcile(nid) == 'skipped'  # not settled yet: Notify may still be working on it
    assert await sender.reconcile(nid, settle=timedelta(0)) == 'found'
    stored = await row(pg, nid)
    assert stored['status'] == 'sent'
    assert str(stored['notify_id']) == sim.sent(nid)[0].id
    await let_time_pass(pg, nid)
    assert await sender.deliver(nid) == 'skipped'
    assert len(sim.sent(nid)) == 1


async def test_a_rate_limit_pauses_every_sender_and_does_not_count_as_an_attempt(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, redis: Redis
) -> None:
    nid = await make_notification(pg)
    await sim.fault({'action': '429-rate'})
    assert await sender.deliver(nid) == 'rate-limited'
    stored = await row(pg, nid)
    assert (stored['status'], stored['attempts']) == ('retry', 0)
    other_process = SendLimiter(redis, sender.notify.service_id, per_second=sender.limiter.per_second)
    assert await other_process.current_rate() == pytest.approx(sender.limiter.per_second / 2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await other_process.acquire('email')  # another worker waits out the shared pause
    assert loop.time() - started >= sender.limiter.pause_ms / 1000 - 0.2
    await let_time_pass(pg, nid)
    assert await sender.deliver(nid) == 'sent'
    assert len(sim.sent(nid)) == 1


async def test_the_daily_limit_parks_the_channel_until_midnight_utc(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    first, second = await make_notification(pg), await make_notification(pg)
    text = await make_notification(pg, await make_contact(pg, 'sms'), channel='sms')
    await sim.fault({'action': '429-daily'})
    assert await sender.deliver(first) == 'daily-limit'
    stored = await row(pg, first)
    assert stored['status'] == 'retry' and stored['attempts'] == 0
    assert stored['not_before'] == next_midnight_utc()
    # the rest of the channel's queue moved to midnight with it, so no claim walks past it meanwhile
    assert (await row(pg, second))['not_before'] == next_midnight_utc()
    assert await sender.deliver(second) == 'skipped'
    assert await sender.deliver(text) == 'sent'  # texts have their own allowance
    assert [n.reference for n in sim.sim.store.all()] == [str(text)]
    assert await sender.claim_ready(10, skip_channels=await sender.limiter.parked_channels()) == []


async def test_rows_for_a_suppressed_contact_or_an_ended_subscription_are_cancelled(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    suppressed = await make_contact(pg)
    await pg.execute(
        "update contact_points set suppressed_at = now(), suppressed_reason = 'permanent-failure' where id = $1",
        suppressed,
    )
    to_suppressed = await make_notification(pg, suppressed)
    contact = await make_contact(pg)
    subscription = await topic_subscription(pg, contact, status='ended')  # unsubscribed by the resident
    to_ended = await make_notification(pg, contact)
    await pg.execute('update notifications set subscription_id = $2 where id = $1', to_ended, subscription)
    assert await sender.deliver(to_suppressed) == 'cancelled'
    assert await sender.deliver(to_ended) == 'cancelled'
    assert (await row(pg, to_ended))['last_error'] == 'subscription ended'
    assert sim.sim.store.all() == []


async def test_an_event_message_is_built_at_send_time_with_its_links(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool
) -> None:
    contact = await make_contact(pg)
    subscription = await topic_subscription(pg, contact, status='active')
    event = await pg.fetchval(
        'insert into events (source, external_key, fingerprint, kind, topic, title, summary, occurred_at) '
        "values ('planning-feed', '24/00123/FUL', 'f', 'planning.new', 'planning', 'Rear extension at 4 High St', "
        "'Single-storey rear extension', now()) returning id"
    )
    nid = await pg.fetchval(
        'insert into notifications (event_id, contact_point_id, subscription_id, channel) '
        "values ($1, $2, $3, 'email') returning id",
        event,
        contact,
        subscription,
    )
    assert await sender.deliver(nid) == 'sent'
    [message] = sim.sent(nid)
    assert 'Rear extension at 4 High St' in (message.subject or '') + message.body
    assert f'https://tellme.example.gov.uk/e/{event}' in message.body
    unsubscribe = [value for value in message.personalisation.values() if '/unsubscribe/' in str(value)]
    assert unsubscribe, json.dumps(message.personalisation)


@pytest.mark.parametrize(
    ('topic', 'language', 'channel', 'named'),
    [
        ('trees', 'en', 'email', 'Tree works'),  # a topic the council added to its catalogue
        ('trees', 'cy', 'email', 'Gwaith coed'),
        ('trees', 'en', 'sms', 'Tree works'),
        ('roadworks', 'en', 'email', 'Roadworks and road closures'),  # one shipped in the catalogue only
        ('trees/felling', 'en', 'email', 'Tree works: Felling'),  # a part of it nobody named
    ],
)
async def test_news_on_a_catalogue_topic_is_named_as_the_catalogue_names_it(
    sender: Sender, sim: RunningSim, pg: asyncpg.Pool, topic: str, language: str, channel: str, named: str
) -> None:
    await pg.execute(
        "insert into topics (key, name_en, name_cy, hint_en, hint_cy, group_key, offered) values ('trees', "
        "'Tree works', 'Gwaith coed', 'Felling and pruning council trees', '', 'other', true)"
    )
    contact = await make_contact(pg, channel)
    await pg.execute('update residents set language = $1 where id = $2', language, await resident_of(pg, contact))
    event = await pg.fetchval(
        'insert into events (source, external_key, fingerprint, kind, topic, title, summary, occurred_at) '
        "values ('council-works', 'T-1', 'f', 'works.planned', $1, 'Felling on Park Road', 'Two limes come down.', "
        'now()) returning id',
        topic,
    )
    nid = await pg.fetchval(
        'insert into notifications (event_id, contact_point_id, channel) values ($1, $2, $3) returning id',
        event, contact, channel,
    )  # fmt: skip
    assert await sender.deliver(nid) == 'sent'
    [message] = sim.sent(nid)
    heading = message.subject if channel == 'email' else message.body
    assert (heading or '').startswith(f'{named}: Felling on Park Road'), heading
    assert 'News' not in (heading or '') and 'Newyddion' not in (heading or '')


async def test_a_sender_that_lost_its_claim_while_waiting_does_not_send(
    sim: RunningSim, sender: Sender, pg: asyncpg.Pool
) -> None:
    nid = await make_notification(pg)
    claimed = await sender.claim_one(nid)
    assert claimed is not None
    # meanwhile the sweeper gave the row up as stuck and another worker claimed it again
    await pg.execute("update notifications set status = 'sending', attempts = attempts + 1 where id = $1", nid)
    assert await sender.send(claimed) == 'skipped'
    assert sim.sent(nid) == []
