"""Bin collection schedules in UKBinCollectionData's JSON, one document per property (UPRN).

The canonical shape is `{"bins": [{"type": "Grey bin", "collectionDate": "18/07/2023"}, ...]}`; real scrapers
also emit `bin_type` for `type`, extra keys (`previousCollectionDate`, `collectionTime`), human dates
("Monday 24 July 2023") and a flat `{"Black Bin": "2022-11-04T00:00:00"}` (Wigan). Each document becomes one
`bins.schedule` event for its UPRN whose attributes hold the collection dates by bin type. What is news — a moved
collection, a new or ended service — is worked out when it is recorded, against the previous version's dates
(sources/events/schedules.py): the window of dates rolling forward every week is not.

Options: `uprn` (the property; else the `uprn` query parameter of the URL), `address` (shown in the title),
`encoding` (when the scraper's output is not UTF-8).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from sources.events.dates import parse_date
from sources.events.models import Event
from sources.feeds.adapters import register
from sources.feeds.adapters.common import canonical_uprn, decode_json, json_type, validation_reason
from sources.feeds.base import Page, Parsed, RecordError, Rejected, SourceError

_TYPE_KEYS = ('type', 'bin_type', 'binType', 'bin', 'name')
_DATE_KEYS = ('collectionDate', 'collection_date', 'date', 'nextCollectionDate')


class UkbcdAdapter:
    kind: ClassVar[str] = 'ukbcd'

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        return url

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        return None

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        uprn = property_uprn(page.url, options)
        document = decode_json(page, options, 'UKBinCollectionData JSON')
        items = _items(document)
        parsed = Parsed()
        dates: dict[str, set[date]] = {}
        seen: dict[tuple[str, date], int] = {}
        for number, item in enumerate(items, start=1):
            try:
                bin_type, when = _bin(item)
            except ValueError as error:
                parsed.rejected.append(Rejected(f'bin {number}', validation_reason(error)))
                continue
            if (bin_type, when) in seen:
                parsed.rejected.append(
                    Rejected(f'bin {number}', f'duplicate of bin {seen[bin_type, when]} (the same on {when:%d/%m/%Y})')
                )
                continue
            seen[bin_type, when] = number
            dates.setdefault(bin_type, set()).add(when)
        if not dates:
            if not parsed.rejected:
                raise SourceError('no bin collections in the document (UKBinCollectionData requires at least one)')
            return parsed
        try:
            parsed.events.append(schedule_event(source, uprn, dates, options, now, url=None))
        except ValueError as error:
            parsed.rejected.append(Rejected(f'uprn {uprn}', validation_reason(error)))
        return parsed


def schedule_event(
    source: str,
    uprn: str,
    dates: Mapping[str, set[date]],
    options: Mapping[str, str],
    now: datetime,
    *,
    url: str | None,
    moved: list[dict[str, str]] | None = None,
) -> Event:
    """The one event for a property's schedule: dates by bin type, and any collections the feed itself says moved
    (an iCalendar override), which the summary mentions."""
    ordered = {name: sorted(days) for name, days in sorted(dates.items())}
    where = options.get('address') or f'property {uprn}'
    # From the data alone (not from `now`), so polling the same schedule again fingerprints the same.
    summary = ' '.join(
        f'{name}: {", ".join(f"{d:%a} {d.day} {d:%b %Y}" for d in days[:4])}.' for name, days in ordered.items()
    )
    for move in moved or []:
        usually = f' (usually {move["usual_day"]})' if move.get('usual_day') else ''
        summary += f' {move["type"]} moved to {move["date_text"]}{usually}.'
    attributes: dict[str, Any] = {
        'collection_dates': {name: [day.isoformat() for day in days] for name, days in ordered.items()},
        'bin_types': list(ordered),
    }
    if moved:
        attributes['moved'] = moved
    return Event(
        source=source,
        external_key=f'uprn:{uprn}',
        kind='bins.schedule',  # made `bins.changed` on recording, when the dates differ from the previous version's
        topic='bins',
        title=f'Bin collections at {where}',
        summary=summary,
        uprn=uprn,
        url=url,
        attributes=attributes,
        occurred_at=now,
        # the window of dates rolls forward every week: only what sources.events.schedules finds against the previous
        # version is news (a new bin type also changes `bin_types`, which is fingerprinted)
        fingerprint_ignores=['summary', 'kind', 'attributes.collection_dates', 'attributes.moved'],
    )


def day_text(day: date) -> str:
    """'Tuesday 18 July' (no leading zero, on every platform)."""
    return f'{day:%A} {day.day} {day:%B}'


def property_uprn(url: str, options: Mapping[str, str]) -> str:
    raw = options.get('uprn') or next(iter(parse_qs(urlsplit(url).query).get('uprn', [])), None)
    if not raw:
        raise SourceError('no UPRN for this schedule: set --option uprn=<UPRN> (or put uprn= in the URL)')
    return canonical_uprn(raw)


def _items(document: Any) -> list[Any]:
    if isinstance(document, dict) and isinstance(document.get('bins'), list):
        return document['bins']
    if isinstance(document, dict) and document and all(isinstance(v, str) for v in document.values()):
        # Wigan's flat shape: {"Black Bin": "2022-11-04T00:00:00"}
        return [{'type': name, 'collectionDate': when} for name, when in document.items()]
    shape = 'an object without a "bins" list' if isinstance(document, dict) else json_type(document)
    raise SourceError(f'not a UKBinCollectionData document: expected {{"bins": [...]}}, got {shape}')


def _bin(item: Any) -> tuple[str, date]:
    if not isinstance(item, dict):
        raise RecordError(f'expected an object with type and collectionDate, got {json_type(item)}')
    bin_type = next((item[k] for k in _TYPE_KEYS if isinstance(item.get(k), str) and item[k].strip()), None)
    if bin_type is None:
        raise RecordError(f'no bin type (looked for {", ".join(_TYPE_KEYS)})')
    key = next((k for k in _DATE_KEYS if item.get(k) not in (None, '')), None)
    raw = item[key] if key else None
    if key is None or not isinstance(raw, str):
        raise RecordError(f'no collection date (looked for {", ".join(_DATE_KEYS)})')
    try:
        when = parse_date(raw)  # every style councils publish: 18/07/2023, Monday 24 July 2023, 26-Aug-21, ISO...
    except ValueError as error:
        raise RecordError(f'{key}: {error}') from None
    if when is None:
        raise RecordError(f'{key}: empty collection date')
    return ' '.join(bin_type.split()), when


register(UkbcdAdapter())
