"""Bulletins finish: once every message has gone (delivered, failed, cancelled, in a digest, or with Notify waiting
for its receipt) a bulletin reads Sent — or Sent with failures — with its report and nothing left to pause or cancel;
the page that sees it settles it, and so does the worker's next run after a restart, once, with one audit entry.
A message still queued, held by a pause or waiting in a digest keeps it sending."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from notifier import audit
from notifier.sending.delivery import Sender
from notifier.settings import Settings
from notifier.shell.app import create_app
from sources.bulletins import finish
from sources.bulletins import flow as bulletins
from tests.conftest import Services
from tests.support.app import settings_for
from tests.support.bulletins import OTHER, Desk, bulletin_in, everything_delivered, sale_ward
from tests.support.notify import RunningSim
from tests.support.pages import section, text_of
from workers.bulletins import finish_sent_bulletins


@pytest.fixture
async def desk(aiohttp_client: Any, services: Services, pg: asyncpg.Pool, redis: Redis) -> Desk:
    await sale_ward(pg)
    made = Desk(await aiohttp_client(create_app(settings_for(services))), pg)
    await made.staff('comms@council.example', 'comms')
    return made


async def sent_entries(pg: asyncpg.Pool, bulletin: int) -> list[audit.Entry]:
    return await audit.entries(pg, action='bulletin.sent', target_kind='bulletin', target_id=str(bulletin))


async def test_a_bulletin_reads_sent_once_every_message_has_gone_with_nothing_left_to_pause_or_cancel(
    desk: Desk, pg: asyncpg.Pool, sender: Sender, sim: RunningSim
) -> None:
    bulletin = await desk.compose()  # urgent: all 8 messages due at once
    await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    progress = f'/staff/bulletins/{bulletin}/progress'
    for row in await sender.claim_ready(3):
        assert await sender.send(row) == 'sent'
    page = await (await desk.client.get(progress)).text()
    assert section(page, 'status') == 'Sending' and 'Pause' in text_of(page) and 'Cancel the rest' in text_of(page)
    assert section(page, 'progress-summary') == '3 of 8 done (37%)'

    for row in await sender.claim_ready(10):  # with Notify, which has not said yet whether they arrived
        assert await sender.send(row) == 'sent'
    page = await (await desk.client.get(progress)).text()
    words = text_of(page)
    assert section(page, 'status') == 'Sent' and section(page, 'progress-summary') == '8 of 8 done (100%)'
    assert 'Pause' not in words and 'Cancel the rest' not in words and 'data-refresh="no"' in page
    assert '0 delivered, 0 failed. 8 are on the way: GOV.UK Notify has them' in section(page, 'outcome')
    row = await pg.fetchrow('select status, finished_at from bulletins where id = $1', bulletin)
    assert row['status'] == 'sent' and row['finished_at'] is not None
    (entry,) = await sent_entries(pg, bulletin)
    counts = {'messages': 8, 'sent': 8, 'delivered': 0, 'failed': 0, 'digest': 0, 'cancelled': 0}
    assert (entry.actor_kind, entry.details) == ('system', counts | {'was': 'sending'})
    await desk.client.get(progress)
    assert len(await sent_entries(pg, bulletin)) == 1, 'settled once'

    shown = await (await desk.client.get(f'/staff/bulletins/{bulletin}')).text()
    assert section(shown, 'status') == 'Sent' and 'See how it went' in shown and 'Cancel bulletin' not in shown
    assert 'Every message gone' in text_of(shown)
    report = await (await desk.client.get(f'/staff/bulletins/{bulletin}/report')).text()
    assert section(report, 'status') == 'Sent' and section(report, 'on-the-way').startswith('8 messages are on the way')

    # receipts keep coming: one address does not exist
    await pg.execute("update notifications set status = 'delivered', completed_at = now()")
    first = await pg.fetchval('select id from notifications order by id limit 1')
    await pg.execute("update notifications set status = 'permanent-failure' where id = $1", first)
    report = await (await desk.client.get(f'/staff/bulletins/{bulletin}/report')).text()
    assert section(report, 'status') == 'Sent with failures' and 'on-the-way' not in report
    assert 'Failed: address does not exist' in section(report, 'failures')
    listed = text_of(await (await desk.client.get('/staff/bulletins')).text())
    assert 'Water supply off in Sale Urgent Sent with failures comms@council.example' in listed
    page = await (await desk.client.get(progress)).text()
    assert section(page, 'status') == 'Sent with failures'
    assert section(page, 'outcome').endswith('7 delivered, 1 failed.')
    cancel = await desk.form(f'/staff/bulletins/{bulletin}/cancel', {}, page=f'/staff/bulletins/{bulletin}')
    assert 'nothing to cancel' in text_of(await cancel.text())
    assert await pg.fetchval('select status from bulletins') == 'sent' and len(await sent_entries(pg, bulletin)) == 1


async def test_messages_still_queued_held_or_in_a_digest_keep_it_sending(
    desk: Desk, pg: asyncpg.Pool, redis: Redis, sender: Sender, sim: RunningSim, delivery_settings: Settings
) -> None:
    bulletin = await desk.compose(urgency='normal')  # digest subscribers' messages wait in their digests
    await desk.form(f'/staff/bulletins/{bulletin}/submit', {'when': 'now'}, page=f'/staff/bulletins/{bulletin}')
    await pg.execute("update notifications set not_before = now() where status = 'pending'")  # quiet hours over
    for row in await sender.claim_ready(10):
        await sender.send(row)
    assert await pg.fetchval("select count(*) from notifications where status = 'held'") > 0
    ctx = {'pg': pg, 'redis': redis, 'settings': delivery_settings}
    assert await finish_sent_bulletins(ctx) == 0
    page = await (await desk.client.get(f'/staff/bulletins/{bulletin}/progress')).text()
    assert section(page, 'status') == 'Sending' and 'Cancel the rest' in text_of(page)
    assert await sent_entries(pg, bulletin) == []


async def test_after_a_restart_the_next_run_of_the_job_settles_it_once(
    desk: Desk, pg: asyncpg.Pool, redis: Redis, services: Services
) -> None:
    """Every receipt came in while no page was open and no worker ran: a fresh worker's job finds it, once."""
    going, paused = await bulletin_in(pg, 'sending'), await bulletin_in(pg, 'paused')
    still = await bulletin_in(pg, 'sending')
    async with pg.acquire() as conn:
        await everything_delivered(conn, going)
        await everything_delivered(conn, paused)  # paused after every message had gone: nothing was held
    ctx = {'pg': pg, 'redis': redis, 'settings': settings_for(services)}  # a fresh worker's context
    assert await finish_sent_bulletins(ctx) == 2
    statuses = dict(await pg.fetch('select id, status from bulletins'))
    assert (statuses[going], statuses[paused], statuses[still]) == ('sent', 'sent', 'sending')
    assert await finish_sent_bulletins(ctx) == 0  # the next minute: nothing more, and no second entry
    assert [len(await sent_entries(pg, b)) for b in (going, paused, still)] == [1, 1, 0]
    assert (await sent_entries(pg, paused))[0].details['was'] == 'paused'
    async with pg.acquire() as conn:
        assert not await finish.settle(conn, going)
        with pytest.raises(bulletins.BulletinError, match='Only a bulletin that is sending can be paused'):
            await bulletins.pause(conn, going, OTHER)


async def test_the_api_status_reads_sent_too(desk: Desk, pg: asyncpg.Pool) -> None:
    bulletin = await bulletin_in(pg, 'sending')
    async with pg.acquire() as conn:
        await everything_delivered(conn, bulletin)
    token = await desk.token('comms')
    answer = await desk.client.get(f'/api/bulletins/{bulletin}', headers={'Authorization': f'Bearer {token}'})
    body = await answer.json()
    assert body['status'] == 'sent' and body['finished_at'] and body['progress']['finished']
    assert body['progress']['delivered'] == body['progress']['total'] > 0 and body['sent_back'] is None
    assert len(await sent_entries(pg, bulletin)) == 1
