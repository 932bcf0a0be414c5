"""Planning applications from planning.data.gov.uk (`/entity.json?dataset=planning-application&...`).

The response is `{"entities": [...], "links": {"next": ...}, "count": N}` with hyphenated keys; the location is a
WKT `point` ("POINT (-0.629691 51.678294)", longitude first). Each entity becomes one event keyed by its `entity`
number, its kind from its status, decision and dates as for PlanIt (see planit.py). The next page is the
response's own `links.next`; the cursor is the newest `entry-date` seen (the API has no changed-since filter, so
every poll reads the pages it is pointed at and unchanged entities write nothing). Option: `encoding`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from sources.events.models import Event
from sources.feeds.adapters import register
from sources.feeds.adapters.common import add_latest, canonical_uprn, decode_json, json_type, validation_reason
from sources.feeds.adapters.planit import DECIDED_STATES, iso_date, local_datetime, place, planning_kind
from sources.feeds.base import Page, Parsed, RecordError, Rejected, SourceError

_POINT = re.compile(r'\s*POINT\s*\(\s*(-?[0-9.]+(?:[eE]-?[0-9]+)?)\s+(-?[0-9.]+(?:[eE]-?[0-9]+)?)\s*\)\s*', re.I)
_AMENDED = re.compile(r'amend|re-?consult|revised', re.IGNORECASE)
_APPEAL = re.compile(r'appeal', re.IGNORECASE)


class PlanningDataAdapter:
    kind: ClassVar[str] = 'planning-data'

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        return url

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        try:
            envelope = json.loads(page.body.decode(options.get('encoding', 'utf-8-sig')))
            following = envelope['links']['next']
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, LookupError):
            return None
        if not isinstance(following, str) or not following or following == page.url or not envelope.get('entities'):
            return None
        return following

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        envelope = decode_json(page, options, 'planning.data.gov.uk entity JSON')
        if not isinstance(envelope, dict) or not isinstance(envelope.get('entities'), list):
            raise SourceError('not a planning.data.gov.uk entity response: no "entities" list (ask /entity.json)')
        parsed = Parsed()
        index: dict[str, int] = {}
        newest: str | None = None
        for number, entity in enumerate(envelope['entities'], start=1):
            where = f'entity {number} in the page'  # by position: a rejected entity's own key is not repeated back
            try:
                if not isinstance(entity, dict):
                    raise RecordError(f'{json_type(entity)}, not an object')
                key = str(entity.get('entity') or '').strip()
                if not key:
                    raise RecordError('no entity number')
                event = _event(entity, key, source, now)
            except ValueError as error:
                parsed.rejected.append(Rejected(where, validation_reason(error)))
                continue
            entry = str(entity.get('entry-date') or '')
            newest = max(newest or entry, entry) or None
            add_latest(parsed, index, key, event, where, latest='entry')
        parsed.cursor = newest
        return parsed


def _point(wkt: Any) -> tuple[Any, Any]:
    if wkt in (None, ''):
        return None, None
    match = _POINT.fullmatch(str(wkt))
    if not match:
        raise RecordError('point is not a WKT POINT (longitude latitude)')
    return match.group(2), match.group(1)


def _event(entity: Mapping[str, Any], key: str, source: str, now: datetime) -> Event:
    status = str(entity.get('planning-application-status') or '').strip()
    decision = str(entity.get('planning-decision') or '').strip()
    decided_on = iso_date(entity.get('decision-date'), 'decision-date')
    comment_by = iso_date(entity.get('consultation-end-date'), 'consultation-end-date')
    reference = str(entity.get('reference') or key)
    address = entity.get('address-text') or entity.get('address')
    attributes: dict[str, Any] = {
        'reference': reference,
        'organisation': str(entity.get('organisation-entity') or entity.get('organisation') or '') or None,
        'address': address,
        'app_type': entity.get('planning-application-type'),
        'status': status or None,
        'decision': decision or None,
        'decided_date': decided_on.isoformat() if decided_on else None,
        'comment_by': comment_by.isoformat() if comment_by else None,
        'ended': entity.get('end-date') or None,
    }
    attributes = {k: v for k, v in attributes.items() if v not in (None, '')}
    lat, lng = _point(entity.get('point'))
    lat, lng = place(attributes, lat, lng, entity.get('postcode'))
    kind = planning_kind(
        appeal=bool(_APPEAL.search(status)),
        decided=decided_on is not None or bool(decision) or status.lower() in DECIDED_STATES,
        amended=bool(_AMENDED.search(status)),
        comment_by=comment_by,
    )
    when = entity.get('entry-date') or entity.get('start-date')
    try:
        occurred = local_datetime(str(when)) if when else now
    except ValueError:
        raise RecordError('entry-date is not an ISO date') from None
    return Event(
        source=source,
        external_key=key,
        kind=kind,
        topic='planning',
        title=f'Planning application {reference}' + (f' at {address}' if address else ''),
        summary=str(entity.get('description') or entity.get('name') or '')[:5000],
        lat=lat,
        lng=lng,
        uprn=canonical_uprn(str(entity['uprn'])) if entity.get('uprn') else None,
        url=entity.get('documentation-url') or None,
        attributes=attributes,
        occurred_at=occurred,
    )


register(PlanningDataAdapter())
