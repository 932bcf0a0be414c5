"""Case status from Open311 GeoReport v2: `requests.{json,xml}` and FixMyStreet's `servicerequestupdates`.

Each service request (or update to one) becomes a `case.status` event keyed by its `service_request_id`, so a
resident subscribed to their case reference hears when its stage moves. Services' own statuses are mapped to our
stages — received → assessing → action_scheduled → resolved / closed, and need_info ("we need something from
you") — with the Open311 and FixMyStreet statuses mapped by default and any other added per source:
`--option status.WAITING_FOR_CUSTOMER=need_info` (also `code.<external_status_code>=<stage>`, which wins).

Polling asks for `start_date`/`end_date` from the cursor (the newest `updated_datetime` seen) to now; a page
holding `page_size` records (default 1000, the spec's cap) narrows the window until none is lost, in whatever
order the server sends them, at most `max_requests` (default 20) requests a poll (see open311_paging.py).
An update with a status the mapping does not know is refused (by its position and time, not its status word: see
sources/feeds/base.py), and the cursor stays at its `updated_datetime`, so once the mapping is fixed the next poll
reads it again.
A request whose `lat`/`long` is not a place in Great Britain is kept without a location (its reporter still hears
about it), with one note for the page saying which records; a record whose `updated_datetime` cannot be read is
dated by its `requested_datetime`, also with a note. Neither is a rejection: the record is used.
Other options: `lookback_days` (first poll, default 7), `case_url` (e.g. `https://example.gov.uk/report/{id}`),
`encoding`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sources.events.models import Event
from sources.feeds.adapters import register
from sources.feeds.adapters.common import int_option, validation_reason
from sources.feeds.adapters.open311_documents import records as read_records
from sources.feeds.adapters.open311_paging import (
    HOLD,
    REQUEST,
    SECOND,
    Window,
    earlier,
    split_point,
    w3c,
    when,
    with_params,
)
from sources.feeds.base import Page, Parsed, RecordError, Rejected, SourceError

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
_POSTCODE = re.compile(r'[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}')


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


@dataclass
class _Parsed(Parsed):
    follow: str | None = None  # the next window to ask for, worked out while parsing (it needs the records)


class _UnknownStatus(RecordError):
    def __init__(self, message: str, at: datetime) -> None:
        super().__init__(message)
        self.at = at


class Open311Adapter:
    kind: ClassVar[str] = 'open311'

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        start = when(cursor) if cursor else now - timedelta(days=int_option(options, 'lookback_days', 7, high=90))
        return with_params(url, start_date=w3c(start), end_date=w3c(now), **{REQUEST: None, HOLD: None})

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        return parsed.follow if isinstance(parsed, _Parsed) else None

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        statuses, codes = stage_map(options)
        records = read_records(page, options)
        window = Window.of(page.url)
        parsed = _Parsed()
        if window is not None and len(records) >= int_option(options, 'page_size', 1000):
            point = split_point(window, [moment for moment in map(_record_time, records) if moment])
            if point is not None:  # a full page: some records in the window were left out; ask for less
                parsed.cursor = w3c(min(window.start, window.hold or window.start))
                _follow(parsed, page, options, window, window.start, point, window.hold)
                return parsed
            parsed.notes.append(
                f'the server sent its most ({len(records)} records) for the one second from {w3c(window.start)}: '
                'some updates in that second may be missing (raise --option page_size if the server allows more)'
            )
        hold = _read(records, parsed, source, statuses, codes, options, now)
        hold = earlier(window.hold if window else None, hold)
        newest = earlier(max((event.occurred_at for event in parsed.events), default=None), hold)
        parsed.cursor = w3c(newest) if newest else None
        if window is not None and window.end < now.replace(microsecond=0):
            # read: go on from its end, over twice its width (a window that was narrowed to fit widens again)
            width = max(window.end - window.start, SECOND) * 2
            _follow(parsed, page, options, window, window.end, min(window.end + width, now), hold)
        return parsed


def _follow(
    parsed: _Parsed, page: Page, options: Mapping[str, str], window: Window, start: datetime, end: datetime,
    hold: datetime | None,
) -> None:  # fmt: skip
    """Ask for [start, end] next, unless this poll has made its most requests: then the cursor stays at `start`
    (or the hold), where the next poll continues."""
    most = int_option(options, 'max_requests', 20, high=150)
    if window.request < most:
        parsed.follow = window.url(page.url, start, end, hold)
        return
    stop = earlier(start, hold)
    assert stop is not None
    parsed.cursor = w3c(stop)
    parsed.notes.append(
        f'made {most} requests this poll (max_requests); updates from {w3c(stop)} on are read by the next poll'
    )


def _record_time(record: Mapping[str, Any]) -> datetime | None:
    for key in ('updated_datetime', 'requested_datetime'):
        try:
            moment = when(_text(record, key))
        except ValueError:
            continue
        if moment is not None:
            return moment
    return None


def _read(
    records: list[dict[str, Any]], parsed: Parsed, source: str, statuses: Mapping[str, str],
    codes: Mapping[str, str], options: Mapping[str, str], now: datetime,
) -> datetime | None:  # fmt: skip
    """The page's events, the newest state per case, into `parsed`; returns the earliest time of an update refused
    for an unknown status (the cursor must stay there), or None."""
    latest: dict[str, Event] = {}
    seen: set[tuple[str, str | None]] = set()
    hold: datetime | None = None
    kept = _Kept()
    for number, record in enumerate(records, start=1):
        where = f'record {number}'  # by position: a rejected record's own reference is not repeated back
        try:
            if '_not_an_object' in record:
                raise RecordError(f'{record["_not_an_object"]}, not an object')
            reference = _text(record, 'service_request_id')
            if not reference:
                raise RecordError('no service_request_id')
            event = _event(record, reference, source, statuses, codes, options, now, kept, number)
            identity = (reference, _text(record, 'update_id'))
        except _UnknownStatus as error:
            hold = earlier(hold, error.at)
            parsed.rejected.append(Rejected(where, str(error)))
            kept.forget(number)
            continue
        except ValueError as error:
            parsed.rejected.append(Rejected(where, validation_reason(error)))
            kept.forget(number)
            continue
        if identity in seen:
            what = f'update {identity[1]}' if identity[1] else 'it'
            parsed.rejected.append(Rejected(where, f'{what} appears more than once in this page; the latest is used'))
        seen.add(identity)
        newest = latest.get(reference)
        if newest is None or newest.occurred_at <= event.occurred_at:
            latest[reference] = event
    parsed.events = list(latest.values())
    parsed.notes.extend(kept.notes())
    return hold


@dataclass
class _Kept:
    """Records used with a warning (not rejected), by position, for one note each per page."""

    no_location: list[int] = field(default_factory=list)
    dated_by_request: list[int] = field(default_factory=list)

    def forget(self, number: int) -> None:
        """Record `number` was rejected after all: it is named there, not here."""
        for found in (self.no_location, self.dated_by_request):
            if number in found:
                found.remove(number)

    def notes(self) -> list[str]:
        found = []
        if self.no_location:
            found.append(
                f'{_records(self.no_location)} kept without a location: lat/long is not a place in Great Britain '
                '(lat 49 to 61, long -9 to 2); their reporters still hear about them, neighbours near a place do not'
            )
        if self.dated_by_request:
            found.append(
                f'{_records(self.dated_by_request)} dated by requested_datetime: updated_datetime is not a W3C '
                'date-time'
            )
        return found


def _records(numbers: list[int]) -> str:
    """'record 3', 'records 1, 2 and 5', 'records 1, 2, 3 … (40 in all)'."""
    if len(numbers) == 1:
        return f'record {numbers[0]}'
    shown = ', '.join(str(n) for n in numbers[:10])
    if len(numbers) > 10:
        return f'records {shown} … ({len(numbers)} in all)'
    return f'records {shown.rsplit(", ", 1)[0]} and {numbers[-1]}'


def _occurred(record: Mapping[str, Any], now: datetime, kept: _Kept, number: int) -> datetime:
    """When the record's state is from: its updated_datetime, else (missing or unreadable) its requested_datetime,
    else now; neither readable rejects it."""
    try:
        updated = when(_text(record, 'updated_datetime'))
    except ValueError:
        updated = None
        try:
            requested = when(_text(record, 'requested_datetime'))
        except ValueError:
            requested = None
        if requested is None:
            raise RecordError('updated_datetime is not a W3C date-time, and no requested_datetime to use') from None
        kept.dated_by_request.append(number)
        return requested
    if updated is not None:
        return updated
    try:
        return when(_text(record, 'requested_datetime')) or now
    except ValueError:
        raise RecordError('requested_datetime is not a W3C date-time') from None


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == '':
        return None
    if isinstance(value, dict | list):
        raise RecordError(f'{key} is not a single value')
    return str(value).strip() or None


def _event(
    record: Mapping[str, Any],
    reference: str,
    source: str,
    statuses: Mapping[str, str],
    codes: Mapping[str, str],
    options: Mapping[str, str],
    now: datetime,
    kept: _Kept,
    number: int,
) -> Event:
    status = (_text(record, 'status') or '').lower().replace(' ', '_')
    code = _text(record, 'external_status_code')
    stage = codes.get(code or '') or statuses.get(status)
    if not status and not code:
        raise RecordError('no status')
    occurred = _occurred(record, now, kept, number)
    service = _text(record, 'service_name') or _text(record, 'service_code') or 'Report'
    if stage is None:
        # named by its place and time, not its words: the feed's text is never repeated back (sources/feeds/base.py)
        field, option = ('status', 'status.<its status>') if status else ('external_status_code', 'code.<its code>')
        raise _UnknownStatus(
            f'its {field} is not in the status mapping: add it (--option {option}=<stage>; stages: '
            f'{", ".join(STAGES)}); the cursor stays at {w3c(occurred)}, so this update is read again',
            occurred,
        )
    notes = _text(record, 'status_notes') or (_text(record, 'description') if 'update_id' in record else None)
    # the stage by its name, as a case update through the API carries it (sources/cases/updates.py); the case
    # system's own word is kept beside it, never shown to residents
    attributes: dict[str, Any] = {'stage': stage, 'status': _STAGE_WORDS[stage], 'service': service}
    if status:
        attributes['service_status'] = status
    if notes:
        attributes['notes'] = notes[:1000]
    if code:
        attributes['external_status_code'] = code
    expected = _text(record, 'expected_datetime')
    if expected:
        attributes['expected'] = expected
    lat, lng = _location(record, kept, number)
    postcode = _text(record, 'zipcode')
    if lat is None and postcode and _POSTCODE.fullmatch(postcode.upper()):
        attributes['postcode'] = postcode.upper()
    summary = notes or ''  # the stage is said once, by its name (attributes.status), beside it
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


def _location(record: Mapping[str, Any], kept: _Kept, number: int) -> tuple[float | None, float | None]:
    raw_lat, raw_lng = _text(record, 'lat'), _text(record, 'long')
    if raw_lat is None or raw_lng is None:
        return None, None
    try:
        lat, lng = float(raw_lat), float(raw_lng)
    except ValueError:
        lat = lng = float('nan')
    if 49.0 <= lat <= 61.0 and -9.0 <= lng <= 2.0:
        return lat, lng
    kept.no_location.append(number)  # a warning, not a rejection: the case is kept, without a place
    return None, None


register(Open311Adapter())
