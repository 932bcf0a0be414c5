"""Planning applications from the PlanIt JSON API (`/api/applics/json`), polled by `changed_start`.

The response is `{"records": [...], "total": N, "from": i, "to": j, "pg_sz": n}`; each record is one
application (`name` = 'Area/uid' is PlanIt's unique key). Each becomes one event in its current state, and the
kind says what stage it is at, so the pipeline reports the step from one to the next:
planning.appeal (an appeal is recorded) > planning.decided (a decision state or date) > planning.amended
(an amendment / re-consultation) > planning.consultation (a comment-by date, with the comment link) >
planning.new.

The cursor is the newest `last_changed` seen; the next poll asks for `changed_start=<its date>` (PlanIt filters by
day, so the day of the cursor is asked again — unchanged records write nothing). Options: `lookback_days` (first
poll, default 14), `page_size` (default 500; PlanIt caps a query at about 5,000 records), `encoding`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from sources.events.models import Event
from sources.feeds.adapters import register
from sources.feeds.adapters.common import (
    add_latest,
    canonical_uprn,
    decode_json,
    int_option,
    json_type,
    validation_reason,
)
from sources.feeds.base import Page, Parsed, RecordError, Rejected, SourceError

LONDON = ZoneInfo('Europe/London')
DECIDED_STATES = {'permitted', 'conditions', 'rejected', 'refused', 'withdrawn', 'approved', 'granted', 'decided'}
_AMENDED = re.compile(r'amend|re-?consult|revised', re.IGNORECASE)
_POSTCODE = re.compile(r'[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}')


def set_params(url: str, **values: str) -> str:
    """`url` with these query parameters set (replacing any of the same name), the others kept."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    query.extend(values.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def local_datetime(text: str) -> datetime:
    """An ISO date or date-time; one without a zone is read as UK local time."""
    moment = datetime.fromisoformat(text.strip().replace('Z', '+00:00'))
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def iso_date(value: Any, field: str) -> date | None:
    if value in (None, ''):
        return None
    if not isinstance(value, str):
        raise RecordError(f'{field} is {json_type(value)}, not a date')
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise RecordError(f'{field} is not a YYYY-MM-DD date') from None


def gb_point(lat: Any, lng: Any) -> tuple[float, float] | None:
    """(lat, lng) when both are numbers inside Great Britain's range, None when both are missing."""
    if lat in (None, '') and lng in (None, ''):
        return None
    try:
        point = float(lat), float(lng)
    except (TypeError, ValueError):
        raise RecordError('the coordinates are not numbers') from None
    if not (49.0 <= point[0] <= 61.0 and -9.0 <= point[1] <= 2.0):
        raise RecordError('the coordinates are not in Great Britain (latitude 49 to 61, longitude -9 to 2)')
    return point


def planning_kind(*, appeal: bool, decided: bool, amended: bool, comment_by: date | None) -> str:
    if appeal:
        return 'planning.appeal'
    if decided:
        return 'planning.decided'
    if amended:
        return 'planning.amended'
    if comment_by is not None:
        return 'planning.consultation'
    return 'planning.new'


def place(attributes: dict[str, Any], lat: Any, lng: Any, postcode: Any) -> tuple[float | None, float | None]:
    """Coordinates from the feed; else the postcode for the framework to look up; else a ValueError."""
    code = postcode.strip().upper() if isinstance(postcode, str) else ''
    try:
        point = gb_point(lat, lng)
    except ValueError as error:
        if not _POSTCODE.fullmatch(code):
            raise
        attributes['location_note'] = f'{error}; placed by postcode'
        point = None
    if point is None:
        if not _POSTCODE.fullmatch(code):
            raise RecordError('no coordinates and no postcode: cannot place it on the map')
        attributes['postcode'] = code
        return None, None
    return point


class PlanItAdapter:
    kind: ClassVar[str] = 'planit'

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        since = (
            local_datetime(cursor)
            if cursor
            else now - timedelta(days=int_option(options, 'lookback_days', 14, high=3650))
        )
        since_day = since.astimezone(LONDON).date()
        size = str(int_option(options, 'page_size', 0, low=0, high=5000)) if options.get('page_size') else None
        size = size or dict(parse_qsl(urlsplit(url).query)).get('pg_sz') or '500'
        return set_params(url, changed_start=since_day.isoformat(), pg_sz=size)

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        try:
            envelope = json.loads(page.body.decode(options.get('encoding', 'utf-8-sig')))
            total, last = int(envelope['total']), int(envelope['to'])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, LookupError):
            return None
        if last + 1 >= total or not envelope.get('records'):
            return None
        return set_params(page.url, index=str(last + 1))

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        envelope = decode_json(page, options, 'PlanIt JSON')
        if not isinstance(envelope, dict) or not isinstance(envelope.get('records'), list):
            raise SourceError('not a PlanIt applics response: no "records" list (ask /api/applics/json)')
        parsed = Parsed()
        index: dict[str, int] = {}  # external key → position in parsed.events
        newest: str | None = None
        for number, record in enumerate(envelope['records'], start=1):
            where = f'record {number}'  # by position: a rejected record's own key is not repeated back
            try:
                if not isinstance(record, dict):
                    raise RecordError(f'{json_type(record)}, not an object')
                key = _key(record)
                event = _event(record, key, source, now)
            except ValueError as error:
                parsed.rejected.append(Rejected(where, validation_reason(error)))
                continue
            changed = str(record.get('last_changed') or '')
            newest = max(newest or changed, changed) or None
            add_latest(parsed, index, key, event, where)
        parsed.cursor = newest
        return parsed


def _key(record: Mapping[str, Any]) -> str:
    name = record.get('name')
    if isinstance(name, str) and name.strip():
        return name.strip()
    uid, area = record.get('uid'), record.get('area_name')
    if uid and area:
        return f'{area}/{uid}'
    raise RecordError('no name, and no uid with area_name, to identify the application')


def _event(record: Mapping[str, Any], key: str, source: str, now: datetime) -> Event:
    other = record.get('other_fields') or {}
    if not isinstance(other, dict):
        raise RecordError('other_fields is not an object')
    state = str(record.get('app_state') or '').strip()
    decided_date = iso_date(record.get('decided_date'), 'decided_date')
    comment_by = iso_date(other.get('consultation_end_date'), 'consultation_end_date')
    appeal = {k: v for k, v in other.items() if k.startswith('appeal_') and v not in (None, '')}
    amended = record.get('app_type') == 'Amendment' or bool(_AMENDED.search(str(other.get('status') or '')))
    attributes: dict[str, Any] = {
        'reference': record.get('uid') or key,
        'authority': record.get('area_name'),
        'address': record.get('address'),
        'app_type': record.get('app_type'),
        'status': other.get('status') or state or None,
        'decision': other.get('decision') or (state if state.lower() in DECIDED_STATES else None),
        'decided_date': decided_date.isoformat() if decided_date else None,
        'comment_by': comment_by.isoformat() if comment_by else None,
        'comment_url': other.get('comment_url'),
        **{k: str(v) for k, v in sorted(appeal.items())},
    }
    attributes = {k: v for k, v in attributes.items() if v not in (None, '')}
    lat, lng = place(
        attributes,
        _first(record.get('location_y'), other.get('lat')),
        _first(record.get('location_x'), other.get('lng')),
        record.get('postcode'),
    )
    uprn = canonical_uprn(str(other['uprn'])) if other.get('uprn') else None
    kind = planning_kind(
        appeal=bool(appeal),
        decided=decided_date is not None or state.lower() in DECIDED_STATES,
        amended=amended,
        comment_by=comment_by,
    )
    changed = record.get('last_changed') or record.get('start_date')
    reference = record.get('uid') or key
    return Event(
        source=source,
        external_key=key,
        kind=kind,
        topic='planning',
        title=f'Planning application {reference}' + (f' at {record["address"]}' if record.get('address') else ''),
        summary=str(record.get('description') or '')[:5000],
        lat=lat,
        lng=lng,
        uprn=uprn,
        url=record.get('url') or record.get('link') or None,
        attributes=attributes,
        occurred_at=_changed_at(changed, now),
    )


def _first(*values: Any) -> Any:
    return next((value for value in values if value not in (None, '')), None)


def _changed_at(value: Any, now: datetime) -> datetime:
    if not value:
        return now
    try:
        return local_datetime(str(value))
    except ValueError:
        raise RecordError('last_changed is not an ISO date-time') from None


register(PlanItAdapter())
