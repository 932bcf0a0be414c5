"""What a message said is forgotten after the retention period: a finished row loses its personalisation and any
address quoted in its error, and Notify's receipt for it loses the recipient's address; a recent row, and a row
still on its way however old, keep everything. Run at a chosen instant, in bounded batches, as often as you like."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from notifier.outbox import retention
from notifier.outbox.states import FINISHED
from tests.support.factories import Resident, make_resident
from tests.support.outbox import message, receipt

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAYS = 7
CONFIRMATION = {
    'subscription': 'Planning applications within 400 metres of M32 0AH',
    'confirm_url': 'https://tellme.example.gov.uk/c/9f2d0c7e1b',
}
CODE = {'code': '482913', 'minutes': '15'}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
async def ann(pg: asyncpg.Pool) -> Resident:
    return await make_resident(pg, email='ann@example.com', sms='07700 900222')


async def forget(pg: asyncpg.Pool, **options: Any) -> retention.Forgotten:
    async with pg.acquire() as conn:
        return await retention.forget(conn, days=DAYS, now=options.pop('now', NOW), **options)


async def rows(pg: asyncpg.Pool) -> dict[Any, dict[str, Any]]:
    return {row['id']: dict(row) for row in await pg.fetch('select * from notifications')}


async def receipts(pg: asyncpg.Pool) -> dict[str, dict[str, Any]]:
    found = await pg.fetch('select reference, payload from notify_callbacks')
    return {row['reference']: row['payload'] for row in found}


async def test_a_message_finished_eight_days_ago_loses_what_it_said_and_who_it_went_to(
    pg: asyncpg.Pool, ann: Resident
) -> None:
    delivered = await message(pg, ann.email_id, 'delivered', ago(8), purpose='confirmation',
                              personalisation=CONFIRMATION)  # fmt: skip
    await receipt(pg, delivered, 'ann@example.com', ago(8))
    refused = await message(
        pg, ann.sms_id, 'failed', ago(8), channel='sms', purpose='sign-in', personalisation=CODE,
        last_error='400 ValidationError: phone_number +447700900222 is not a UK mobile number',
    )  # fmt: skip
    # a subscription ended: its queued message was cancelled without a completed_at; its last change counts
    cancelled = await message(pg, ann.email_id, 'cancelled', ago(9), purpose='confirmation', completed=False,
                              personalisation=CONFIRMATION, last_error='subscription ended: unsubscribed')  # fmt: skip

    assert await forget(pg) == retention.Forgotten(messages=3, receipts=1)

    after = await rows(pg)
    for row in after.values():
        assert row['personalisation'] is None and row['personal_data_removed_at'] == NOW
    assert after[refused]['last_error'] == '400 ValidationError: phone_number [removed] is not a UK mobile number'
    assert after[cancelled]['last_error'] == 'subscription ended: unsubscribed', 'nothing personal in it: kept as is'
    # what the figures and the case page need stays
    kept = after[delivered]
    assert (kept['status'], kept['channel'], kept['purpose'], kept['attempts']) == ('delivered', 'email',
                                                                                    'confirmation', 1)  # fmt: skip
    times = (kept['created_at'], kept['sent_at'], kept['completed_at'])
    assert times == (ago(8) - timedelta(hours=1), ago(8) - timedelta(minutes=59), ago(8))
    assert kept['contact_point_id'] == ann.email_id and kept['notify_id'] is not None
    payload = (await receipts(pg))[str(delivered)]
    assert 'to' not in payload and (payload['status'], payload['reference']) == ('delivered', str(delivered))
    everything = await pg.fetchval("select string_agg(n::text, ' ') from notifications n") + str(await receipts(pg))
    for personal in ('ann@example.com', '7700', 'M32 0AH', 'confirm_url', '482913'):
        assert personal not in everything


async def test_what_is_recent_or_still_on_its_way_keeps_everything(pg: asyncpg.Pool, ann: Resident) -> None:
    recent = await message(pg, ann.email_id, 'delivered', ago(6), purpose='confirmation',
                           personalisation=CONFIRMATION)  # fmt: skip
    await receipt(pg, recent, 'ann@example.com', ago(6))
    error = 'gave up on ann@example.com for now: 503 from Notify'
    for status in ('retry', 'pending', 'held', 'sending', 'unknown', 'sent'):  # however old, never touched
        await message(pg, ann.email_id, status, ago(30), purpose='notice', personalisation=CONFIRMATION,
                      last_error=error)  # fmt: skip
    before, receipts_before = await rows(pg), await receipts(pg)

    assert await forget(pg) == retention.Forgotten(messages=0, receipts=0)

    assert await rows(pg) == before
    assert await receipts(pg) == receipts_before
    assert receipts_before[str(recent)]['to'] == 'ann@example.com'


async def test_running_again_changes_nothing(pg: asyncpg.Pool, ann: Resident) -> None:
    old = await message(pg, ann.sms_id, 'permanent-failure', ago(20), channel='sms', purpose='sign-in',
                        personalisation=CODE, last_error='not delivered to 07700 900222')  # fmt: skip
    await receipt(pg, old, '07700900222', ago(20))
    await forget(pg)
    once, receipts_once = await rows(pg), await receipts(pg)
    assert once[old]['last_error'] == 'not delivered to [removed]'

    assert await forget(pg) == retention.Forgotten(messages=0, receipts=0)
    assert await forget(pg, now=NOW + timedelta(days=30)) == retention.Forgotten(messages=0, receipts=0)

    assert await rows(pg) == once, 'not even updated_at or the moment of removal moves'
    assert await receipts(pg) == receipts_once


async def test_each_run_is_bounded_and_the_next_run_goes_on(pg: asyncpg.Pool, ann: Resident) -> None:
    for n in range(5):
        row = await message(pg, ann.email_id, 'delivered', ago(10 + n), personalisation=CONFIRMATION)
        await receipt(pg, row, 'ann@example.com', ago(10 + n))

    assert await forget(pg, batch=2, batches=2) == retention.Forgotten(messages=4, receipts=4)
    left = await pg.fetch('select created_at from notifications where personalisation is not null')
    assert [row['created_at'] for row in left] == [ago(10) - timedelta(hours=1)], 'the oldest go first'
    assert await forget(pg, batch=2, batches=2) == retention.Forgotten(messages=1, receipts=1)
    assert await pg.fetchval('select count(*) from notifications where personalisation is not null') == 0


async def test_finding_what_to_forget_uses_the_retention_indexes(pg: asyncpg.Pool) -> None:
    async with pg.acquire() as conn, conn.transaction():
        await conn.execute('set local enable_seqscan = off')
        messages = '\n'.join(r[0] for r in await conn.fetch('explain ' + retention.FIND_MESSAGES, NOW, DAYS, 500))
        found = '\n'.join(r[0] for r in await conn.fetch('explain ' + retention.FORGET_RECEIPTS, NOW, DAYS, 500))
    assert 'notifications_to_forget' in messages
    assert 'notify_callbacks_to_forget' in found


def test_only_finished_states_are_cleared() -> None:
    assert set(FINISHED) == {'delivered', 'permanent-failure', 'temporary-failure', 'technical-failure', 'failed',
                             'cancelled', 'digested'}  # fmt: skip


@pytest.mark.parametrize(
    ('text', 'scrubbed'),
    [
        # Notify's and our own reasons name no one: kept word for word (the overview groups failures by them)
        ('400 ValidationError: email_address Not a valid email address',) * 2,
        ('gave up after 7 attempts: 503 from Notify',) * 2,
        ('429 TooManyRequestsError: Exceeded send limits (250000) for today',) * 2,
        ('digest could not be built at 2026-11-20 09:05:00 for 8f8bb191-181f-4df4-b61a-0bb39a7a24bb',) * 2,
        ('contact suppressed: permanent-failure',) * 2,
        # an address, a number or a postcode quoted anywhere goes
        ("400 BadRequestError: 'ann.o.neil+news@example.co.uk' is not allowed",
         "400 BadRequestError: '[removed]' is not allowed"),
        ('phone_number 07700 900222 is not valid', 'phone_number [removed] is not valid'),
        ('to +447700900222 and 447700900223', 'to [removed] and [removed]'),
        ('Last line of address must be a real UK postcode: M32 0AH',
         'Last line of address must be a real UK postcode: [removed]'),
    ],
)  # fmt: skip
def test_a_reason_keeps_its_words_but_not_an_address(text: str, scrubbed: str) -> None:
    assert retention.scrub(text) == scrubbed


def test_the_lines_of_a_letters_own_address_go_from_its_reason() -> None:
    address = '["Ann O\'Neil", "1 Acacia Avenue", "Stretford", "Manchester", "M32 0AH"]'
    text = 'address_line_2 1 ACACIA AVENUE is not valid (Stretford)'
    assert retention.scrub(text, address=address) == 'address_line_2 [removed] is not valid ([removed])'
