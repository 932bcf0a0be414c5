"""Case status from Open311 GeoReport v2: `requests.{json,xml}` and FixMyStreet's `servicerequestupdates`.

Each service request (or update to one) becomes a `case.status` event keyed by its `service_request_id`, so a
resident subscribed to their case reference hears when its stage moves. Services' own statuses are mapped to our
stages — received → assessing → action_scheduled → resolved / closed, and need_info ("we need something from
you") — with the Open311 and FixMyStreet statuses mapped by default and any other added per source:
`--option status.WAITING_FOR_CUSTOMER=need_info` (also `code.<external_status_code>=<stage>`, which wins).

Polling asks for `start_date`/`end_date` from the cursor (the newest `updated_datetime` seen) to now; a full page
(`page_size`, default 1000, the spec's cap) asks again from its newest `updated_datetime`.
Other options: `lookback_days` (first poll, default 7), `case_url` (e.g. `https://example.gov.uk/report/{id}`),
`encoding`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from sources.adapters import register
from sources.adapters.ukbcd import decode_json, int_option, validation_reason
from sources.base import Page, Parsed, Rejected, SourceError
from sources.models import Event

STAGES = ('received', 'assessing', 'action_scheduled', 'need_info', 'resolved', 'closed')
DEFAULT_STATUSES = {
    'open': 'received',
    'confirmed': 'received',
    'investigating': 'assessing',
    'in_progress': 'action_scheduled',
    'action_scheduled': 'action_scheduled',
    'fixed': 'resolved',
    'closed': 'closed',
    'duplicate': 'closed',
    'not_councils_responsibility': 'closed',
    'no_further_action': 'closed',
    'internal_referral': 'closed',
}
_STAGE_WORDS = {
    'received': 'Received',
    'assessing': 'Being assessed',
    'action_scheduled': 'Action scheduled',
    'need_info': 'We need something from you',
    'resolved': 'Resolved',
    'closed': 'Closed',
}
_FIELDS = (
    'service_request_id',
    'update_id',
    'status',
    'status_notes',
    'description',
    'service_name',
    'service_code',
    'requested_datetime',
    'updated_datetime',
    'expected_datetime',
    'address',
    'zipcode',
    'lat',
    'long',
    'external_status_code',
)
_LONDON = ZoneInfo('Europe/London')
_POSTCODE = re.compile(r'[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}')


def _param(url: str, **values: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    query.extend(values.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _w3c(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.strip().replace('Z', '+00:00'))
    return moment if moment.tzinfo else moment.replace(tzinfo=_LONDON)


def stage_map(options: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(status → stage, external_status_code → stage) from the defaults and the source's options."""
    statuses, codes = dict(DEFAULT_STATUSES), {}
    for key, value in options.items():
        prefix, _, name = key.partition('.')
        if prefix not in ('status', 'code') or not name:
            continue
        if value not in STAGES:
            raise SourceError(f'option {key}={value!r}: not a stage (stages: {", ".join(STAGES)})')
        if prefix == 'status':
            statuses[name.strip().lower()] = value
        else:
            codes[name.strip()] = value
    return statuses, codes


class Open311Adapter:
    kind: ClassVar[str] = 'open311'

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        start = _when(cursor) if cursor else now - timedelta(days=int_option(options, 'lookback_days', 7, high=90))
        return _param(url, start_date=_w3c(start), end_date=_w3c(now))

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        records = len(parsed.events) + len(parsed.rejected)
        if records < int_option(options, 'page_size', 1000) or parsed.cursor is None:
            return None
        current = dict(parse_qsl(urlsplit(page.url).query)).get('start_date')
        if current and _when(current) == _when(parsed.cursor):
            return None  # a whole page updated at one instant: asking again would return the same page
        return _param(page.url, start_date=parsed.cursor)

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        statuses, codes = stage_map(options)
        records = _records(page, options)
        parsed = Parsed()
        latest: dict[str, Event] = {}
        seen: set[tuple[str, str | None]] = set()
        for number, record in enumerate(records, start=1):
            where = f'record {number}'
            try:
                if '_not_an_object' in record:
                    raise ValueError(f'not an object: {record["_not_an_object"]}')
                reference = _text(record, 'service_request_id')
                if not reference:
                    raise ValueError('no service_request_id')
                where = f'request {reference}'
                event = _event(record, reference, source, statuses, codes, options, now, parsed)
                identity = (reference, _text(record, 'update_id'))
            except ValueError as error:
                parsed.rejected.append(Rejected(where, validation_reason(error)))
                continue
            if identity in seen:
                what = f'update {identity[1]}' if identity[1] else 'it'
                parsed.rejected.append(
                    Rejected(where, f'{what} appears more than once in this page; the latest is used')
                )
            seen.add(identity)
            kept = latest.get(reference)
            if kept is None or kept.occurred_at <= event.occurred_at:
                latest[reference] = event
        parsed.events = list(latest.values())
        moments = [event.occurred_at for event in parsed.events]
        # in UTC, so that cursors from pages with different offsets compare as text in time order
        parsed.cursor = _w3c(max(moments).astimezone(UTC)) if moments else None
        return parsed


def _records(page: Page, options: Mapping[str, str]) -> list[dict[str, Any]]:
    if page.body.lstrip().removeprefix(b'\xef\xbb\xbf').lstrip()[:1] == b'<':
        return _xml_records(page.body, options.get('encoding'))
    document = decode_json(page, options, 'Open311 JSON')
    if isinstance(document, dict):
        for key in ('service_requests', 'service_request_updates', 'requests', 'request_updates'):
            if isinstance(document.get(key), list):
                document = document[key]
                break
        else:
            raise SourceError(f'not an Open311 list of requests: an object with keys {sorted(document)[:6]}')
    if not isinstance(document, list):
        raise SourceError(f'not an Open311 list of requests: {type(document).__name__}')
    if document and all(isinstance(r, dict) and set(r) <= {'code', 'description'} and 'code' in r for r in document):
        raise SourceError(
            'the server answered with errors: ' + '; '.join(f'{e["code"]} {e.get("description")}' for e in document)
        )
    return [r if isinstance(r, dict) else {'_not_an_object': repr(r)[:60]} for r in document]


def _xml_records(body: bytes, encoding: str | None) -> list[dict[str, Any]]:
    head = body[:2000].lower()
    if b'<!doctype html' in head or b'<html' in head:
        raise SourceError('page is HTML, not Open311 XML (an error page served with 200?)')
    if b'<!doctype' in head or b'<!entity' in body.lower():
        raise SourceError('Open311 XML must not carry a DOCTYPE or entity declarations')
    declared = re.search(rb'<\?xml[^>]*encoding=["\']([A-Za-z0-9_.-]+)', body[:200])
    try:
        if encoding:  # the source says the server mislabels its encoding
            root = SafeElementTree.fromstring(re.sub(r'^\s*<\?xml[^>]*\?>', '', body.decode(encoding)))
        else:
            root = SafeElementTree.fromstring(body)
    except DefusedXmlException:
        # the byte check above misses a declaration in UTF-16; the parser itself refuses it here
        raise SourceError('Open311 XML must not carry a DOCTYPE or entity declarations') from None
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(f'page cannot be read as {encoding}: {error}') from None
    except ElementTree.ParseError as error:
        label = declared.group(1).decode() if declared else 'utf-8'
        try:
            body.decode(label)
        except UnicodeDecodeError as bad:
            raise SourceError(
                f'page says it is {label} but byte 0x{body[bad.start]:02x} at offset {bad.start} is not; '
                'set --option encoding=cp1252 (or latin-1) if the server mislabels it'
            ) from None
        except LookupError:
            pass
        raise SourceError(f'page is not well-formed XML: {error}') from None
    tag = root.tag.rsplit('}', 1)[-1]
    if tag == 'errors':
        details = [f'{e.findtext("code", "")} {e.findtext("description", "")}'.strip() for e in root]
        raise SourceError('the server answered with errors: ' + '; '.join(details))
    if tag not in ('service_requests', 'service_request_updates', 'service_requests_updates'):
        raise SourceError(f'not an Open311 response: root element <{tag}>')
    records = []
    for element in root:
        records.append({child.tag.rsplit('}', 1)[-1]: (child.text or '').strip() for child in element})
    return records


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == '':
        return None
    if isinstance(value, dict | list):
        raise ValueError(f'{key} is not a single value')
    return str(value).strip() or None


def _event(
    record: Mapping[str, Any],
    reference: str,
    source: str,
    statuses: Mapping[str, str],
    codes: Mapping[str, str],
    options: Mapping[str, str],
    now: datetime,
    parsed: Parsed,
) -> Event:
    status = (_text(record, 'status') or '').lower().replace(' ', '_')
    code = _text(record, 'external_status_code')
    stage = codes.get(code or '') or statuses.get(status)
    if not status and not code:
        raise ValueError('no status')
    if stage is None:
        raise ValueError(
            f'unknown status {status!r}: map it with --option status.{status}=<stage> (stages: {", ".join(STAGES)})'
        )
    try:
        occurred = _when(_text(record, 'updated_datetime')) or _when(_text(record, 'requested_datetime')) or now
    except ValueError:
        raise ValueError(f'updated_datetime {record.get("updated_datetime")!r} is not a W3C date-time') from None
    service = _text(record, 'service_name') or _text(record, 'service_code') or 'Report'
    notes = _text(record, 'status_notes') or (_text(record, 'description') if 'update_id' in record else None)
    attributes: dict[str, Any] = {'stage': stage, 'status': status, 'service': service}
    if notes:
        attributes['notes'] = notes[:1000]
    if code:
        attributes['external_status_code'] = code
    expected = _text(record, 'expected_datetime')
    if expected:
        attributes['expected'] = expected
    lat, lng = _location(record, reference, parsed)
    postcode = _text(record, 'zipcode')
    if lat is None and postcode and _POSTCODE.fullmatch(postcode.upper()):
        attributes['postcode'] = postcode.upper()
    summary = f'{_STAGE_WORDS[stage]}.' + (f' {notes}' if notes else '')
    case_url = options.get('case_url')
    return Event(
        source=source,
        external_key=reference,
        kind='case.status',
        topic='cases',
        title=f'{service} ({reference})' + (f' at {_text(record, "address")}' if _text(record, 'address') else ''),
        summary=summary[:5000],
        lat=lat,
        lng=lng,
        case_reference=reference,
        url=case_url.format(id=reference) if case_url else None,
        attributes=attributes,
        urgency='normal',
        occurred_at=occurred,
    )


def _location(record: Mapping[str, Any], reference: str, parsed: Parsed) -> tuple[float | None, float | None]:
    raw_lat, raw_lng = _text(record, 'lat'), _text(record, 'long')
    if raw_lat is None or raw_lng is None:
        return None, None
    try:
        lat, lng = float(raw_lat), float(raw_lng)
    except ValueError:
        lat = lng = float('nan')
    if 49.0 <= lat <= 61.0 and -9.0 <= lng <= 2.0:
        return lat, lng
    parsed.rejected.append(
        Rejected(
            f'request {reference} (location)',
            f'lat/long {raw_lat}, {raw_lng} is not in Great Britain; the case is kept without a location',
        )
    )
    return None, None


register(Open311Adapter())
