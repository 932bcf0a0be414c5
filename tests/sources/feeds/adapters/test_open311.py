"""Open311 GeoReport v2 (XML and JSON) and FixMyStreet's service request updates → case.status events."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from aiohttp import web

from sources.feeds import registry
from sources.feeds.adapters import ADAPTERS
from sources.feeds.base import Page, Parsed, SourceError
from sources.feeds.polling import poll_source
from tests.support import FIXTURES
from tests.support.factories import make_resident, make_subscription
from tests.support.feeds import Doc, FeedServer, polled_twice

CASES = FIXTURES / 'cases' / 'open311_cfa_gem'
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
ADAPTER = ADAPTERS['open311']


def parse(body: bytes, options: dict[str, str] | None = None) -> Parsed:
    url = 'https://council.example/open311/v2/requests.json'
    return ADAPTER.parse(Page(url, body), options or {}, source='cases-test', now=NOW)


def request(reference: str, status: str, updated: str = '2025-03-03T10:15:00Z', **extra: object) -> dict:
    return {
        'service_request_id': reference,
        'status': status,
        'service_name': 'Pothole',
        'service_code': 'PH1',
        'requested_datetime': '2025-03-01T09:00:00Z',
        'updated_datetime': updated,
        'address': '12 Barton Road, Stretford',
        'lat': 53.4465,
        'long': -2.3151,
        **extra,
    }


UPDATES = b"""<?xml version="1.0" encoding="utf-8"?>
<service_requests_updates>
  <request_update>
    <update_id>901</update_id><service_request_id>FMS-1001</service_request_id><status>INVESTIGATING</status>
    <updated_datetime>2025-03-04T09:00:00+00:00</updated_datetime><description>An inspector will visit.</description>
    <media_url></media_url><external_status_code></external_status_code>
  </request_update>
  <request_update>
    <update_id>907</update_id><service_request_id>FMS-1001</service_request_id><status>ACTION_SCHEDULED</status>
    <updated_datetime>2025-03-06T16:30:00+00:00</updated_datetime><description>Repair booked for Monday.</description>
  </request_update>
  <request_update>
    <update_id>911</update_id><service_request_id>FMS-1002</service_request_id><status>OPEN</status>
    <updated_datetime>2025-03-07T08:00:00+00:00</updated_datetime><description>Please send a photo.</description>
    <external_status_code>WAIT-CUST</external_status_code>
  </request_update>
</service_requests_updates>
"""


def test_the_gem_sample_requests_become_one_case_each_with_stage_and_cursor() -> None:
    parsed = parse((CASES / 'service_requests.xml').read_bytes())

    by_ref = {event.case_reference: event for event in parsed.events}
    assert set(by_ref) == {'638344', '638349'}
    closed, opened = by_ref['638344'], by_ref['638349']
    assert (closed.kind, closed.topic, closed.external_key) == ('case.status', 'cases', '638344')
    assert closed.attributes['stage'] == 'closed' and closed.attributes['notes'] == 'Duplicate request.'
    # the stage by its name and the note, each once; the feed's own word kept beside them
    assert closed.summary == 'Duplicate request.' and closed.attributes['status'] == 'Closed'
    assert closed.attributes['service_status'] == 'closed'
    assert opened.attributes['stage'] == 'received'
    assert opened.title == 'Sidewalk and Curb Issues (638349) at 8TH AVE and JUDAH ST'
    assert parsed.cursor == '2010-04-19T14:37:38+00:00'
    # San Francisco is not in Great Britain: the cases are kept, their location is not, and the source is told.
    assert closed.lat is None and opened.lat is None
    # a warning, not a rejection: the poll counts them as kept (issue 14 item 10)
    assert parsed.rejected == []
    assert parsed.notes == [
        'records 1 and 2 kept without a location: lat/long is not a place in Great Britain (lat 49 to 61, long -9 '
        'to 2); their reporters still hear about them, neighbours near a place do not'
    ]


def test_the_same_in_json_with_a_british_location() -> None:
    body = json.dumps([request('2025-0042', 'open', zipcode='M32 0PA')]).encode()
    [event] = parse(body, {'case_url': 'https://www.fixmystreet.com/report/{id}'}).events
    assert (event.lat, event.lng) == (53.4465, -2.3151)
    assert str(event.url) == 'https://www.fixmystreet.com/report/2025-0042'
    assert 'postcode' not in event.attributes  # coordinates already given


def test_a_case_without_coordinates_carries_its_postcode_for_the_framework() -> None:
    body = json.dumps([request('2025-0043', 'open', lat='', long='', zipcode='m32 0pa')]).encode()
    [event] = parse(body).events
    assert event.lat is None and event.attributes['postcode'] == 'M32 0PA'


def test_fixmystreet_updates_keep_the_latest_per_case_and_map_extended_statuses() -> None:
    parsed = parse(UPDATES, {'code.WAIT-CUST': 'need_info'})

    assert parsed.rejected == []
    by_ref = {event.case_reference: event for event in parsed.events}
    assert by_ref['FMS-1001'].attributes['stage'] == 'action_scheduled'
    assert by_ref['FMS-1001'].summary == 'Repair booked for Monday.'
    assert by_ref['FMS-1001'].attributes['status'] == 'Action scheduled'
    assert by_ref['FMS-1002'].attributes['stage'] == 'need_info'
    assert by_ref['FMS-1002'].summary == 'Please send a photo.'
    assert by_ref['FMS-1002'].attributes['status'] == 'We need something from you'
    assert parsed.cursor == '2025-03-07T08:00:00+00:00'


def test_a_status_change_changes_the_fingerprint_and_a_repoll_does_not() -> None:
    first = parse(json.dumps([request('77', 'open')]).encode()).events[0]
    again = parse(json.dumps([request('77', 'open')]).encode()).events[0]
    closed = parse(json.dumps([request('77', 'closed', '2025-03-08T10:00:00Z')]).encode()).events[0]
    assert again.fingerprint() == first.fingerprint()
    assert closed.fingerprint() != first.fingerprint()


def test_an_unknown_status_is_rejected_with_how_to_map_it_and_the_rest_kept() -> None:
    body = json.dumps([request('80', 'WAITING_FOR_CUSTOMER', '2025-03-03T10:15:00Z'),
                       request('81', 'closed', '2025-03-04T09:00:00Z')]).encode()  # fmt: skip
    parsed = parse(body)
    assert [event.case_reference for event in parsed.events] == ['81']
    [rejected] = parsed.rejected
    assert rejected.where == 'record 1'  # by place and time: the feed's own words are not repeated back
    assert rejected.reason.startswith(
        'its status is not in the status mapping: add it (--option status.<its status>=<stage>; stages: received, '
        'assessing'
    )
    assert 'waiting' not in rejected.reason.lower() and 'Pothole' not in rejected.reason
    assert rejected.reason.endswith('the cursor stays at 2025-03-03T10:15:00+00:00, so this update is read again')
    # the cursor does not move past the refused update, though a later one was read
    assert parsed.cursor == '2025-03-03T10:15:00+00:00'

    mapped = parse(body, {'status.WAITING_FOR_CUSTOMER': 'need_info'})
    assert mapped.events[0].attributes['stage'] == 'need_info'
    assert mapped.cursor == '2025-03-04T09:00:00+00:00'


def test_a_mapping_to_a_stage_that_does_not_exist_is_a_source_error() -> None:
    with pytest.raises(SourceError, match=r"option status.pending='waiting': not a stage \(stages: received"):
        parse(b'[]', {'status.pending': 'waiting'})


def test_duplicated_and_broken_records_are_named_and_the_good_ones_kept() -> None:
    body = json.dumps(
        [
            request('90', 'open', '2025-03-02T10:00:00Z'),
            request('90', 'closed', '2025-03-05T10:00:00Z'),
            {'status': 'open'},
            request('91', 'open', 'last Tuesday'),
            'nonsense',
            request('92', 'open', lat=91.5),
        ]
    ).encode()
    parsed = parse(body)
    # record 4's updated_datetime is unusable: it is dated by its requested_datetime instead (issue 14 item 10)
    assert {(e.case_reference, e.attributes['stage']) for e in parsed.events} == {
        ('90', 'closed'), ('91', 'received'), ('92', 'received')
    }  # fmt: skip
    assert [(r.where, r.reason) for r in parsed.rejected] == [
        ('record 2', 'it appears more than once in this page; the latest is used'),
        ('record 3', 'no service_request_id'),
        ('record 5', 'a string, not an object'),
    ]
    assert parsed.notes == [
        'record 6 kept without a location: lat/long is not a place in Great Britain (lat 49 to 61, long -9 to 2); '
        'their reporters still hear about them, neighbours near a place do not',
        'record 4 dated by requested_datetime: updated_datetime is not a W3C date-time',
    ]


@pytest.mark.parametrize(
    ('body', 'message'),
    [
        ((CASES / 'get_service_request_not_found.xml').read_bytes(), r'an Open311 error list \(1 error\) instead'),
        (b'[{"code": 403, "description": "Invalid api_key"}]', r'error list \(1 error\).*jurisdiction_id and api_key'),
        (b'<!DOCTYPE html><html><title>Down for maintenance</title></html>', 'HTML, not Open311 XML'),
        ((CASES / 'service_requests.xml').read_bytes()[:700], 'not well-formed XML'),
        (b'[{"service_request_id": "1", "status": "op', r'not valid JSON \(truncated\?\)'),
        (
            '<?xml version="1.0" encoding="utf-8"?><service_requests><request><address>Caf\u00e9'.encode('latin-1'),
            r'says it is utf-8 but byte 77, on line 1, is not; set --option encoding=cp1252',
        ),
        ((CASES / 'services.xml').read_bytes(), 'the root element is not service_requests'),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><service_requests/>', 'must not carry a DOCTYPE'),
        ('[{"service_request_id": "é"}]'.encode('latin-1'), 'the first byte that does not fit is byte 25, on line 1'),
    ],
)
def test_unusable_pages_are_source_errors_that_say_why(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse(body)


def test_a_mislabelled_xml_encoding_can_be_overridden() -> None:
    body = (CASES / 'service_requests.xml').read_text().replace('8TH AVE', 'Caf\u00e9 Row').encode('latin-1')
    with pytest.raises(SourceError, match=r'says it is utf-8 but byte \d+, on line 15, is not'):
        parse(body)
    parsed = parse(body, {'encoding': 'latin-1'})
    assert parsed.events[0].title == 'Sidewalk and Curb Issues (638344) at Caf\u00e9 Row and JUDAH ST'


def test_an_empty_answer_is_no_news_not_an_error() -> None:
    parsed = parse((CASES / 'service_requests_empty.xml').read_bytes())
    assert parsed.events == [] and parsed.rejected == [] and parsed.cursor is None


def test_polling_window_from_the_cursor_to_now() -> None:
    base = 'https://council.example/open311/v2/servicerequestupdates.xml?jurisdiction_id=trafford'
    first = ADAPTER.first_url(base, {}, None, NOW)
    query = parse_qs(urlsplit(first).query)
    assert query == {
        'jurisdiction_id': ['trafford'],
        'start_date': ['2025-03-03T12:00:00+00:00'],
        'end_date': ['2025-03-10T12:00:00+00:00'],
    }
    resumed = ADAPTER.first_url(base, {}, '2025-03-07T08:00:00+00:00', NOW)
    assert parse_qs(urlsplit(resumed).query)['start_date'] == ['2025-03-07T08:00:00+00:00']

    page = Page(first, UPDATES)
    parsed = ADAPTER.parse(page, {}, source='cases-test', now=NOW)
    assert ADAPTER.next_url(page, parsed, {}) is None  # 3 updates < a full page of 1000: the window is read
    assert parsed.cursor == '2025-03-07T08:00:00+00:00'


def test_a_full_page_is_not_used_but_narrowed_and_a_one_second_window_cannot_be() -> None:
    base = 'https://council.example/open311/v2/servicerequestupdates.xml'
    first = ADAPTER.first_url(base, {}, '2025-03-01T00:00:00Z', NOW)
    page = Page(first, UPDATES)
    parsed = ADAPTER.parse(page, {'page_size': '3'}, source='cases-test', now=NOW)
    assert parsed.events == [] and parsed.cursor == '2025-03-01T00:00:00+00:00'
    narrower = parse_qs(urlsplit(ADAPTER.next_url(page, parsed, {'page_size': '3'}) or '').query)
    # oldest-first: narrowed to just below the newest seen, so the narrower window holds only what was seen
    assert (narrower['start_date'], narrower['end_date']) == (['2025-03-01T00:00:00+00:00'],
                                                              ['2025-03-06T16:30:00+00:00'])  # fmt: skip
    assert narrower['tellme_request'] == ['2']

    one_second = f'{base}?start_date=2025-03-04T09:00:00Z&end_date=2025-03-04T09:00:01Z'
    parsed = ADAPTER.parse(Page(one_second, UPDATES), {'page_size': '3'}, source='cases-test', now=NOW)
    assert len(parsed.events) == 2 and 'some updates in that second may be missing' in parsed.notes[0]


# --- over real HTTP, through the framework and the pipeline --------------------------------------------------------


async def test_a_case_update_served_over_http_reaches_the_reporter_once(pg: asyncpg.Pool, feeds: FeedServer) -> None:
    reporter = await make_resident(pg)
    await make_subscription(pg, reporter, kind='case', case_source='fms-cases', case_reference='FMS-1001')
    updates = {'/open311/v2/servicerequestupdates.xml': Doc(UPDATES, content_type='text/xml', etag=False)}
    first, again = await polled_twice(
        pg, feeds, 'fms-cases', 'open311', updates, options={'code.WAIT-CUST': 'need_info'}, now=NOW
    )
    feeds.docs['/open311/v2/servicerequestupdates.xml'] = Doc(
        UPDATES.replace(b'<status>ACTION_SCHEDULED</status>', b'<status>FIXED</status>'),
        content_type='text/xml',
        etag=False,
    )
    fixed = await poll_source(pg, 'fms-cases', now=NOW)

    assert (first.counts['new'], again.counts['unchanged'], again.counts['new']) == (2, 2, 0)
    assert (fixed.counts['changed'], fixed.counts['unchanged']) == (1, 1)
    [path, _] = feeds.requests[0]
    assert path == '/open311/v2/servicerequestupdates.xml'
    versions = await pg.fetch(
        "select id, version, changes from events where source = 'fms-cases' and external_key = 'FMS-1001' "
        'order by version'
    )
    assert [v['version'] for v in versions] == [1, 2]
    changes = {c['field']: (c['before'], c['after']) for c in versions[1]['changes']}
    assert changes['stage'] == ('action_scheduled', 'resolved')
    sent = await pg.fetch(
        'select event_id from notifications where contact_point_id = $1 order by event_id', reporter.email_id
    )
    assert [row['event_id'] for row in sent] == [versions[0]['id'], versions[1]['id']]


# --- paging against a server that filters by window, sorts its own way and caps its pages --------------------------


class Open311Server:
    """Answers requests.json like a real Open311 server: the updates in [start_date, end_date], sorted its way,
    at most `cap` of them."""

    def __init__(self, updates: list[dict], *, order: str, cap: int) -> None:
        self.updates, self.order, self.cap = updates, order, cap
        self.windows: list[tuple[str, str]] = []

    async def __call__(self, http_request: web.Request) -> web.Response:
        start, end = http_request.query['start_date'], http_request.query['end_date']
        self.windows.append((start, end))
        inside = [u for u in self.updates if _at(start) <= _at(u['updated_datetime']) <= _at(end)]
        if self.order == 'shuffled':
            random.Random(len(self.windows)).shuffle(inside)
        else:
            inside.sort(key=lambda u: _at(u['updated_datetime']), reverse=self.order == 'newest-first')
        return web.json_response(inside[: self.cap])


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace('Z', '+00:00'))


def _week_of_updates(count: int) -> list[dict]:
    """`count` cases, one update each, spread over the week before NOW (some at the same second)."""
    start = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)
    return [request(f'C-{n:02d}', 'open', (start + timedelta(hours=9 * (n // 2))).isoformat()) for n in range(count)]


async def _add_cases_source(pg: asyncpg.Pool, feeds: FeedServer, name: str, **options: str) -> None:
    await registry.add_source(pg, name=name, kind='open311', url=f'{feeds.url}/open311/v2/requests.json',
                              options={'page_size': '3', **options}, allow_internal=True)  # fmt: skip


@pytest.mark.parametrize('order', ['newest-first', 'oldest-first', 'shuffled'])
async def test_a_capped_server_loses_no_update_in_whatever_order_it_sends_them(
    pg: asyncpg.Pool, feeds: FeedServer, order: str
) -> None:
    server = Open311Server(_week_of_updates(11), order=order, cap=3)
    feeds.handlers['/open311/v2/requests.json'] = server
    await _add_cases_source(pg, feeds, 'capped')

    first = await poll_source(pg, 'capped', now=NOW)

    assert (first.outcome, first.counts['new'], first.counts['rejected']) == ('ok', 11, 0), first.summary()
    assert len(server.windows) <= 20
    cursor = await pg.fetchval("select cursor from sources where name = 'capped'")
    assert '2025-03-05T10:00:00+00:00' <= cursor <= NOW.isoformat()  # at or after the newest update
    again = await poll_source(pg, 'capped', now=NOW)
    assert (again.counts['new'], again.counts['changed']) == (0, 0)


async def test_a_poll_stops_after_its_most_requests_and_the_next_poll_continues(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    server = Open311Server(_week_of_updates(16), order='newest-first', cap=3)
    feeds.handlers['/open311/v2/requests.json'] = server
    await _add_cases_source(pg, feeds, 'busy-council', max_requests='4')

    results = []
    while sum(result.counts['new'] for result in results) < 16 and len(results) < 12:
        asked = len(server.windows)
        results.append(await poll_source(pg, 'busy-council', now=NOW))
        assert results[-1].outcome == 'ok' and len(server.windows) - asked <= 4, results[-1].summary()

    assert sum(result.counts['new'] for result in results) == 16 and len(results) > 1
    assert 'made 4 requests this poll (max_requests); updates from' in ' '.join(results[0].notes)
    assert await pg.fetchval("select count(*) from events where source = 'busy-council'") == 16


async def test_an_unknown_status_holds_the_cursor_until_the_mapping_knows_it(
    pg: asyncpg.Pool, feeds: FeedServer
) -> None:
    updates = [
        request('W-1', 'WAITING_FOR_CUSTOMER', '2025-03-05T10:00:00Z'),
        request('W-2', 'open', '2025-03-08T10:00:00Z'),
    ]
    feeds.handlers['/open311/v2/requests.json'] = Open311Server(updates, order='oldest-first', cap=1000)
    await _add_cases_source(pg, feeds, 'strict-words', page_size='1000')

    first = await poll_source(pg, 'strict-words', now=NOW)
    assert (first.counts['new'], first.counts['rejected']) == (1, 1)
    [problem] = first.problems
    assert problem.where == 'record 1' and 'its status is not in the status mapping' in problem.reason
    assert 'the cursor stays at 2025-03-05T10:00:00+00:00' in problem.reason
    assert await pg.fetchval("select cursor from sources where name = 'strict-words'") == '2025-03-05T10:00:00+00:00'

    # a later poll still refuses it, and still does not move past it
    later = await poll_source(pg, 'strict-words', now=NOW + timedelta(hours=1))
    assert (later.counts['new'], later.counts['unchanged'], later.counts['rejected']) == (0, 1, 1)
    assert await pg.fetchval("select cursor from sources where name = 'strict-words'") == '2025-03-05T10:00:00+00:00'

    # the operator maps the word (what `tellme sources set` does; straight into the row here)
    await pg.execute(
        """update sources set options = options || '{"status.waiting_for_customer": "need_info"}'::jsonb
           where name = 'strict-words'"""
    )
    fixed = await poll_source(pg, 'strict-words', now=NOW + timedelta(hours=2))
    assert (fixed.counts['new'], fixed.counts['rejected']) == (1, 0), fixed.summary()
    stage = await pg.fetchval(
        "select attributes ->> 'stage' from events where source = 'strict-words' and external_key = 'W-1'"
    )
    assert stage == 'need_info'
    assert await pg.fetchval("select cursor from sources where name = 'strict-words'") == '2025-03-08T10:00:00+00:00'
