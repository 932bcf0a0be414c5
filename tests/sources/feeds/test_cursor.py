"""A cursor dated in the future (a feed's wrong clock, a typo in one record) never leaves a source stuck asking for
changes since a day that has not come: it is set back to a little before now, with a note on the poll."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import asyncpg

from sources.feeds.polling import poll_source
from tests.support.feeds import Doc, FeedServer, add_served, planit_page, planit_record

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)


async def _asked_since(pg: asyncpg.Pool) -> str:
    url = await pg.fetchval("select validated_url from sources where name = 'planit'")  # the first page's URL
    return parse_qs(urlsplit(url).query)['changed_start'][0]


async def test_a_record_changed_in_the_future_does_not_stop_the_next_polls(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    typo = planit_record('116002/FUL/25', last_changed='2205-05-29T09:00:00')  # 2205 for 2025
    page = Doc(planit_page(planit_record('116001/HHA/25'), typo), content_type='application/json')
    await add_served(pg, feeds, 'planit', 'planit', {'/api/applics/json': page}, query='?auth=Trafford')

    first = await poll_source(pg, 'planit', now=NOW)
    assert first.counts['new'] == 2
    assert await pg.fetchval("select cursor from sources where name = 'planit'") == '2025-06-02T06:50:00+00:00'
    [note] = await pg.fetchval('select notes from source_polls order by id desc limit 1')
    # the time as read (UK time), not the feed's text
    assert note == ("the feed's newest change time, 2205-05-29T09:00:00+01:00, is in the future (a wrong clock or a "
                    'typo in the feed?): reading changes since 2025-06-02T06:50:00+00:00 instead')  # fmt: skip

    await poll_source(pg, 'planit', now=NOW.replace(day=3))
    assert await _asked_since(pg) == '2025-06-02'  # not 2205-05-29


async def test_a_cursor_already_stored_in_the_future_is_clamped_at_the_next_poll(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    page = Doc(planit_page(planit_record('116001/HHA/25')), content_type='application/json')
    await add_served(pg, feeds, 'planit', 'planit', {'/api/applics/json': page}, query='?auth=Trafford')
    await pg.execute("update sources set cursor = '2031-01-01T00:00:00Z' where name = 'planit'")

    result = await poll_source(pg, 'planit', now=NOW)
    assert result.outcome == 'ok' and result.counts['new'] == 1
    assert await _asked_since(pg) == '2025-06-02'
    assert any(
        note.startswith('the stored cursor, 2031-01-01T00:00:00+00:00, is in the future') for note in result.notes
    )
    assert await pg.fetchval("select cursor from sources where name = 'planit'") == '2025-05-28T10:12:00'
