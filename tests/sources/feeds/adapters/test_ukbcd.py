"""UKBinCollectionData JSON → one schedule event per property, on the scrapers' real outputs and their drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import pytest

from sources.events.ingest import decide
from sources.feeds.adapters import ADAPTERS
from sources.feeds.base import Page, Parsed, SourceError
from sources.feeds.polling import poll_source
from tests.support import FIXTURES
from tests.support.factories import make_resident, make_subscription
from tests.support.feeds import Doc, FeedServer, polled_twice

OUTPUTS = FIXTURES / 'bins' / 'ukbcd_outputs'
CONFIG = json.loads((FIXTURES / 'bins' / 'ukbcd_input_extract_2023.json').read_text())
NOW = datetime(2023, 7, 17, 9, 0, tzinfo=UTC)


def parse(body: bytes, options: dict[str, str] | None = None, *, url: str = 'https://bins.example/x') -> Parsed:
    adapter = ADAPTERS['ukbcd']
    return adapter.parse(
        Page(url, body), options if options is not None else {'uprn': '100010886949'}, source='bins-test', now=NOW
    )


def fixture(name: str) -> bytes:
    return (OUTPUTS / f'{name}.json').read_bytes()


@pytest.mark.parametrize(
    ('council', 'bin_types', 'first'),
    [
        ('BoltonCouncil', 4, ('Grey bin', '2023-07-18')),
        ('BristolCityCouncil', 5, ('180L General Waste', '2023-07-18')),
        ('CardiffCouncil', 4, ('Food', '2023-07-20')),
        ('CheshireEastCouncil', 3, ('Empty Standard General Waste', '2022-08-05')),
        ('GuildfordCouncil', 4, ('Refuse', '2023-08-28')),  # extra previousCollectionDate ignored
        ('MertonCouncil', 6, ('Rubbish', '2023-07-26')),  # bin_type instead of type
        ('HuntingdonDistrictCouncil', 3, ('Domestic', '2023-07-24')),  # "Monday 24 July 2023"
    ],
)
def test_every_real_output_loads_as_one_schedule(council: str, bin_types: int, first: tuple[str, str]) -> None:
    raw_uprn = CONFIG.get(council, {}).get('uprn', '000137547')
    parsed = parse(fixture(council), {'uprn': raw_uprn})

    assert parsed.rejected == []
    [event] = parsed.events
    assert (event.kind, event.topic) == ('bins.schedule', 'bins')
    assert event.external_key == f'uprn:{event.uprn}' and not event.uprn.startswith('0')
    dates = event.attributes['collection_dates']
    assert len(dates) == bin_types
    assert dates[first[0]][0] == first[1]


def test_bolton_uprn_with_its_address_is_reduced_to_the_number() -> None:
    [event] = parse(fixture('BoltonCouncil'), {'uprn': CONFIG['BoltonCouncil']['uprn']}).events
    assert event.uprn == '100010886949'
    assert event.attributes['collection_dates']['Grey bin'] == ['2023-07-18', '2023-08-01', '2023-08-15']
    assert 'Grey bin: Tue 18 Jul 2023, Tue 1 Aug 2023, Tue 15 Aug 2023.' in event.summary


def test_uprn_can_come_from_the_url() -> None:
    [event] = parse(fixture('CardiffCouncil'), {}, url='https://bins.example/api?uprn=000100100112419').events
    assert event.uprn == '100100112419'


def test_wigan_flat_shape_is_understood() -> None:
    body = json.dumps({'Black Bin': '2022-11-04T00:00:00', 'Blue Bin': '2022-11-11T00:00:00'}).encode()
    [event] = parse(body).events
    assert event.attributes['collection_dates'] == {'Black Bin': ['2022-11-04'], 'Blue Bin': ['2022-11-11']}


@pytest.mark.parametrize(
    'text', ['Tuesday - 11 Jul 2023', '11-Jul-23', '11 Jul 2023', 'Tue 11 Jul 2023', 'Tuesday 11th July 2023']
)
def test_date_styles_councils_publish(text: str) -> None:
    body = json.dumps({'bins': [{'type': 'Refuse', 'collectionDate': text}]}).encode()
    [event] = parse(body).events
    assert event.attributes['collection_dates'] == {'Refuse': ['2023-07-11']}


def test_polling_the_same_schedule_later_fingerprints_the_same() -> None:
    first = parse(fixture('CardiffCouncil')).events[0]
    later = ADAPTERS['ukbcd'].parse(
        Page('https://bins.example/x', fixture('CardiffCouncil')),
        {'uprn': '100010886949'},
        source='bins-test',
        now=datetime(2023, 7, 19, tzinfo=UTC),
    )
    assert later.events[0].fingerprint() == first.fingerprint()


def test_a_moved_date_is_news_against_the_previous_version_not_against_the_weekday() -> None:
    document = json.loads(fixture('BoltonCouncil'))
    before = parse(json.dumps(document).encode()).events[0]
    document['bins'][4]['collectionDate'] = '02/08/2023'  # Grey bin: Tuesday 1 Aug → Wednesday 2 Aug
    after = parse(json.dumps(document).encode()).events[0]
    # the adapter does not guess from weekdays: a lone schedule is a schedule ...
    assert (after.kind, 'moved' in after.attributes) == ('bins.schedule', False)
    # ... and recording it against the previous version's dates finds the move
    stored = {**before.model_dump(mode='json'), 'fingerprint': before.fingerprint()}
    outcome, version, changes = decide(stored, after)
    assert (outcome, version.kind) == ('changed', 'bins.changed')
    assert changes == [{'field': 'Grey bin', 'before': 'Tue 1 Aug', 'after': 'Wed 2 Aug'}]
    assert version.summary.startswith('Grey bin moved from Tue 1 Aug to Wed 2 Aug. Beige bin: Tue 25 Jul 2023')


def test_a_new_service_changes_the_fingerprint() -> None:
    document = json.loads(fixture('BristolCityCouncil'))
    before = parse(json.dumps(document).encode()).events[0]
    document['bins'].append({'type': 'Garden Waste', 'collectionDate': '25/07/2023'})
    after = parse(json.dumps(document).encode()).events[0]
    assert after.fingerprint() != before.fingerprint()
    assert after.attributes['bin_types'][-1] == 'Garden Waste'


# --- bad input ---------------------------------------------------------------------------------------------------


def test_truncated_json_is_a_clear_page_error() -> None:
    with pytest.raises(SourceError, match=r'not valid JSON \(truncated\?\).*line \d+ column \d+'):
        parse(fixture('BoltonCouncil')[:300])


def test_an_html_error_page_served_as_json_says_so() -> None:
    body = b'<!DOCTYPE html><html><head><title>Service unavailable</title></head><body>Sorry</body></html>'
    with pytest.raises(SourceError, match=r'HTML or XML, not UKBinCollectionData JSON \(an error or login page'):
        parse(body)


def test_a_non_utf8_page_says_where_the_byte_is_and_the_option_that_reads_it() -> None:
    body = json.dumps({'bins': [{'type': 'Déchets', 'collectionDate': '18/07/2023'}]}, ensure_ascii=False)
    with pytest.raises(
        SourceError, match=r'not utf-8-sig \(the first byte that does not fit is byte \d+, on line 1\).*encoding=cp1252'
    ):
        parse(body.encode('cp1252'))
    [event] = parse(body.encode('cp1252'), {'uprn': '1', 'encoding': 'cp1252'}).events
    assert list(event.attributes['collection_dates']) == ['Déchets']


def test_bad_and_duplicated_bins_are_rejected_by_number_and_the_good_ones_kept() -> None:
    body = json.dumps(
        {
            'bins': [
                {'type': 'Refuse', 'collectionDate': '18/07/2023'},
                {'type': 'Recycling', 'collectionDate': '31/02/2023'},
                {'collectionDate': '18/07/2023'},
                {'type': 'Refuse', 'collectionDate': '18/07/2023'},
                {'type': 'Food', 'collectionDate': '19/07/2023'},
            ]
        }
    ).encode()
    parsed = parse(body)
    assert [(r.where, r.reason) for r in parsed.rejected] == [
        ('bin 2', 'collectionDate: not a date (expected a day such as 24/07/2023, 24 Jul 2023 or 2024-11-08)'),
        ('bin 3', 'no bin type (looked for type, bin_type, binType, bin, name)'),
        ('bin 4', 'duplicate of bin 1 (the same on 18/07/2023)'),
    ]
    assert parsed.events[0].attributes['collection_dates'] == {'Food': ['2023-07-19'], 'Refuse': ['2023-07-18']}


def test_other_shapes_and_missing_uprn_are_page_errors() -> None:
    with pytest.raises(SourceError, match='not a UKBinCollectionData document'):
        parse(b'{"collections": []}')
    with pytest.raises(SourceError, match='at least one'):
        parse(b'{"bins": []}')
    with pytest.raises(SourceError, match='set --option uprn'):
        parse(fixture('BoltonCouncil'), {})
    with pytest.raises(SourceError, match='the UPRN is not one: a UPRN is a number of up to 12 digits'):
        parse(fixture('BoltonCouncil'), {'uprn': '12ab'})


# --- over real HTTP, through the framework and the pipeline --------------------------------------------------------


async def test_every_output_served_over_http_loads_once_and_a_moved_date_reaches_the_household(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    household = await make_resident(pg)
    await make_subscription(pg, household, kind='address', uprn='100010886949')
    for path in sorted(OUTPUTS.glob('*.json')):
        output = {f'/{path.name}': Doc(path.read_bytes(), content_type='application/json', etag=False)}
        raw_uprn = CONFIG.get(path.stem, {}).get('uprn', '000137547')
        first, again = await polled_twice(
            pg, feeds, f'bins-{path.stem.lower()}', 'ukbcd', output, options={'uprn': raw_uprn}, now=NOW
        )
        assert (first.outcome, first.counts['new'], first.counts['rejected']) == ('ok', 1, 0), path.name
        assert (again.counts['unchanged'], again.counts['new'], again.counts['changed']) == (1, 0, 0), path.name

    document = json.loads(fixture('BoltonCouncil'))
    document['bins'][4]['collectionDate'] = '02/08/2023'
    feeds.docs['/BoltonCouncil.json'] = Doc(json.dumps(document).encode(), content_type='application/json')
    moved = await poll_source(pg, 'bins-boltoncouncil', now=NOW)

    assert moved.counts['changed'] == 1
    latest = await pg.fetchrow(
        "select id, kind, changes from events where source = 'bins-boltoncouncil' and version = 2"
    )
    assert latest['kind'] == 'bins.changed'
    assert latest['changes'] == [{'field': 'Grey bin', 'before': 'Tue 1 Aug', 'after': 'Wed 2 Aug'}]
    sent = await pg.fetch('select event_id from notifications where contact_point_id = $1', household.email_id)
    assert latest['id'] in {row['event_id'] for row in sent} and len(sent) == 2
