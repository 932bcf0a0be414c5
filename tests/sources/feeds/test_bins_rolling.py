"""A bin schedule polled week after week over HTTP: the window of dates rolls forward, but only a change against
the previous version's dates is news — a moved collection, a new service, a service ended."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import asyncpg

from sources.feeds.adapters import ADAPTERS
from sources.feeds.base import Page
from sources.feeds.polling import poll_source
from tests.support.factories import make_resident, make_subscription, record
from tests.support.feeds import Doc, FeedServer, add_served

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # a Saturday
UPRN = '100012345678'


def _bins(first_tuesday: date, weeks: int = 4, *, moved: dict[date, date] | None = None, **extra: date) -> bytes:
    bins = []
    for week in range(weeks):
        day = first_tuesday + timedelta(weeks=week)
        bins.append({'type': 'Grey bin', 'collectionDate': f'{(moved or {}).get(day, day):%d/%m/%Y}'})
    for name, day in extra.items():
        bins.append({'type': name.replace('_', ' '), 'collectionDate': f'{day:%d/%m/%Y}'})
    return json.dumps({'bins': bins}).encode()


def _doc(body: bytes) -> Doc:
    return Doc(body, content_type='application/json', etag=False)


async def _versions(pg: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pg.fetch("select id, version, kind, summary, changes from events where source = 'bolton-bins' "
                          'order by version')  # fmt: skip


async def test_a_rolling_window_is_not_news_but_a_moved_date_is_one_change_that_says_from_and_to(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    household = await make_resident(pg)
    await make_subscription(pg, household, kind='address', uprn=UPRN)
    await add_served(pg, feeds, 'bolton-bins', 'ukbcd', {'/bins.json': _doc(_bins(date(2026, 11, 24)))},
                     query=f'?uprn={UPRN}')  # fmt: skip
    assert (await poll_source(pg, 'bolton-bins', now=NOW)).counts['new'] == 1

    # a week later the window has rolled on: 24 Nov is gone (collected), 15 Dec is new at the far end
    feeds.docs['/bins.json'] = _doc(_bins(date(2026, 12, 1)))
    rolled = await poll_source(pg, 'bolton-bins', now=NOW + timedelta(days=7))
    assert (rolled.counts['unchanged'], rolled.counts['changed']) == (1, 0)

    # then the collection of Tue 8 Dec moves to Wed 9 Dec
    moved_body = _bins(date(2026, 12, 1), moved={date(2026, 12, 8): date(2026, 12, 9)})
    feeds.docs['/bins.json'] = _doc(moved_body)
    moved = await poll_source(pg, 'bolton-bins', now=NOW + timedelta(days=7))
    again = await poll_source(pg, 'bolton-bins', now=NOW + timedelta(days=8))

    assert moved.counts['changed'] == 1 and again.counts['unchanged'] == 1
    versions = await _versions(pg)
    assert [(v['version'], v['kind']) for v in versions] == [(1, 'bins.schedule'), (2, 'bins.changed')]
    assert versions[1]['changes'] == [{'field': 'Grey bin', 'before': 'Tue 8 Dec', 'after': 'Wed 9 Dec'}]
    assert versions[1]['summary'].startswith('Grey bin moved from Tue 8 Dec to Wed 9 Dec.')
    sent = await pg.fetch('select event_id from notifications where contact_point_id = $1', household.email_id)
    assert versions[1]['id'] in {row['event_id'] for row in sent}


async def test_a_new_service_and_a_service_ended_are_news(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    await add_served(pg, feeds, 'bolton-bins', 'ukbcd', {'/bins.json': _doc(_bins(date(2026, 11, 24)))},
                     query=f'?uprn={UPRN}')  # fmt: skip
    await poll_source(pg, 'bolton-bins', now=NOW)

    garden = _bins(date(2026, 11, 24), Garden_waste=date(2026, 11, 27))
    feeds.docs['/bins.json'] = _doc(garden)
    added = await poll_source(pg, 'bolton-bins', now=NOW)
    feeds.docs['/bins.json'] = _doc(_bins(date(2026, 11, 24)))
    ended = await poll_source(pg, 'bolton-bins', now=NOW)

    assert (added.counts['changed'], ended.counts['changed']) == (1, 1)
    versions = await _versions(pg)
    assert versions[1]['changes'] == [{'field': 'Garden waste', 'before': None, 'after': 'first collection Fri 27 Nov'}]
    assert versions[2]['changes'] == [{'field': 'Garden waste', 'before': 'collected', 'after': 'no longer listed'}]
    assert versions[2]['summary'].startswith('Garden waste is no longer listed.')


def _event(body: bytes, now: datetime):  # type: ignore[no-untyped-def]
    page = Page(f'https://bins.example.gov.uk/?uprn={UPRN}', body)
    parsed = ADAPTERS['ukbcd'].parse(page, {}, source='bolton-bins', now=now)
    assert not parsed.rejected, parsed.rejected
    return parsed.events[0]


async def test_an_unchanged_schedule_still_keeps_its_dates_fresh(pg: asyncpg.Pool) -> None:
    first = await record(pg, _event(_bins(date(2026, 11, 24)), NOW))
    again = await record(pg, _event(_bins(date(2026, 12, 1)), NOW + timedelta(days=7)))
    assert again.outcome == 'unchanged' and again.event_id == first.event_id
    stored = await pg.fetchval('select attributes from events where id = $1', first.event_id)
    assert stored['collection_dates']['Grey bin'][0] == '2026-12-01'  # what reminders will read
