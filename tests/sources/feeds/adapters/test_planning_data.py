"""planning.data.gov.uk entity JSON → planning events, with the WKT `point` read longitude first.

No real planning-application entities were found in public repositories, so these are invented entities written
to the dataset's specification (digital-land/specification planning-application.md; keys as the API returns them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from sources.feeds import polling, registry
from sources.feeds.adapters import ADAPTERS
from sources.feeds.base import Page, Parsed, SourceError
from sources.feeds.polling import poll_source
from tests.support.feeds import Doc, FeedServer, polled_twice

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
ADAPTER = ADAPTERS['planning-data']
URL = 'https://www.planning.data.gov.uk/entity.json?dataset=planning-application&organisation_entity=109&limit=2'


def entity(number: int, **fields: Any) -> dict[str, Any]:
    return {
        'entity': number,
        'name': '',
        'dataset': 'planning-application',
        'typology': 'geography',
        'reference': f'25/0{number % 1000}/FUL',
        'prefix': 'planning-application',
        'organisation-entity': '109',
        'entry-date': '2025-05-21',
        'start-date': '2025-05-19',
        'end-date': '',
        'point': 'POINT (-1.133036 53.522438)',
        'description': 'Change of use from shop to cafe.',
        'address-text': '3 High Street, Doncaster',
        'planning-application-status': 'registered',
        'planning-decision': '',
        'decision-date': '',
        'documentation-url': f'https://planning.doncaster.gov.uk/online-applications/{number}',
        **fields,
    }


def page(*entities: dict[str, Any], following: str | None = None) -> bytes:
    return json.dumps({'entities': list(entities), 'links': {'first': URL, 'next': following}, 'count': 3}).encode()


def parse(body: bytes) -> Parsed:
    return ADAPTER.parse(Page(URL, body), {}, source='doncaster-planning', now=NOW)


def test_entities_become_planning_events_with_the_point_the_right_way_round() -> None:
    parsed = parse(
        page(
            entity(10000000001),
            entity(10000000002, **{'planning-decision': 'approved', 'decision-date': '2025-05-30'}),
            entity(10000000003, **{'organisation-entity': 109, 'consultation-end-date': '2025-06-12'}),
        )
    )
    assert parsed.rejected == []
    new, decided, consultation = parsed.events
    assert (new.kind, new.external_key, new.topic) == ('planning.new', '10000000001', 'planning')
    assert (new.lat, new.lng) == (53.522438, -1.133036)
    assert new.title == 'Planning application 25/01/FUL at 3 High Street, Doncaster'
    assert new.summary == 'Change of use from shop to cafe.'
    assert (decided.kind, decided.attributes['decision'], decided.attributes['decided_date']) == (
        'planning.decided',
        'approved',
        '2025-05-30',
    )
    assert consultation.kind == 'planning.consultation' and consultation.attributes['organisation'] == '109'
    assert parsed.cursor == '2025-05-21'


def test_next_page_is_the_responses_own_link() -> None:
    following = URL + '&offset=2'
    first = Page(URL, page(entity(10000000001), following=following))
    assert ADAPTER.next_url(first, parse(first.body), {}) == following
    last = Page(following, page(entity(10000000004)))
    assert ADAPTER.next_url(last, parse(last.body), {}) is None


def test_bad_points_and_duplicates_are_named_and_the_good_entities_kept() -> None:
    parsed = parse(
        page(
            entity(10000000011, point='POLYGON ((0 0, 1 1, 1 0, 0 0))'),
            entity(10000000012, point='POINT (53.5 -1.1)'),  # latitude first: the Indian Ocean
            entity(10000000013, point=''),
            entity(10000000014),
            entity(10000000014, **{'entry-date': '2025-05-25', 'planning-decision': 'refused'}),
        )
    )
    assert [(r.where, r.reason) for r in parsed.rejected] == [
        ('entity 1 in the page', 'point is not a WKT POINT (longitude latitude)'),  # by position, not quoted
        (
            'entity 2 in the page',
            'the coordinates are not in Great Britain (latitude 49 to 61, longitude -9 to 2)',
        ),
        ('entity 3 in the page', 'no coordinates and no postcode: cannot place it on the map'),
        ('entity 5 in the page', 'appears more than once in this page; the latest entry is used'),
    ]
    [kept] = parsed.events
    assert kept.kind == 'planning.decided' and kept.attributes['decision'] == 'refused'


@pytest.mark.parametrize(
    ('body', 'message'),
    [
        (b'[]', 'no "entities" list'),
        (b'<!doctype html><title>Planning Data - Page not found</title>', 'HTML or XML'),
        (page(entity(10000000001))[:50], r'not valid JSON \(truncated\?\)'),
    ],
)
def test_unusable_pages_are_source_errors(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse(body)


# --- over real HTTP, through the framework and the pipeline --------------------------------------------------------


async def test_two_pages_over_http_load_once_and_a_decision_is_one_change(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    second_url = f'{feeds.url}/entity-page-2.json'
    pages = {
        '/entity.json': Doc(page(entity(10000000001), following=second_url), content_type='application/json',
                            etag=False),
        '/entity-page-2.json': Doc(page(entity(10000000002)), content_type='application/json', etag=False),
    }  # fmt: skip
    first, again = await polled_twice(pg, feeds, 'doncaster-planning', 'planning-data', pages, now=NOW)
    decided = entity(10000000002, **{'planning-decision': 'approved', 'decision-date': '2025-06-01'})
    feeds.docs['/entity-page-2.json'] = Doc(page(decided), content_type='application/json', etag=False)
    later = await poll_source(pg, 'doncaster-planning', now=NOW)

    assert (first.pages, first.counts['new'], again.counts['unchanged']) == (2, 2, 2)
    assert (later.counts['changed'], later.counts['unchanged']) == (1, 1)
    kinds = await pg.fetch("select kind from events where external_key = '10000000002' order by version")
    assert [row['kind'] for row in kinds] == ['planning.new', 'planning.decided']


async def test_a_next_link_to_another_site_or_a_local_file_is_not_followed(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    for n, elsewhere in enumerate(('http://169.254.169.254/latest/meta-data', 'file:///proc/self/environ')):
        path = f'/entity-{n}.json'
        feeds.docs[path] = Doc(page(entity(10000000100 + n), following=elsewhere), content_type='application/json',
                               etag=False)  # fmt: skip
        await registry.add_source(
            pg, name=f'tricky-{n}', kind='planning-data', url=f'{feeds.url}{path}', allow_internal=True
        )
        result = await poll_source(pg, f'tricky-{n}', now=NOW)
        assert result.outcome == 'failed'
        assert 'pointed to another site' in (result.error or '')


async def test_a_poll_cut_short_does_not_move_past_what_it_missed(
    pg: asyncpg.Pool, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds.docs['/long.json'] = Doc(page(entity(10000000201), following=f'{feeds.url}/long-2.json'),
                                   content_type='application/json')  # fmt: skip
    feeds.docs['/long-2.json'] = Doc(page(entity(10000000202)), content_type='application/json')
    await registry.add_source(
        pg, name='long-feed', kind='planning-data', url=f'{feeds.url}/long.json', allow_internal=True
    )
    monkeypatch.setattr(polling, 'MAX_PAGES', 1)  # the real cap is hundreds of pages; the rule is the same
    first = await poll_source(pg, 'long-feed', now=NOW)
    assert any('fetch these records again' in note for note in first.notes)
    stored = await pg.fetchrow("select cursor, etag from sources where name = 'long-feed'")
    assert stored['cursor'] is None and stored['etag'] is None  # so the next poll is a full one, not a 304
    monkeypatch.setattr(polling, 'MAX_PAGES', 200)
    second = await poll_source(pg, 'long-feed', now=NOW)
    assert second.outcome == 'ok' and second.counts['new'] == 1  # the page it missed
