"""The outbox stays small (issue 13 item 9): a message that finished TELLME_OUTBOX_KEEP_DAYS ago leaves the outbox and
is kept only as a count (per day, channel, purpose, status, event and failure reason); a message still on its way, or
one whose personal data retention has not yet forgotten, stays however old; a second run counts nothing twice; each
run is bounded. A bulletin's report and a case page still add up their old messages, saying they are summarised."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from notifier.outbox import archive
from sources.bulletins import reports
from sources.cases import queries as case_queries
from tests.support.factories import Resident, make_event, make_resident, record
from tests.support.outbox import message

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAYS = 35


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
async def ann(pg: asyncpg.Pool) -> Resident:
    return await make_resident(pg, email='ann@example.com', sms='07700 900222')


async def move_out(pg: asyncpg.Pool, **options: Any) -> int:
    async with pg.acquire() as conn:
        return await archive.move_out(conn, days=DAYS, now=NOW, **options)


async def someone(pg: asyncpg.Pool) -> int:
    """Another resident's email address: an event reaches each contact point once."""
    point = (await make_resident(pg)).email_id
    assert point is not None
    return point


async def counts(pg: asyncpg.Pool) -> dict[tuple[Any, ...], int]:
    found = await pg.fetch('select day, channel, purpose, status, event_id, reason, messages from notification_counts')
    return {tuple(row.values())[:-1]: row['messages'] for row in found}


async def remaining(pg: asyncpg.Pool) -> int:
    return int(await pg.fetchval('select count(*) from notifications'))


async def test_old_finished_messages_become_counts_and_everything_else_stays(pg: asyncpg.Pool, ann: Resident) -> None:
    event = (await record(pg, make_event())).event_id
    for _ in range(3):
        await message(pg, await someone(pg), 'delivered', ago(40), purpose='event', event_id=event)
    await message(pg, ann.sms_id, 'permanent-failure', ago(40), channel='sms', purpose='event', event_id=event,
                  last_error='The number does not exist')  # fmt: skip
    await pg.execute('update notifications set personal_data_removed_at = $1 where last_error is not null', ago(33))
    # a code whose personalisation retention has already forgotten
    code = await message(pg, ann.sms_id, 'delivered', ago(36), channel='sms', purpose='sign-in')
    # and what must stay: on its way however old, waiting for retention, too recent, finished too recently
    stays = [
        await message(pg, ann.email_id, 'sent', ago(90), completed=False),
        await message(pg, ann.email_id, 'pending', ago(90)),
        await message(pg, ann.email_id, 'delivered', ago(40), personalisation={'code': '482913'}),
        await message(pg, await someone(pg), 'delivered', ago(20), purpose='event', event_id=event),
    ]
    await pg.execute('update notifications set created_at = $2 where id = $1', stays[-1], ago(60))  # slow to finish

    assert await move_out(pg) == 5
    assert await remaining(pg) == len(stays)
    assert code not in {row['id'] for row in await pg.fetch('select id from notifications')}
    day = ago(40).date()  # created an hour before it finished, the same London day
    assert await counts(pg) == {
        (day, 'email', 'event', 'delivered', event, ''): 3,
        (day, 'sms', 'event', 'permanent-failure', event, 'The number does not exist'): 1,
        (ago(36).date(), 'sms', 'sign-in', 'delivered', 0, ''): 1,
    }
    assert await move_out(pg) == 0  # again: nothing moves, nothing is counted twice
    assert sum((await counts(pg)).values()) == 5


async def test_a_run_is_bounded_and_the_next_one_goes_on(pg: asyncpg.Pool, ann: Resident) -> None:
    for _ in range(5):
        await message(pg, ann.email_id, 'delivered', ago(50))
    assert await move_out(pg, batch=2, batches=2) == 4
    assert await move_out(pg, batch=2, batches=2) == 1
    assert await counts(pg) == {(ago(50).date(), 'email', 'notice', 'delivered', 0, ''): 5}


async def test_a_bulletins_report_adds_its_old_messages_and_says_they_are_summarised(
    pg: asyncpg.Pool, ann: Resident
) -> None:
    event = (await record(pg, make_event())).event_id
    await message(pg, ann.email_id, 'delivered', ago(40), purpose='event', event_id=event)
    await message(pg, ann.sms_id, 'delivered', ago(40), channel='sms', purpose='event', event_id=event)
    await message(pg, await someone(pg), 'delivered', ago(2), purpose='event', event_id=event)
    before = await reports.progress(pg, event)
    assert await move_out(pg) == 2
    after = await reports.progress(pg, event)
    assert (after.total, after.count('delivered'), after.by_channel) == (before.total, 3, before.by_channel)
    assert (before.summarised, after.summarised) == (0, 2)


async def test_a_case_page_keeps_its_old_updates_as_counts(pg: asyncpg.Pool, ann: Resident) -> None:
    first = make_event(source='fms', external_key='FMS-1', kind='case.update', topic='cases', case_reference='FMS-1')
    event = (await record(pg, first)).event_id
    await message(pg, ann.email_id, 'delivered', ago(40), purpose='event', event_id=event)
    await message(pg, ann.sms_id, 'temporary-failure', ago(40), channel='sms', purpose='event', event_id=event)
    await pg.execute('update notifications set personal_data_removed_at = $1', ago(30))
    case = (await case_queries.find(pg, 'FMS-1')).case
    assert case is not None
    assert len((await case_queries.details(pg, case)).messages) == 2
    assert await move_out(pg) == 2
    details = await case_queries.details(pg, case)
    assert (details.messages, details.older) == ([], {'delivered': 1, 'failed': 1})
    assert (await case_queries.as_json(pg, case))['older_messages'] == {'delivered': 1, 'failed': 1}


async def test_a_message_is_counted_on_the_london_day_it_was_created(pg: asyncpg.Pool, ann: Resident) -> None:
    # created at 23:30 UTC on 30 June: 00:30 on 1 July in London (BST), where the overview would count it
    await message(pg, ann.email_id, 'delivered', datetime(2026, 7, 1, 0, 30, tzinfo=UTC))
    assert await move_out(pg) == 1
    assert list(await counts(pg)) == [(date(2026, 7, 1), 'email', 'notice', 'delivered', 0, '')]
