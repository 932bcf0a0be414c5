"""Feeds nobody here wrote (issue 14 item 10): real public files — UKBinCollectionData outputs, a calendar made from
one, Open311 answers from Toronto and Chicago, Isle of Man planning lists — and what they showed.

- a calendar whose dates have all passed says so on the poll and raises the source's health alert;
- decorated bin names ("✅ Black bin", "Bin Collection: Food Waste & Recycling") stay the same bin;
- planning titles are not cut at "1no." or "Nos.";
- an Open311 request kept without a location is kept (a note), not "rejected"; an unusable updated_datetime
  falls back to requested_datetime;
- a scraper that puts the date under another key (Salford's `collectionTime`) still loads, saying which key;
- one schedule serves a whole collection round: every resident at its UPRNs hears and is reminded.

Every date is passed in: nothing here depends on today's date.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from sources.events.bin_types import bin_key, display_name
from sources.events.ingest import decide
from sources.events.schedules import schedule_changes
from sources.feeds import cli_report, health, registry
from sources.feeds.adapters import ADAPTERS
from sources.feeds.adapters.mapped_csv import _first_sentence
from sources.feeds.base import Page, Parsed, SourceError
from sources.feeds.polling import poll_source
from subscriptions.matching.reminders import queue_reminders
from tests.support import FIXTURES
from tests.support.factories import make_resident, make_subscription
from tests.support.feeds import Doc, FeedServer, add_served

BINS = FIXTURES / 'bins'
SALFORD = (BINS / 'ukbcd_outputs' / 'SalfordCityCouncil.json').read_bytes()  # dates under "collectionTime"
SALFORD_ICS = (BINS / 'ics' / 'salford_2023_from_ukbcd.ics').read_bytes()  # the same dates as a calendar
BOLTON = json.loads((BINS / 'ukbcd_outputs' / 'BoltonCouncil.json').read_text())
CASES = FIXTURES / 'cases' / 'open311status'
PLANNING = FIXTURES / 'planning'
JULY_2023 = datetime(2023, 7, 17, 9, 0, tzinfo=UTC)  # when the UKBCD outputs were scraped
AFTER_THE_CALENDAR = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)  # the Salford calendar's last collection: 1 Nov 2023
ROUND = ['100012345678', '100012345679', '100012345680']


def parse(kind: str, body: bytes, options: dict[str, str], now: datetime, url: str = 'https://feed.test/x') -> Parsed:
    return ADAPTERS[kind].parse(Page(url, body), options, source='wild', now=now)


def _json(body: object) -> Doc:
    return Doc(json.dumps(body).encode(), content_type='application/json', etag=False)


# --- a calendar whose dates have all passed ------------------------------------------------------------------------


def test_a_calendar_read_after_its_last_collection_says_so_and_records_nothing() -> None:
    during = parse('ical', SALFORD_ICS, {'uprn': '1', 'days': '400'}, JULY_2023)
    assert during.last_collection == date(2023, 11, 1) and during.notes == []
    [event] = during.events
    # "Bin Collection: " is not part of a bin's name
    names = [
        'Blue recycling (paper and card)',
        'Brown recycling (bottles and cans)',
        'Domestic waste',
        'Food and garden waste',
    ]
    assert sorted(event.attributes['collection_dates']) == names

    after = parse('ical', SALFORD_ICS, {'uprn': '1'}, AFTER_THE_CALENDAR)
    assert after.events == [] and after.rejected == []
    assert after.last_collection == date(2023, 11, 1)
    assert after.notes == [
        'no collections after 1 Nov 2023: every date listed has passed (a calendar that ran out?); nothing new to '
        'record until the council publishes new dates'
    ]


def test_a_quiet_window_is_not_a_calendar_that_ran_out() -> None:
    # read in June with a 2-week window: nothing in it, but the collections from 19 July are still to come
    june = parse('ical', SALFORD_ICS, {'uprn': '1', 'days': '14'}, datetime(2023, 6, 20, 9, 0, tzinfo=UTC))
    assert june.events == [] and june.last_collection == date(2023, 11, 1)
    assert june.notes == ['no collections in the window read; the next is on 19 Jul 2023']


def test_a_scraper_output_whose_dates_have_all_passed_says_so_too() -> None:
    parsed = parse('ukbcd', SALFORD, {'uprn': '1'}, AFTER_THE_CALENDAR)
    assert parsed.last_collection == date(2023, 11, 1)
    assert any(note.startswith('no collections after 1 Nov 2023') for note in parsed.notes)


async def test_a_calendar_that_ran_out_raises_one_staff_alert_closed_when_new_dates_come(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    staff = await make_resident(pg)
    await make_subscription(pg, staff, kind='topic', topics=[health.TOPIC])
    calendar = Doc(SALFORD_ICS, content_type='text/calendar', etag=False)
    await add_served(pg, feeds, 'salford-ics', 'ical', {'/bins.ics': calendar}, options={'uprn': '100012345678'})

    during = await poll_source(pg, 'salford-ics', now=JULY_2023)
    assert during.counts['new'] == 1 and during.alerts == []
    after = await poll_source(pg, 'salford-ics', now=AFTER_THE_CALENDAR)
    again = await poll_source(pg, 'salford-ics', now=AFTER_THE_CALENDAR + timedelta(hours=1))

    assert after.summary().startswith('salford-ics: 0 new, 0 changed, 0 unchanged, 0 rejected')
    assert any('no collections after 1 Nov 2023' in note for note in after.notes)
    assert len(after.alerts) == 1 and again.alerts == []  # one alert per incident, not one per poll
    alert = await pg.fetchrow("select * from events where topic = 'staff/source-health'")
    assert alert['title'] == 'Feed "salford-ics" has no collections after 1 Nov 2023'
    assert 'the last is Wednesday 1 November 2023' in alert['summary']
    told = await pg.fetchval('select count(*) from notifications where contact_point_id = $1 and event_id = $2',
                             staff.email_id, alert['id'])  # fmt: skip
    assert told == 1
    ran_out = await registry.get_source(pg, 'salford-ics')
    assert ran_out is not None and cli_report.state(ran_out, AFTER_THE_CALENDAR) == 'ENDED'
    stored = await pg.fetch("select version, attributes from events where source = 'salford-ics'")
    assert [row['version'] for row in stored] == [1]  # residents' schedule left as it was: no "no longer listed"
    assert stored[0]['attributes']['collection_dates']['Domestic waste'] == ['2023-07-19', '2023-08-09', '2023-08-30']

    # the council publishes next year's calendar at the same address: the same alert says so
    next_year = SALFORD_ICS.replace(b'DTSTART;VALUE=DATE:2023', b'DTSTART;VALUE=DATE:2024').replace(
        b'DTEND;VALUE=DATE:2023', b'DTEND;VALUE=DATE:2024'
    )
    feeds.docs['/bins.ics'] = Doc(next_year, content_type='text/calendar', etag=False)
    renewed = await poll_source(pg, 'salford-ics', now=AFTER_THE_CALENDAR + timedelta(days=180))
    assert len(renewed.alerts) == 1
    versions = await pg.fetch("select title from events where topic = 'staff/source-health' order by version")
    assert [v['title'] for v in versions] == ['Feed "salford-ics" has no collections after 1 Nov 2023',
                                             'Feed "salford-ics" lists collections again']  # fmt: skip
    source = await registry.get_source(pg, 'salford-ics')
    assert source is not None and source.ended_alert_at is None and source.last_collection_on == date(2024, 11, 1)


async def test_an_unchanged_calendar_with_an_etag_is_still_read_as_the_weeks_go_by(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    # the server would answer "not modified" (an ETag): a bin calendar is read whole anyway, or its window would stop
    # at the first poll's eight weeks and reminders would end with it
    await add_served(pg, feeds, 'cached-ics', 'ical', {'/bins.ics': Doc(SALFORD_ICS, content_type='text/calendar')},
                     options={'uprn': '100012345678'})  # fmt: skip
    assert (await poll_source(pg, 'cached-ics', now=JULY_2023)).alerts == []
    september = await poll_source(pg, 'cached-ics', now=datetime(2023, 9, 10, 9, 0, tzinfo=UTC))
    assert september.outcome == 'ok' and september.counts['changed'] == 1
    latest = await pg.fetchval("select attributes from events where source = 'cached-ics' order by version desc")
    assert '2023-09-20' in latest['collection_dates']['Domestic waste']
    later = await poll_source(pg, 'cached-ics', now=AFTER_THE_CALENDAR)
    assert later.outcome == 'ok' and len(later.alerts) == 1


# --- the same bin stays the same bin -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('raw', 'shown'),
    [
        ('✅ Black bin', 'Black bin'),
        ('Black Bin', 'Black Bin'),
        ('BLACK BIN', 'Black bin'),
        ('  Black   bin ', 'Black bin'),
        ('Bin Collection: Food Waste & Recycling', 'Food Waste & Recycling'),
        ('♻️ Recycling', 'Recycling'),
        ('🗑️ Refuse collection', 'Refuse'),
        ('Next collection - Garden Waste (Brown Bin)', 'Garden Waste (Brown Bin)'),
        ('Black bin (collected)', 'Black bin'),
        ('WEEE', 'WEEE'),  # short capitals are an abbreviation, kept
        ('Bin collection', 'Bin collection'),  # nothing but the prefix: kept as it is
    ],
)
def test_decorations_prefixes_case_and_spacing_leave_a_readable_name(raw: str, shown: str) -> None:
    assert display_name(raw) == shown
    assert bin_key(raw) == shown.casefold()


def test_a_scraper_ticking_off_past_collections_keeps_the_same_bins_week_to_week() -> None:
    ticked = {'bins': [{**item, 'type': f'✅ {item["type"]}'} if n < 2 else item
                       for n, item in enumerate(BOLTON['bins'])]}  # fmt: skip
    plain = parse('ukbcd', json.dumps(BOLTON).encode(), {'uprn': '1'}, JULY_2023).events[0]
    [event] = parse('ukbcd', json.dumps(ticked).encode(), {'uprn': '1'}, JULY_2023).events
    assert event.attributes['collection_dates'] == plain.attributes['collection_dates']
    previous = {**plain.model_dump(mode='json'), 'fingerprint': plain.fingerprint()}
    assert decide(previous, event)[0] == 'unchanged'


def test_versions_stored_under_another_spelling_of_a_bin_pair_with_the_new_one() -> None:
    before = {'Black Bin Day': ['2026-11-24', '2026-12-01'], 'GREEN BIN': ['2026-11-27']}
    after = {'Black Bin': ['2026-11-24', '2026-12-02'], 'Green bin': ['2026-11-27']}
    found = schedule_changes(before, after, date(2026, 11, 21))
    assert [sentence for _, sentence in found] == ['Black Bin moved from Tue 1 Dec to Wed 2 Dec.']


# --- planning titles -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('description', 'title'),
    [
        ('Construction of 1no. industrial unit to form a covered waste transfer station. Operational Service Centre',
         'Construction of 1no. industrial unit to form a covered waste transfer station'),
        ('Installation of 2 Nos. Velux windows to rear roof slope. 4 High St. Douglas',
         'Installation of 2 Nos. Velux windows to rear roof slope'),
        ('Erection of 3No. Dwellings with parking. Land at Mill Rd. Peel', 'Erection of 3No. Dwellings with parking'),
        ('Extension of approx. 25 sq. m. to rear. Flat 2', 'Extension of approx. 25 sq. m. to rear'),
        ('Works to trees e.g. Oak (T1) etc. Within the garden. 3 St. Marys Rd. Peel',
         'Works to trees e.g. Oak (T1) etc. Within the garden'),
    ],
)  # fmt: skip
def test_a_title_is_not_cut_at_planning_abbreviations(description: str, title: str) -> None:
    assert _first_sentence(description) == title


def test_real_isle_of_man_descriptions_give_their_first_sentence() -> None:
    body = (PLANNING / 'iom_planning_applications_weekly_2024_04_extract.csv').read_bytes()
    options = {'map.key': 'PA Ref', 'map.summary': 'Details', 'map.received_date': 'Date'}
    parsed = parse('planning-csv', body, options, JULY_2023)
    assert parsed.rejected == []
    assert {event.external_key: event.title for event in parsed.events} == {
        '24/00476/B': 'Conversion of former bank (class 1.2) to office (class 2.1) 11 - 12 St Pauls Square Ramsey '
                      'Isle Of Man IM8 1LE',
        '24/00457/B': 'Erection of external staircase and landing; replacement of window with glazed doors at first '
                      'floor level; Installation…',  # no sentence end before TITLE_LENGTH: cut at a word
        '24/00444/B': 'Form new entrance with entrance canopy',
        '24/00432/B': 'Increase the floor space of the previously approved Plant Room Extension, over two storeys by '
                      '72.9m2',
        '24/00445/B': 'Installation of 1 x 9-metre wooden telegraph pole with associated overhead wires',
    }  # fmt: skip


# --- Open311 records kept with a warning ---------------------------------------------------------------------------


def test_toronto_requests_without_a_british_place_are_kept_with_a_note_not_rejected() -> None:
    parsed = parse('open311', (CASES / 'requests_many.xml').read_bytes(), {}, JULY_2023)
    assert parsed.rejected == []
    assert [(e.case_reference, e.lat) for e in parsed.events] == [('101005420892', None), ('101005420894', None)]
    # no updated_datetime: dated by when it was requested
    assert {e.occurred_at for e in parsed.events} == {datetime(2018, 7, 30, 4, 1, tzinfo=UTC)}
    assert parsed.notes == [
        'records 1 and 2 kept without a location: lat/long is not a place in Great Britain (lat 49 to 61, long -9 '
        'to 2); their reporters still hear about them, neighbours near a place do not'
    ]


def test_an_unusable_updated_datetime_falls_back_to_requested_datetime() -> None:
    records = json.loads((CASES / 'service_requests.json').read_text())
    records[1]['updated_datetime'] = '12/07/2014 11:08'  # not W3C
    parsed = parse('open311', json.dumps(records).encode(), {}, JULY_2023)
    assert parsed.rejected == []
    by_ref = {e.case_reference: e for e in parsed.events}
    assert by_ref['14-01100669'].occurred_at == datetime(2014, 7, 12, 16, 8, 21, tzinfo=UTC)
    assert by_ref['14-01100627'].occurred_at == datetime(2014, 7, 12, 15, 48, 56, tzinfo=UTC)  # requested
    assert 'record 2 dated by requested_datetime: updated_datetime is not a W3C date-time' in parsed.notes
    records[1]['requested_datetime'] = 'yesterday'
    [rejected] = parse('open311', json.dumps(records).encode(), {}, JULY_2023).rejected
    assert rejected.where == 'record 2' and 'no requested_datetime to use' in rejected.reason


async def test_polled_the_toronto_requests_count_as_new_not_rejected(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    body = (CASES / 'requests_many.xml').read_bytes()
    await add_served(pg, feeds, 'toronto', 'open311', {'/requests.xml': Doc(body, content_type='text/xml')})
    result = await poll_source(pg, 'toronto', now=JULY_2023)
    assert (result.counts['new'], result.counts['rejected']) == (2, 0), result.summary()


# --- the date under another key ------------------------------------------------------------------------------------


def test_salford_dates_under_collection_time_load_and_the_key_is_named() -> None:
    parsed = parse('ukbcd', SALFORD, {'uprn': '1'}, JULY_2023)
    assert parsed.rejected == []
    [event] = parsed.events
    assert event.attributes['collection_dates']['Domestic waste'][:2] == ['2023-07-19', '2023-08-09']
    assert parsed.notes == [
        '24 bins had none of collectionDate, collection_date, date, nextCollectionDate: their date was read from '
        'collectionTime, the one key holding a date'
    ]


def test_a_key_that_does_not_look_like_a_field_name_is_not_repeated_and_two_dates_need_a_choice() -> None:
    odd = {'bins': [{'type': 'Refuse', 'Zx9-sEcReT-7fQ2': '18/07/2023'}]}
    parsed = parse('ukbcd', json.dumps(odd).encode(), {'uprn': '1'}, JULY_2023)
    assert 'Zx9' not in ' '.join(parsed.notes) and 'read from another key (not named here' in parsed.notes[0]

    two = {'bins': [{'type': 'Refuse', 'when': '18/07/2023', 'previous': '11/07/2023', 'time': '07:00'}]}
    [rejected] = parse('ukbcd', json.dumps(two).encode(), {'uprn': '1'}, JULY_2023).rejected
    assert rejected.reason == 'no collectionDate, and 2 other keys hold dates: say which with --option date_key=<key>'
    chosen = parse('ukbcd', json.dumps(two).encode(), {'uprn': '1', 'date_key': 'when'}, JULY_2023)
    assert chosen.events[0].attributes['collection_dates'] == {'Refuse': ['2023-07-18']} and chosen.notes == []


# --- one schedule for a whole round --------------------------------------------------------------------------------


def test_a_round_is_one_schedule_naming_every_property() -> None:
    options = {'uprns': ' 0100012345678, 100012345679\n100012345680,100012345679', 'round': 'WED-A'}
    [event] = parse('ical', SALFORD_ICS, options, JULY_2023).events
    assert (event.external_key, event.uprn, event.title) == ('round', None, 'Bin collections for round WED-A')
    assert event.attributes['uprns'] == ROUND
    with pytest.raises(SourceError, match='option uprns: entry 2 is not a UPRN'):
        parse('ukbcd', SALFORD, {'uprns': '1, flat 2'}, JULY_2023)
    with pytest.raises(SourceError, match='not both'):
        parse('ukbcd', SALFORD, {'uprns': '1', 'uprn': '2'}, JULY_2023)


async def test_every_resident_on_the_round_hears_of_a_move_and_is_reminded(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    residents = [await make_resident(pg) for _ in ROUND]
    for resident, uprn in zip(residents, ROUND, strict=True):
        await make_subscription(pg, resident, kind='address', uprn=uprn, topics=['bins'], remind_at='evening-before')
    elsewhere = await make_resident(pg)
    await make_subscription(pg, elsewhere, kind='address', uprn='100099999999', topics=['bins'])
    await add_served(pg, feeds, 'wed-a', 'ukbcd', {'/round.json': Doc(SALFORD, content_type='application/json')},
                     options={'uprns': ','.join(ROUND), 'round': 'WED-A'})  # fmt: skip
    assert (await poll_source(pg, 'wed-a', now=JULY_2023)).counts['new'] == 1

    # Wednesday 9 August's collections move to Thursday 10 August
    moved = json.loads(SALFORD)
    for item in moved['bins']:
        item['collectionTime'] = item['collectionTime'].replace('09/08/2023', '10/08/2023')
    feeds.docs['/round.json'] = _json(moved)
    result = await poll_source(pg, 'wed-a', now=JULY_2023)
    assert result.counts['changed'] == 1

    changed = await pg.fetchval("select id from events where source = 'wed-a' and kind = 'bins.changed'")
    told = await pg.fetch('select contact_point_id from notifications where event_id = $1', changed)
    assert {row['contact_point_id'] for row in told} == {r.email_id for r in residents}

    # the evening before Wednesday 19 July: every household on the round is reminded, no one else
    async with pg.acquire() as conn, conn.transaction():
        queued = await queue_reminders(conn, now=datetime(2023, 7, 18, 12, 0, tzinfo=UTC),
                                       public_url='https://tellme.example', secret=b'round-secret')  # fmt: skip
    assert len(queued.queued) == len(ROUND)
    reminded = await pg.fetch("select contact_point_id from notifications where purpose = 'reminder'")
    assert {row['contact_point_id'] for row in reminded} == {r.email_id for r in residents}
