"""PlanIt JSON (`records` envelope, `changed_start` polling) → planning events at each stage.

PlanIt's records are not openly licensed, so these are invented records written to PlanIt's data dictionary
(field names and value styles as PlanIt documents them), not copies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from sources.feeds import registry
from sources.feeds.adapters import ADAPTERS
from sources.feeds.base import Page, Parsed, SourceError
from sources.feeds.polling import poll_source
from tests.support.factories import load_sample_postcodes, make_resident, make_subscription
from tests.support.feeds import Doc, FeedServer, planit_page, planit_record, polled_twice

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
ADAPTER = ADAPTERS['planit']
URL = 'https://www.planit.org.uk/api/applics/json?auth=Trafford&changed_start=2025-05-19&pg_sz=500'


def parse(body: bytes, url: str = URL) -> Parsed:
    return ADAPTER.parse(Page(url, body), {}, source='planit-trafford', now=NOW)


def test_each_stage_of_an_application_is_its_own_kind() -> None:
    parsed = parse(
        planit_page(
            planit_record('115001/HHA/25'),
            planit_record(
                '115002/FUL/25',
                other_fields={
                    'consultation_end_date': '2025-06-19',
                    'comment_url': 'https://pa.trafford.gov.uk/online-applications/comment/115002',
                },
            ),
            planit_record('115003/FUL/25', app_type='Amendment', other_fields={'status': 'Amended plans received'}),
            planit_record('115004/HHA/25', app_state='Permitted', decided_date='2025-05-30'),
            planit_record('115005/FUL/24', app_state='Rejected', other_fields={'appeal_status': 'Appeal lodged'}),
        )
    )

    assert parsed.rejected == []
    kinds = {event.attributes['reference']: event.kind for event in parsed.events}
    assert kinds == {
        '115001/HHA/25': 'planning.new',
        '115002/FUL/25': 'planning.consultation',
        '115003/FUL/25': 'planning.amended',
        '115004/HHA/25': 'planning.decided',
        '115005/FUL/24': 'planning.appeal',
    }
    consultation = parsed.events[1]
    assert consultation.attributes['comment_by'] == '2025-06-19'
    assert consultation.attributes['comment_url'].endswith('/comment/115002')
    decided = parsed.events[3]
    assert decided.attributes['decision'] == 'Permitted' and decided.attributes['decided_date'] == '2025-05-30'
    first = parsed.events[0]
    assert (first.external_key, first.topic, first.lat, first.lng) == (
        'Trafford/115001/HHA/25',
        'planning',
        53.4479,
        -2.3553,
    )
    assert first.title == 'Planning application 115001/HHA/25 at 14 Church Road, Urmston, Manchester'
    assert str(first.url).startswith('https://pa.trafford.gov.uk/')
    assert first.occurred_at.isoformat() == '2025-05-28T10:12:00+01:00'  # PlanIt's zone-less times are UK time


def test_a_decision_changes_the_fingerprint_and_a_repoll_does_not() -> None:
    pending = parse(planit_page(planit_record('115010/HHA/25'))).events[0]
    again = parse(planit_page(planit_record('115010/HHA/25'))).events[0]
    decided = parse(
        planit_page(planit_record('115010/HHA/25', app_state='Permitted', decided_date='2025-06-01'))
    ).events[0]
    assert again.fingerprint() == pending.fingerprint()
    assert decided.fingerprint() != pending.fingerprint()
    assert (pending.attributes['status'], decided.attributes['decision']) == ('Registered', 'Permitted')


def test_cursor_is_the_newest_change_and_the_next_poll_asks_from_its_day() -> None:
    parsed = parse(
        planit_page(
            planit_record('1/A', last_changed='2025-05-28T10:12:00'),
            planit_record('2/A', last_changed='2025-05-31T23:30:00'),
            planit_record('3/A', last_changed='2025-05-30T08:00:00'),
        )
    )
    assert parsed.cursor == '2025-05-31T23:30:00'
    url = ADAPTER.first_url('https://www.planit.org.uk/api/applics/json?auth=Trafford', {}, parsed.cursor, NOW)
    assert parse_qs(urlsplit(url).query) == {'auth': ['Trafford'], 'changed_start': ['2025-05-31'], 'pg_sz': ['500']}
    first_ever = ADAPTER.first_url('https://www.planit.org.uk/api/applics/json?auth=Trafford', {}, None, NOW)
    assert parse_qs(urlsplit(first_ever).query)['changed_start'] == ['2025-05-19']


def test_paging_follows_from_and_to_until_total() -> None:
    page = Page(URL, planit_page(planit_record('1/A'), planit_record('2/A'), total=5))
    assert parse_qs(urlsplit(ADAPTER.next_url(page, parse(page.body), {})).query)['index'] == ['2']
    last = Page(URL + '&index=4', planit_page(planit_record('5/A'), total=5, start=4))
    assert ADAPTER.next_url(last, parse(last.body), {}) is None


def test_no_coordinates_falls_back_to_the_postcode() -> None:
    [event] = parse(planit_page(planit_record('7/A', location_x=None, location_y=None))).events
    assert event.lat is None and event.attributes['postcode'] == 'M41 9EH'


def test_impossible_coordinates_use_the_postcode_or_reject_the_record_by_position() -> None:
    parsed = parse(
        planit_page(
            planit_record('8/A', location_x=0.0, location_y=0.0),
            planit_record('9/A', location_x=0.0, location_y=0.0, postcode=''),
            planit_record('10/A'),
        )
    )
    placed = parsed.events[0]
    assert placed.lat is None and placed.attributes['postcode'] == 'M41 9EH'
    assert placed.attributes['location_note'] == (
        'the coordinates are not in Great Britain (latitude 49 to 61, longitude -9 to 2); placed by postcode'
    )
    assert [(r.where, r.reason) for r in parsed.rejected] == [
        ('record 2', 'the coordinates are not in Great Britain (latitude 49 to 61, longitude -9 to 2)')
    ]
    assert [e.external_key for e in parsed.events] == ['Trafford/8/A', 'Trafford/10/A']


def test_duplicates_and_broken_records_are_named_and_the_good_ones_kept() -> None:
    parsed = parse(
        planit_page(
            planit_record('20/A', last_changed='2025-05-28T10:00:00'),
            planit_record('20/A', last_changed='2025-05-29T10:00:00', app_state='Withdrawn'),
            {'uid': '21/A'},
            planit_record('22/A', decided_date='30/05/2025'),
            planit_record('23/A', url='javascript:alert(1)'),
            planit_record('24/A'),
        )
    )
    assert [(r.where, r.reason) for r in parsed.rejected] == [
        ('record 2', 'appears more than once in this page; the latest change is used'),
        ('record 3', 'no name, and no uid with area_name, to identify the application'),
        ('record 4', 'decided_date is not a YYYY-MM-DD date'),  # by position, without the value it held
        ('record 5', "url: URL scheme should be 'http' or 'https'"),
    ]
    assert [(e.external_key, e.kind) for e in parsed.events] == [
        ('Trafford/20/A', 'planning.decided'),
        ('Trafford/24/A', 'planning.new'),
    ]


@pytest.mark.parametrize(
    ('body', 'message'),
    [
        (b'{"error": "Too many requests"}', 'no "records" list'),
        (b'<html><head><title>502 Bad Gateway</title></head></html>', r'HTML or XML, not PlanIt JSON \(an error'),
        (planit_page(planit_record('1/A'))[:-40], r'not valid JSON \(truncated\?\)'),
        (b'', 'page is empty'),
    ],
)
def test_unusable_pages_are_source_errors(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse(body)


# --- over real HTTP, through the framework and the pipeline --------------------------------------------------------


async def test_pages_served_over_http_reach_a_neighbour_and_a_decision_is_one_change(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    await load_sample_postcodes(pg)
    neighbour = await make_resident(pg)
    await make_subscription(pg, neighbour, near='M32 0AH', radius_m=300)
    nearby = planit_record('116001/HHA/25', address='1 Chester Road, Stretford', postcode='M32 0AH',
                    location_x=None, location_y=None)  # fmt: skip
    far = planit_record('116002/FUL/25')  # Urmston, 3 km away
    page = Doc(planit_page(nearby, far), content_type='application/json', etag=False)
    first, again = await polled_twice(
        pg, feeds, 'planit-trafford', 'planit', {'/api/applics/json': page}, query='?auth=X', now=NOW
    )
    nearby.update(app_state='Permitted', decided_date='2025-06-01', last_changed='2025-06-01T09:00:00')
    feeds.docs['/api/applics/json'] = Doc(planit_page(nearby, far), content_type='application/json', etag=False)
    decided = await poll_source(pg, 'planit-trafford', now=NOW)

    assert (first.counts['new'], again.counts['unchanged'], decided.counts['changed']) == (2, 2, 1)
    rows = await pg.fetch(
        'select id, version, kind, lat, changes from events where external_key = $1 order by version',
        'Trafford/116001/HHA/25',
    )
    assert [(r['version'], r['kind']) for r in rows] == [(1, 'planning.new'), (2, 'planning.decided')]
    assert rows[0]['lat'] == pytest.approx(53.451258)  # placed from its postcode
    assert ('decision', None, 'Permitted') in {(c['field'], c['before'], c['after']) for c in rows[1]['changes']}
    sent = await pg.fetch('select event_id from notifications where contact_point_id = $1', neighbour.email_id)
    assert sorted(row['event_id'] for row in sent) == [rows[0]['id'], rows[1]['id']]
    source = await registry.get_source(pg, 'planit-trafford')
    assert source is not None and source.cursor == '2025-06-01T09:00:00'
