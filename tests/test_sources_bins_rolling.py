"""A bin schedule polled week after week: the window of dates rolls forward, but only a change is news."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import asyncpg

from sources.adapters import ADAPTERS
from sources.base import Page
from tests.factories import record

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _schedule(first_tuesday: date, weeks: int = 4, moved_to: date | None = None) -> Page:
    bins = []
    for week in range(weeks):
        day = first_tuesday + timedelta(weeks=week)
        if moved_to is not None and week == 1:
            day = moved_to
        bins.append({'type': 'Grey bin', 'collectionDate': f'{day:%d/%m/%Y}'})
    return Page('https://bins.example.gov.uk/?uprn=100012345678', json.dumps({'bins': bins}).encode())


def _event(page: Page, now: datetime):  # type: ignore[no-untyped-def]
    parsed = ADAPTERS['ukbcd'].parse(page, {}, source='bolton-bins', now=now)
    assert not parsed.rejected, parsed.rejected
    return parsed.events[0]


async def test_the_next_weeks_dates_are_not_a_change_but_a_moved_collection_is(pg: asyncpg.Pool) -> None:
    this_week = _event(_schedule(date(2026, 11, 24)), NOW)
    assert (await record(pg, this_week)).outcome == 'new'

    next_week = _event(_schedule(date(2026, 12, 1)), NOW + timedelta(days=7))
    assert (await record(pg, next_week)).outcome == 'unchanged'

    # Christmas: one collection moves from Tuesday to Wednesday
    moved = _event(_schedule(date(2026, 12, 22), moved_to=date(2026, 12, 30)), NOW + timedelta(days=28))
    result = await record(pg, moved)
    assert result.outcome == 'changed'
    assert moved.kind == 'bins.changed'


async def test_an_unchanged_schedule_still_keeps_its_dates_fresh(pg: asyncpg.Pool) -> None:
    first = await record(pg, _event(_schedule(date(2026, 11, 24)), NOW))
    again = await record(pg, _event(_schedule(date(2026, 12, 1)), NOW + timedelta(days=7)))
    assert again.outcome == 'unchanged' and again.event_id == first.event_id
    stored = await pg.fetchval('select attributes from events where id = $1', first.event_id)
    assert stored['collection_dates']['Grey bin'][0] == '2026-12-01'  # what reminders will read
