"""iCalendar bin calendars → one schedule per property, RRULEs expanded by recurring-ical-events."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import asyncpg
import pytest

from sources.feeds.adapters import ADAPTERS
from sources.feeds.base import Page, Parsed, SourceError
from sources.feeds.polling import poll_source
from tests.support import FIXTURES
from tests.support.factories import make_resident, make_subscription
from tests.support.feeds import Doc, FeedServer, add_served, polled_twice

RRULE_ICS = (FIXTURES / 'bins' / 'ics' / 'hacs_recurring_rrule.ics').read_bytes()
ADAPTER = ADAPTERS['ical']
OPTIONS = {'uprn': '010093942934', 'address': '5 Acacia Avenue'}

# A WasteWorks-style calendar (invented): weekly black bin on Mondays, the one after Christmas moved to Tuesday.
MOVED_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Example Council//Waste//EN\r
BEGIN:VEVENT\r
UID:black-42@waste.example.gov.uk\r
DTSTAMP:20251101T000000Z\r
SUMMARY:Black Bin Day\r
DTSTART;VALUE=DATE:20251201\r
DTEND;VALUE=DATE:20251202\r
RRULE:FREQ=WEEKLY;BYDAY=MO\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:black-42@waste.example.gov.uk\r
DTSTAMP:20251101T000000Z\r
RECURRENCE-ID;VALUE=DATE:20251229\r
SUMMARY:Black Bin Day (Changed Collection)\r
DTSTART;VALUE=DATE:20251230\r
DTEND;VALUE=DATE:20251231\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:garden-42@waste.example.gov.uk\r
DTSTAMP:20251101T000000Z\r
SUMMARY:Garden waste collection\r
DTSTART;VALUE=DATE:20251210\r
DTEND;VALUE=DATE:20251211\r
RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;UNTIL=20260131\r
EXDATE;VALUE=DATE:20251224\r
END:VEVENT\r
END:VCALENDAR\r
"""


def parse(body: bytes, now: datetime, options: dict[str, str] | None = None) -> Parsed:
    return ADAPTER.parse(
        Page('https://waste.example.gov.uk/waste/42/calendar.ics', body),
        OPTIONS if options is None else options,
        source='bins-ics',
        now=now,
    )


def test_the_rrule_fixture_expands_fortnightly_weekly_and_monthly_rules() -> None:
    parsed = parse(RRULE_ICS, datetime(2020, 5, 1, 8, 0, tzinfo=UTC), {**OPTIONS, 'days': '35'})

    assert parsed.rejected == []
    [event] = parsed.events
    assert (event.kind, event.uprn, event.external_key) == ('bins.schedule', '10093942934', 'uprn:10093942934')
    assert event.title == 'Bin collections at 5 Acacia Avenue'
    assert event.attributes['collection_dates'] == {
        'Encombrants': ['2020-05-22'],  # FREQ=MONTHLY;INTERVAL=2;BYDAY=4FR from 22 May
        'Poubelle jaune': ['2020-05-14', '2020-05-28'],  # FREQ=WEEKLY;INTERVAL=2;BYDAY=TH from 2 April
        'Poubelle marron (matin)': ['2020-05-01', '2020-05-08', '2020-05-15', '2020-05-22', '2020-05-29'],
        'Poubelle verte': ['2020-05-04', '2020-05-11', '2020-05-18', '2020-05-25', '2020-06-01'],
    }


def test_an_occurrence_the_calendar_moved_is_listed_with_where_it_moved_from() -> None:
    [event] = parse(MOVED_ICS, datetime(2025, 12, 20, 18, 0, tzinfo=UTC), {**OPTIONS, 'days': '28'}).events

    # news or not is decided against the previous version when it is recorded (sources/events/schedules.py)
    assert event.kind == 'bins.schedule'
    assert event.attributes['collection_dates'] == {
        'Black Bin': ['2025-12-22', '2025-12-30', '2026-01-05', '2026-01-12'],
        'Garden waste': ['2026-01-07'],  # 24 December is an EXDATE
    }
    assert event.attributes['moved'] == [
        {
            'type': 'Black Bin',
            'date': '2025-12-30',
            'date_text': 'Tuesday 30 December',
            'usual_day': 'Monday',
            'from_date': '2025-12-29',
        }
    ]
    assert 'Black Bin moved to Tuesday 30 December (usually Monday).' in event.summary


def test_the_same_calendar_polled_again_the_same_day_fingerprints_the_same() -> None:
    morning = parse(MOVED_ICS, datetime(2025, 12, 20, 7, 0, tzinfo=UTC)).events[0]
    evening = parse(MOVED_ICS, datetime(2025, 12, 20, 21, 0, tzinfo=UTC)).events[0]
    assert morning.fingerprint() == evening.fingerprint()


def test_a_calendar_with_nothing_in_the_window_is_no_news() -> None:
    ended = MOVED_ICS.replace(b'BYDAY=MO\r', b'BYDAY=MO;UNTIL=20260330\r')
    parsed = parse(ended, datetime(2027, 1, 1, tzinfo=UTC))
    assert parsed.events == [] and parsed.rejected == []


def test_an_event_without_a_summary_is_rejected_and_the_rest_kept() -> None:
    body = MOVED_ICS.replace(b'SUMMARY:Garden waste collection\r\n', b'')
    parsed = parse(body, datetime(2025, 12, 20, 18, 0, tzinfo=UTC), {**OPTIONS, 'days': '28'})
    assert {(r.where, r.reason) for r in parsed.rejected} == {('event 3', 'no SUMMARY to say which bin')}  # by place
    assert list(parsed.events[0].attributes['collection_dates']) == ['Black Bin']


@pytest.mark.parametrize(
    ('body', 'options', 'message'),
    [
        (b'<html><title>Not found</title></html>', OPTIONS, 'not an iCalendar file: it starts with HTML'),
        (MOVED_ICS[:400], OPTIONS, 'truncated: no END:VCALENDAR'),
        (b'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n', OPTIONS, 'calendar has no events'),
        (MOVED_ICS.replace(b'Black', 'Bl\u00e9'.encode('cp1252')), OPTIONS, r'byte \d+, on line 7\).*encoding=cp1252'),
        (MOVED_ICS, {}, 'set --option uprn'),
        (MOVED_ICS, {**OPTIONS, 'days': '5000'}, r"days='5000': give a whole number from 1 to 400"),
    ],
)
def test_unusable_calendars_are_source_errors(body: bytes, options: dict[str, str], message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse(body, datetime(2025, 12, 20, tzinfo=UTC), options)


WEEKLY_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Example Council//Waste//EN\r
BEGIN:VEVENT\r
UID:refuse-7@waste.example.gov.uk\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Refuse\r
DTSTART;VALUE=DATE:20260302\r
RRULE:FREQ=WEEKLY;BYDAY=MO\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:recycling-7@waste.example.gov.uk\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Recycling\r
DTSTART;VALUE=DATE:20260304\r
RRULE:FREQ=WEEKLY;BYDAY=WE\r
END:VEVENT\r
END:VCALENDAR\r
"""
EASTER_WEEK = datetime(2026, 4, 1, tzinfo=UTC)  # Easter Monday is 6 April 2026 in England and Wales


def test_without_a_bank_holiday_rule_the_calendar_is_taken_as_published() -> None:
    [event] = parse(WEEKLY_ICS, EASTER_WEEK, {**OPTIONS, 'days': '14'}).events
    assert event.kind == 'bins.schedule'
    assert event.attributes['collection_dates']['Refuse'] == ['2026-04-06', '2026-04-13']


def test_slip_rule_moves_the_rest_of_a_bank_holiday_week_a_day_later() -> None:
    [event] = parse(WEEKLY_ICS, EASTER_WEEK, {**OPTIONS, 'days': '15', 'bank_holidays': 'slip'}).events
    assert event.attributes['collection_dates'] == {
        'Recycling': ['2026-04-01', '2026-04-09', '2026-04-15'],
        'Refuse': ['2026-04-07', '2026-04-13'],
    }
    assert [(m['type'], m['from_date'], m['date']) for m in event.attributes['moved']] == [
        ('Refuse', '2026-04-06', '2026-04-07'),
        ('Recycling', '2026-04-08', '2026-04-09'),
    ]
    assert 'Refuse moved to Tuesday 7 April (usually Monday).' in event.summary


def test_next_day_rule_moves_only_the_collection_on_the_holiday() -> None:
    [event] = parse(WEEKLY_ICS, EASTER_WEEK, {**OPTIONS, 'days': '15', 'bank_holidays': 'next_day'}).events
    assert event.attributes['collection_dates']['Refuse'] == ['2026-04-07', '2026-04-13']
    assert event.attributes['collection_dates']['Recycling'] == ['2026-04-01', '2026-04-08', '2026-04-15']


def test_a_date_the_calendar_moved_itself_is_not_shifted_again() -> None:
    [event] = parse(
        MOVED_ICS, datetime(2025, 12, 20, tzinfo=UTC), {**OPTIONS, 'days': '28', 'bank_holidays': 'slip'}
    ).events
    assert event.attributes['collection_dates']['Black Bin'][:2] == ['2025-12-22', '2025-12-30']


def test_an_unknown_bank_holiday_rule_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="bank_holidays='always': give none, slip or next_day"):
        parse(WEEKLY_ICS, EASTER_WEEK, {**OPTIONS, 'bank_holidays': 'always'})


# --- over real HTTP, through the framework and the pipeline --------------------------------------------------------


async def test_a_calendar_served_over_http_loads_once_and_a_published_move_reaches_the_household(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    household = await make_resident(pg)
    await make_subscription(pg, household, kind='address', uprn='10093942934')
    rrule_new, rrule_again = await polled_twice(
        pg, feeds, 'bins-rrule', 'ical', {'/recurring.ics': Doc(RRULE_ICS, content_type='text/calendar', etag=False)},
        options=OPTIONS, now=datetime(2020, 5, 1, tzinfo=UTC), later=datetime(2020, 5, 1, 18, 0, tzinfo=UTC),
    )  # fmt: skip
    assert (rrule_new.counts['new'], rrule_again.counts['unchanged']) == (1, 1)

    weekly = {'/waste/42/calendar.ics': Doc(WEEKLY_ICS, content_type='text/calendar', etag=False)}
    await add_served(pg, feeds, 'bins-ww', 'ical', weekly, options={**OPTIONS, 'days': '14'})
    first = await poll_source(pg, 'bins-ww', now=EASTER_WEEK)
    moved_body = WEEKLY_ICS.replace(
        b'END:VCALENDAR',
        b'BEGIN:VEVENT\r\nUID:refuse-7@waste.example.gov.uk\r\nDTSTAMP:20260101T000000Z\r\n'
        b'RECURRENCE-ID;VALUE=DATE:20260406\r\nSUMMARY:Refuse\r\nDTSTART;VALUE=DATE:20260407\r\nEND:VEVENT\r\n'
        b'END:VCALENDAR',
    )
    feeds.docs['/waste/42/calendar.ics'] = Doc(moved_body, content_type='text/calendar', etag=False)
    moved = await poll_source(pg, 'bins-ww', now=EASTER_WEEK)

    assert (first.counts['new'], moved.counts['changed']) == (1, 1)
    latest = await pg.fetchrow(
        "select id, kind, attributes, changes from events where source = 'bins-ww' and version = 2"
    )
    assert latest['kind'] == 'bins.changed'
    assert latest['attributes']['moved'][0]['from_date'] == '2026-04-06'
    assert latest['changes'] == [{'field': 'Refuse', 'before': 'Mon 6 Apr', 'after': 'Tue 7 Apr'}]
    sent = await pg.fetch('select event_id from notifications where contact_point_id = $1', household.email_id)
    assert latest['id'] in {row['event_id'] for row in sent}


def test_a_series_that_cannot_be_expanded_is_rejected_by_position_and_the_others_kept() -> None:
    broken = WEEKLY_ICS.replace(b'DTSTART;VALUE=DATE:20260302', b'DTSTART;VALUE=DATE:2026030')
    parsed = parse(broken, EASTER_WEEK, {**OPTIONS, 'days': '15'})
    [rejected] = parsed.rejected
    assert rejected.where == 'event 1'  # its place in the calendar, not its UID
    assert rejected.reason.startswith('could not be expanded: its dates or repeat rule are not valid')
    assert '2026030' not in rejected.reason  # what the calendar said is not repeated back
    assert parsed.events[0].attributes['collection_dates'] == {'Recycling': ['2026-04-01', '2026-04-08', '2026-04-15']}


def test_a_rule_repeating_every_second_is_refused_not_expanded() -> None:
    from sources.feeds.adapters import ADAPTERS
    from sources.feeds.base import Page, SourceError

    body = (
        b'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:flood@example\r\n'
        b'DTSTART:20261124T070000Z\r\nRRULE:FREQ=SECONDLY\r\nSUMMARY:Grey bin\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n'
    )
    page = Page('https://bins.example.gov.uk/cal.ics?uprn=100012345678', body, 'text/calendar')
    with pytest.raises(SourceError, match='repeats secondly'):
        ADAPTERS['ical'].parse(page, {}, source='cal', now=datetime(2026, 11, 21, tzinfo=UTC))


def _calendar(*events: str) -> bytes:
    body = ''.join(
        f'BEGIN:VEVENT\r\nUID:secret-uid-{n}@example\r\nSUMMARY:Grey bin {n}\r\n{event}END:VEVENT\r\n'
        for n, event in enumerate(events)
    )
    return f'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n'.encode()


EVERY_MINUTE = 'BYHOUR=' + ','.join(map(str, range(24))) + ';BYMINUTE=' + ','.join(map(str, range(60)))


@pytest.mark.parametrize(
    ('events', 'days', 'message'),
    [
        # passes the FREQ check, yet 1,440 a day: 576,000 occurrences in 400 days
        ([f'DTSTART:20261101T000000Z\r\nRRULE:FREQ=DAILY;{EVERY_MINUTE}\r\n'], '400',
         'event 1 repeats 1440 times a day'),
        # two rules on one event: twice a day, more occurrences than days in the window
        (['DTSTART:20261101T070000Z\r\nRRULE:FREQ=DAILY;BYHOUR=7\r\nRRULE:FREQ=DAILY;BYHOUR=8\r\n'], '56',
         r'event 1 happens \d+ times in the 56 days read: more than once a day'),
        # each is daily, but together more than a calendar may hold in one poll
        (['DTSTART;VALUE=DATE:20261101\r\nRRULE:FREQ=DAILY\r\n'] * 13, '400', 'more than 5000 collections'),
        # a daily rule started long ago is expanded from its start: a runaway before the window is reached
        (['DTSTART;VALUE=DATE:19000101\r\nRRULE:FREQ=DAILY\r\n'] * 30, '56', 'start too long ago'),
    ],
)  # fmt: skip
def test_a_calendar_that_would_expand_into_too_many_occurrences_is_refused_quickly(
    events: list[str], days: str, message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match=message) as refused:
        parse(_calendar(*events), datetime(2026, 11, 21, tzinfo=UTC), {**OPTIONS, 'days': days})
    assert time.monotonic() - started < 2, 'refused before expanding, not after'
    assert 'secret-uid' not in str(refused.value) and 'Grey bin' not in str(refused.value), 'no feed content quoted'
