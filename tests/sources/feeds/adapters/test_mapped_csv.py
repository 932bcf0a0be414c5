"""Council registers as CSV/JSON (planning-csv, licensing-csv, licensing-json): real fixtures served over HTTP,
polled into the pipeline, and the bad input real councils publish."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from sources.events.dates import parse_date
from sources.feeds.adapters import ADAPTERS
from sources.feeds.base import Page, SourceError
from sources.feeds.polling import poll_source
from tests.support import FIXTURES
from tests.support.factories import load_sample_postcodes, make_resident, make_subscription
from tests.support.feeds import Doc, FeedServer, add_served

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
IOM = FIXTURES / 'planning' / 'iom_planning_applications_weekly_sample.csv'
TRAFFORD = FIXTURES / 'licensing' / 'trafford_gambling_premises.csv'
IOM_MAPPING = {
    'map.key': 'PA Ref', 'map.summary': 'Details', 'map.received_date': 'Date', 'map.postcode': 'Details',
    'map.url': 'URL', 'map.authority': 'Local Authority', 'map.published_date': 'Pub Date',
}  # fmt: skip
TRAFFORD_MAPPING = {
    'map.key': 'name+address', 'map.title': '{activity}: {name}', 'map.premises_name': 'name',
    'map.activity': 'activity', 'map.address': 'address', 'map.postcode': 'postcode', 'map.ward': 'ward_name',
}  # fmt: skip


async def _events(pg: asyncpg.Pool, source: str) -> list[asyncpg.Record]:
    return await pg.fetch('select * from events where source = $1 order by external_key, version', source)


async def test_the_isle_of_man_weekly_list_loads_with_a_mapping_only(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    await load_sample_postcodes(pg)
    await add_served(pg, feeds, 'iom-planning', 'planning-csv', {'/weekly.csv': Doc(IOM.read_bytes())},
                     options=IOM_MAPPING)  # fmt: skip

    first = await poll_source(pg, 'iom-planning', now=NOW)
    assert (first.outcome, first.counts['new'], first.counts['rejected']) == ('ok', 25, 0), first.summary()
    events = await _events(pg, 'iom-planning')
    assert len(events) == 25
    sun_lounge = next(e for e in events if e['external_key'] == '24/91225/B')
    assert sun_lounge['kind'] == 'planning.new' and sun_lounge['topic'] == 'planning'
    assert sun_lounge['title'].startswith('Sun lounge extension including retaining wall')
    assert sun_lounge['attributes']['received_date'] == '2024-11-01'
    assert sun_lounge['attributes']['postcode'] == 'IM2 2EF'
    assert sun_lounge['attributes']['authority'] == 'DOUGLAS'
    assert sun_lounge['url'].endswith('ApplicationReferenceNumber=24/91225/B')
    # IM postcodes are not in the GB table: the events have their postcode but no coordinates
    assert all(e['lat'] is None and e['area_codes'] == [] for e in events)

    second = await poll_source(pg, 'iom-planning', now=NOW)
    assert second.outcome == 'not-modified'
    assert feeds.requests[-1][1].get('If-None-Match')
    feeds.docs['/weekly.csv'].etag = False  # a server without validators: the same data writes nothing either
    third = await poll_source(pg, 'iom-planning', now=NOW)
    assert (third.counts['new'], third.counts['changed'], third.counts['unchanged']) == (0, 0, 25)
    assert await pg.fetchval("select count(*) from events where source = 'iom-planning'") == 25


async def test_the_trafford_register_is_placed_from_the_postcode_table(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    await load_sample_postcodes(pg)
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0PA', radius_m=200, topics=['licensing'])
    await add_served(pg, feeds, 'trafford-licensing', 'licensing-csv', {'/gambling.csv': Doc(TRAFFORD.read_bytes())},
                     options=TRAFFORD_MAPPING)  # fmt: skip

    result = await poll_source(pg, 'trafford-licensing', now=NOW)
    assert (result.counts['new'], result.counts['rejected']) == (27, 0), result.summary()
    events = {e['attributes']['address']: e for e in await _events(pg, 'trafford-licensing')}
    chester_road = events['Betfred, 890 Chester Road, Stretford, Manchester']
    assert chester_road['title'] == 'Betting Shop: Done Brothers (Cash Betting) Limited'
    assert chester_road['kind'] == 'licensing.new'
    assert (chester_road['lat'], chester_road['lng']) == pytest.approx((53.453936, -2.299421))
    assert 'E08000009' in chester_road['area_codes']
    # the lat/lon columns are not mapped: every premises is placed from its postcode (all are in the sample table)
    assert all(e['lat'] is not None and e['area_codes'] for e in events.values())
    rows = await pg.fetch('select event_id from notifications where contact_point_id = $1', resident.email_id)
    assert chester_road['id'] in {row['event_id'] for row in rows}


LGA_HEADER = 'CaseReference,PremisesName,LocationText,Postcode,ServiceTypeLabel,CaseDate,StatusLabel\n'
LGA_ROWS = [
    'LIC/24/0001,The Bull,"1 Chester Road, Stretford",M32 0AH,Premises licence,01/10/2024,Pending\n',
    'LIC/24/0002,Corner Shop,"2 Barton Road, Stretford",M32 9BA,Premises licence,02/10/2024,Pending\n',
]


async def test_a_status_change_is_one_changed_event_that_reaches_a_subscriber(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    await load_sample_postcodes(pg)
    resident = await make_resident(pg)
    await make_subscription(pg, resident, near='M32 0AH', radius_m=300)
    await add_served(
        pg, feeds, 'lga-register', 'licensing-csv', {'/register.csv': Doc((LGA_HEADER + ''.join(LGA_ROWS)).encode())}
    )
    first = await poll_source(pg, 'lga-register', now=NOW)
    assert first.counts['new'] == 2, first.summary()

    feeds.docs['/register.csv'] = Doc((LGA_HEADER + LGA_ROWS[0].replace('Pending', 'Granted') + LGA_ROWS[1]).encode())
    second = await poll_source(pg, 'lga-register', now=NOW)
    assert (second.counts['new'], second.counts['changed'], second.counts['unchanged']) == (0, 1, 1)
    changed = await pg.fetchrow("select * from events where source = 'lga-register' and version = 2")
    assert changed['external_key'] == 'LIC/24/0001' and changed['kind'] == 'licensing.decided'
    assert {'field': 'status', 'before': 'Pending', 'after': 'Granted'} in changed['changes']
    outbox = await pg.fetch(
        'select status from notifications where event_id = $1 and contact_point_id = $2', changed['id'],
        resident.email_id,
    )  # fmt: skip
    assert [row['status'] for row in outbox] == ['pending']


def _parse(kind: str, body: bytes, options: dict[str, str], content_type: str | None = 'text/csv') -> Any:
    return ADAPTERS[kind].parse(Page('https://council.example/x', body, content_type), options, source='t', now=NOW)


def test_bad_records_are_rejected_with_their_line_and_the_rest_kept() -> None:
    body = (
        b'Ref,Proposal,Received,Postcode,Lat,Lng\n'
        b'A/1,Loft conversion,24/07/2023,M32 0AH,,\n'
        b'A/2,Rear extension,31/13/2024,M32 0AH,,\n'  # impossible date
        b',New shopfront,24/07/2023,M32 0AH,,\n'  # no key
        b'A/1,Loft conversion again,24/07/2023,M32 0AH,,\n'  # duplicate key
        b'A/3,Garage,Thu 26 Jul 2018,M32 0AH,0,0\n'  # impossible coordinates: kept, placed by postcode
        b'A/4,Porch,26-Aug-21,m320ah,-2.31,53.45\n'  # lat/lng swapped
    )
    options = {'map.key': 'Ref', 'map.summary': 'Proposal', 'map.received': 'Received', 'map.postcode': 'Postcode',
               'map.lat': 'Lat', 'map.lng': 'Lng'}  # fmt: skip
    parsed = _parse('planning-csv', body, options)
    assert [e.external_key for e in parsed.events] == ['A/1', 'A/3', 'A/4']
    reasons = {r.where: r.reason for r in parsed.rejected}
    assert reasons['line 3'] == 'Received: not a date (expected a day such as 24/07/2023, 24 Jul 2023 or 2024-11-08)'
    assert 'no key' in reasons['line 4']
    assert 'appears again (first on line 2)' in reasons['line 5']
    assert parsed.events[1].lat is None and any('line 6: the coordinates are not in the UK' in n for n in parsed.notes)
    assert (parsed.events[2].lat, parsed.events[2].lng) == (53.45, -2.31)
    assert parsed.events[2].attributes['postcode'] == 'M32 0AH'
    assert parsed.events[1].attributes['received_date'] == '2018-07-26'


def test_a_cp437_register_is_read_with_a_note() -> None:
    body = 'Ref,Premises,Postcode\nL/1,Caf\u00e9 Fran\u00e7ois,M32 0AH\n'.encode('cp437')
    parsed = _parse('licensing-csv', body, {'map.key': 'Ref', 'map.title': 'Premises', 'map.postcode': 'Postcode'})
    assert parsed.events[0].title == 'Café François'
    assert 'not UTF-8' in parsed.notes[0] and 'cp437' in parsed.notes[0]


def test_whole_page_problems_are_clear_errors() -> None:
    with pytest.raises(SourceError, match="no column 'PA Ref'"):
        _parse('planning-csv', b'Reference,Details\nX,Y\n', {'map.key': 'PA Ref'})
    with pytest.raises(SourceError, match='HTML'):
        _parse('planning-csv', b'<!DOCTYPE html><html><body>Error</body></html>', {'map.key': 'Ref'}, 'text/html')
    with pytest.raises(SourceError, match='not valid JSON .* truncated'):
        _parse('licensing-json', b'{"records": [{"ref": "A"}, {"ref": "B"', {'map.key': 'ref'}, 'application/json')
    with pytest.raises(SourceError, match='no key column'):
        _parse('planning-csv', b'Ref,Details\nX,Y\n', {})


def test_a_json_register_with_nested_records_and_geojson_points() -> None:
    document = {
        'type': 'FeatureCollection',
        'features': [
            {'type': 'Feature', 'geometry': {'type': 'Point', 'coordinates': [-2.31, 53.451]},
             'properties': {'ref': 'TEN/1', 'name': 'Summer fair', 'type': 'Variation of licence',
                            'hearing': '', 'ends': 'Monday 24 July 2023'}},
            {'type': 'Feature', 'geometry': None,
             'properties': {'ref': 'TEN/2', 'name': 'Beer festival', 'type': 'New', 'hearing': '2023-08-01',
                            'ends': '26-Aug-21'}},
        ],
    }  # fmt: skip
    options = {'map.key': 'properties.ref', 'map.title': 'properties.name', 'map.type': 'properties.type',
               'map.hearing_date': 'properties.hearing', 'map.comment_by': 'properties.ends'}  # fmt: skip
    parsed = _parse('licensing-json', json.dumps(document).encode(), options, 'application/json')
    assert [(e.external_key, e.kind) for e in parsed.events] == [
        ('TEN/1', 'licensing.variation'),
        ('TEN/2', 'licensing.hearing'),
    ]
    assert (parsed.events[0].lat, parsed.events[0].lng) == (53.451, -2.31)
    assert parsed.events[0].attributes['comment_by'] == '2023-07-24'
    assert parsed.events[1].attributes['hearing_date'] == '2023-08-01'


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('24/07/2023', date(2023, 7, 24)),
        ('Monday 24 July 2023', date(2023, 7, 24)),
        ('Tuesday - 11 Jul 2023', date(2023, 7, 11)),
        ('26-Aug-21', date(2021, 8, 26)),
        ('31 Oct 2024', date(2024, 10, 31)),
        ('Thu 26 Jul 2018', date(2018, 7, 26)),
        ('2024-11-08', date(2024, 11, 8)),
        ('2024-06-08T23:30:00Z', date(2024, 6, 9)),  # London date of a UTC time
        ('2024-11-08T10:00:00', date(2024, 11, 8)),
        ('', None),
    ],
)
def test_every_date_style_councils_use(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected
