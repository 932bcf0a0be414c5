"""Open311 GeoReport v2 (XML and JSON) and FixMyStreet's service request updates → case.status events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest

from sources import registry
from sources.adapters import ADAPTERS
from sources.base import Page, Parsed, SourceError
from sources.polling import poll_source
from tests.factories import make_resident, make_subscription
from tests.sources_feeds import Doc, FeedServer, start_feeds

CASES = Path(__file__).parent / 'fixtures' / 'cases' / 'open311_cfa_gem'
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
    assert closed.summary == 'Closed. Duplicate request.'
    assert opened.attributes['stage'] == 'received'
    assert opened.title == 'Sidewalk and Curb Issues (638349) at 8TH AVE and JUDAH ST'
    assert parsed.cursor == '2010-04-19T14:37:38+00:00'
    # San Francisco is not in Great Britain: the cases are kept, their location is not, and the source is told.
    assert closed.lat is None and opened.lat is None
    assert [r.where for r in parsed.rejected] == ['request 638344 (location)', 'request 638349 (location)']
    assert 'not in Great Britain; the case is kept without a location' in parsed.rejected[0].reason


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
    assert by_ref['FMS-1001'].summary == 'Action scheduled. Repair booked for Monday.'
    assert by_ref['FMS-1002'].attributes['stage'] == 'need_info'
    assert by_ref['FMS-1002'].summary == 'We need something from you. Please send a photo.'
    assert parsed.cursor == '2025-03-07T08:00:00+00:00'


def test_a_status_change_changes_the_fingerprint_and_a_repoll_does_not() -> None:
    first = parse(json.dumps([request('77', 'open')]).encode()).events[0]
    again = parse(json.dumps([request('77', 'open')]).encode()).events[0]
    closed = parse(json.dumps([request('77', 'closed', '2025-03-08T10:00:00Z')]).encode()).events[0]
    assert again.fingerprint() == first.fingerprint()
    assert closed.fingerprint() != first.fingerprint()


def test_an_unknown_status_is_rejected_with_how_to_map_it_and_the_rest_kept() -> None:
    body = json.dumps([request('80', 'WAITING_FOR_CUSTOMER'), request('81', 'closed')]).encode()
    parsed = parse(body)
    assert [event.case_reference for event in parsed.events] == ['81']
    [rejected] = parsed.rejected
    assert rejected.where == 'request 80'
    assert "unknown status 'waiting_for_customer': map it with --option status.waiting_for_customer=<stage>" in (
        rejected.reason
    )

    [mapped, _] = parse(body, {'status.WAITING_FOR_CUSTOMER': 'need_info'}).events
    assert mapped.attributes['stage'] == 'need_info'


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
    assert {(e.case_reference, e.attributes['stage']) for e in parsed.events} == {('90', 'closed'), ('92', 'received')}
    assert [(r.where, r.reason) for r in parsed.rejected] == [
        ('request 90', 'it appears more than once in this page; the latest is used'),
        ('record 3', 'no service_request_id'),
        ('request 91', "updated_datetime 'last Tuesday' is not a W3C date-time"),
        ('record 5', "not an object: 'nonsense'"),
        (
            'request 92 (location)',
            'lat/long 91.5, -2.3151 is not in Great Britain; the case is kept without a location',
        ),
    ]


@pytest.mark.parametrize(
    ('body', 'message'),
    [
        ((CASES / 'get_service_request_not_found.xml').read_bytes(), 'errors: 404 Service request not found'),
        (b'[{"code": 403, "description": "Invalid api_key"}]', 'errors: 403 Invalid api_key'),
        (b'<!DOCTYPE html><html><title>Down for maintenance</title></html>', 'HTML, not Open311 XML'),
        ((CASES / 'service_requests.xml').read_bytes()[:700], 'not well-formed XML'),
        (b'[{"service_request_id": "1", "status": "op', r'not valid JSON \(truncated\?\)'),
        (
            '<?xml version="1.0" encoding="utf-8"?><service_requests><request><address>Caf\u00e9'.encode('latin-1'),
            r'says it is utf-8 but byte 0xe9 at offset 77 is not; set --option encoding=cp1252',
        ),
        ((CASES / 'services.xml').read_bytes(), 'root element <services>'),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><service_requests/>', 'must not carry a DOCTYPE'),
        ('[{"service_request_id": "é"}]'.encode('latin-1'), 'byte 0xe9'),
    ],
)
def test_unusable_pages_are_source_errors_that_say_why(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse(body)


def test_a_mislabelled_xml_encoding_can_be_overridden() -> None:
    body = (CASES / 'service_requests.xml').read_text().replace('8TH AVE', 'Caf\u00e9 Row').encode('latin-1')
    with pytest.raises(SourceError, match='says it is utf-8 but byte 0xe9'):
        parse(body)
    parsed = parse(body, {'encoding': 'latin-1'})
    assert parsed.events[0].title == 'Sidewalk and Curb Issues (638344) at Caf\u00e9 Row and JUDAH ST'


def test_an_empty_answer_is_no_news_not_an_error() -> None:
    parsed = parse((CASES / 'service_requests_empty.xml').read_bytes())
    assert parsed.events == [] and parsed.rejected == [] and parsed.cursor is None


def test_polling_window_and_paging_by_updated_datetime() -> None:
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
    parsed.rejected.clear()
    assert ADAPTER.next_url(page, parsed, {}) is None  # 2 cases < a full page of 1000
    following = ADAPTER.next_url(page, parsed, {'page_size': '2'})
    assert parse_qs(urlsplit(following).query)['start_date'] == ['2025-03-07T08:00:00+00:00']
    # a full page all updated at the cursor instant would ask for itself again: stop instead
    assert ADAPTER.next_url(Page(following, UPDATES), parsed, {'page_size': '2'}) is None


# --- over real HTTP, through the framework and the pipeline --------------------------------------------------------


@pytest.fixture
async def feeds(aiohttp_server: Any) -> FeedServer:
    return await start_feeds(aiohttp_server)


@pytest.fixture
async def http() -> Any:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_case_update_served_over_http_reaches_the_reporter_once(
    pg: asyncpg.Pool, feeds: FeedServer, http: aiohttp.ClientSession
) -> None:
    reporter = await make_resident(pg)
    await make_subscription(pg, reporter, kind='case', case_source='fms-cases', case_reference='FMS-1001')
    feeds.docs['/open311/v2/servicerequestupdates.xml'] = Doc(UPDATES, content_type='text/xml', etag=False)
    await registry.add_source(
        pg,
        name='fms-cases',
        kind='open311',
        url=f'{feeds.url}/open311/v2/servicerequestupdates.xml',
        options={'code.WAIT-CUST': 'need_info'},
    )

    first = await poll_source(pg, http, 'fms-cases', now=NOW)
    again = await poll_source(pg, http, 'fms-cases', now=NOW)
    feeds.docs['/open311/v2/servicerequestupdates.xml'] = Doc(
        UPDATES.replace(b'<status>ACTION_SCHEDULED</status>', b'<status>FIXED</status>'),
        content_type='text/xml',
        etag=False,
    )
    fixed = await poll_source(pg, http, 'fms-cases', now=NOW)

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
