"""Recording events: new, changed (with what changed) and unchanged, and fanning out in the same transaction."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from sources.events.ingest import Ingested, ingest
from sources.events.models import Change, Event
from tests.support.factories import make_event, make_resident, make_subscription, place, record


async def _counts(pg: asyncpg.Pool) -> tuple[int, int]:
    row = await pg.fetchrow('select (select count(*) from events) as e, (select count(*) from notifications) as n')
    return row['e'], row['n']


async def test_first_sight_is_version_1_and_fans_out(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg, sms=True)
    await make_subscription(pg, resident, near='M32 0PA', radius_m=2000)

    ingested = await record(pg, make_event(external_key='104220/HHA/24'))

    assert (ingested.version, ingested.outcome, ingested.matched) == (1, 'new', 2)
    stored = await pg.fetchrow('select * from events where id = $1', ingested.event_id)
    assert (stored['source'], stored['external_key'], stored['version']) == ('trafford-planning', '104220/HHA/24', 1)
    assert stored['matched_count'] == 2 and stored['matched_at'] is not None


async def test_the_same_record_again_writes_nothing(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0PA', radius_m=2000)
    event = make_event()
    first = await record(pg, event)
    before = await _counts(pg)

    again = await record(pg, event.model_copy(update={'area_codes': []}))  # not a meaningful field

    assert (again.event_id, again.version, again.outcome, again.matched) == (first.event_id, 1, 'unchanged', 0)
    assert await _counts(pg) == before


async def test_a_changed_record_is_a_new_version_that_says_what_changed(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0PA', radius_m=2000)
    first = make_event(
        attributes={'status': 'validated', 'comment_by': '2026-12-04', 'application_type': 'Householder'}
    )
    await record(pg, first)

    decided = first.model_copy(
        update={
            'kind': 'planning.decided',
            'attributes': {'status': 'decided', 'comment_by': '2026-12-11', 'application_type': 'Householder',
                           'decision': 'Approved with conditions'},
        }
    )  # fmt: skip
    ingested = await record(pg, decided)

    assert (ingested.version, ingested.outcome, ingested.matched) == (2, 'changed', 1)
    stored = await pg.fetchrow('select kind, changes from events where id = $1', ingested.event_id)
    assert stored['kind'] == 'planning.decided'
    assert stored['changes'] == [
        {'field': 'comment_by', 'before': '2026-12-04', 'after': '2026-12-11'},
        {'field': 'decision', 'before': None, 'after': 'Approved with conditions'},
        {'field': 'status', 'before': 'validated', 'after': 'decided'},
    ]
    # the resident hears about the new version too (one outbox row per event version)
    assert await pg.fetchval('select count(*) from notifications') == 2

    moved = decided.model_copy(update={'lat': place('M32 0PA').lat, 'lng': place('M32 0PA').lng, 'title': 'Revised'})
    third = await record(pg, moved)
    changes = await pg.fetchval('select changes from events where id = $1', third.event_id)
    assert {c['field'] for c in changes} == {'title', 'location'}
    assert third.version == 3


async def test_changes_the_source_reported_are_kept(pg: asyncpg.Pool) -> None:
    first = make_event()
    await record(pg, first)
    second = first.model_copy(
        update={'summary': 'Amended plans.', 'changes': [Change(field='plans', before='v1', after='v2')]}
    )
    ingested = await record(pg, second)
    changes = await pg.fetchval('select changes from events where id = $1', ingested.event_id)
    assert [c['field'] for c in changes] == ['summary', 'plans']


async def test_ingest_needs_the_callers_transaction(pg: asyncpg.Pool) -> None:
    async with pg.acquire() as conn:
        with pytest.raises(RuntimeError, match='inside a transaction'):
            await ingest(conn, make_event())
    assert await _counts(pg) == (0, 0)


async def test_a_failure_after_recording_leaves_nothing_behind(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0PA', radius_m=2000)
    with pytest.raises(ZeroDivisionError):
        async with pg.acquire() as conn, conn.transaction():
            await ingest(conn, make_event())
            _ = 1 / 0
    assert await _counts(pg) == (0, 0)


async def test_two_ingests_of_the_same_news_at_once_record_it_once(pg: asyncpg.Pool) -> None:
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0PA', radius_m=2000)
    event = make_event()
    async with pg.acquire() as first, pg.acquire() as second:
        tx = first.transaction()
        await tx.start()
        one = await ingest(first, event)
        racing = asyncio.create_task(_ingest_in_transaction(second, event))
        await asyncio.sleep(0.2)  # the second waits on the first's uncommitted version 1
        assert not racing.done()
        await tx.commit()
        other = await racing
    assert (one.outcome, other.outcome) == ('new', 'unchanged')
    assert await _counts(pg) == (1, 1)


async def _ingest_in_transaction(conn: asyncpg.Connection, event: Event) -> Ingested:
    async with conn.transaction():
        return await ingest(conn, event)
