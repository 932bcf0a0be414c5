"""Bin collection schedules in UKBinCollectionData's JSON, one document per property (UPRN).

The canonical shape is `{"bins": [{"type": "Grey bin", "collectionDate": "18/07/2023"}, ...]}`; real scrapers
also emit `bin_type` for `type`, extra keys (`previousCollectionDate`, `collectionTime`), human dates
("Monday 24 July 2023") and a flat `{"Black Bin": "2022-11-04T00:00:00"}` (Wigan). Each document becomes one
`bins.schedule` event for its UPRN whose attributes hold the collection dates by bin type, so the pipeline sees a
new service or a moved date as a change. A date off a bin's usual weekday (a bank-holiday move) makes the event
`bins.changed` with the moves listed.

Options: `uprn` (the property; else the `uprn` query parameter of the URL), `address` (shown in the title),
`encoding` (when the scraper's output is not UTF-8).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from sources.adapters import register
from sources.adapters.common import decode_text
from sources.base import Page, Parsed, Rejected, SourceError
from sources.dates import parse_date
from sources.models import Event

_TYPE_KEYS = ('type', 'bin_type', 'binType', 'bin', 'name')
_DATE_KEYS = ('collectionDate', 'collection_date', 'date', 'nextCollectionDate')
_WEEKDAYS = ('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday')


def canonical_uprn(raw: str) -> str:
    """'000125011723' → '125011723'; Bolton's 'UPRN|ADDRESS' form keeps the number only."""
    digits = raw.split('|', 1)[0].strip()
    if not re.fullmatch(r'[0-9]+', digits) or not 0 < int(digits) < 10**12:
        raise SourceError(f'{raw!r} is not a UPRN (up to 12 digits)')
    return str(int(digits))


def decode_json(page: Page, options: Mapping[str, str], what: str) -> Any:
    """The page's JSON, or a SourceError that says what the page was instead (HTML, truncated, wrong encoding)."""
    stripped = decode_text(page, options, 'page').lstrip()
    if not stripped:
        raise SourceError(f'page is empty, expected {what}')
    if stripped.startswith('<'):
        raise SourceError(f'page is HTML or XML, not {what}: {_snippet(stripped)}')
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as error:
        at_end = error.pos >= len(stripped.rstrip()) - 1 or error.msg.startswith('Unterminated string')
        truncated = ' (truncated?)' if at_end else ''
        raise SourceError(
            f'page is not valid JSON{truncated}: {error.msg} at line {error.lineno} column {error.colno}'
        ) from None


def int_option(options: Mapping[str, str], key: str, default: int, *, low: int = 1, high: int = 100_000) -> int:
    """A whole-number option within [low, high], or a SourceError naming it."""
    raw = options.get(key)
    if raw is None:
        return default
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise SourceError(f'option {key}={raw!r}: give a whole number from {low} to {high}')
    return int(raw)


def validation_reason(error: ValueError) -> str:
    """One readable sentence from a ValueError or a pydantic ValidationError."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = '.'.join(str(part) for part in first['loc'])
        return f'{where}: {first["msg"]}' if where else first['msg']
    return str(error)


def _snippet(text: str) -> str:
    title = re.search(r'<title>(.*?)</title>', text, re.IGNORECASE | re.DOTALL)
    if title:
        return f'title {title.group(1).strip()[:80]!r}'
    return repr(text[:80])


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
                parsed.rejected.append(Rejected(f'bin {number}', str(error)))
                continue
            if (bin_type, when) in seen:
                parsed.rejected.append(
                    Rejected(
                        f'bin {number}', f'duplicate of bin {seen[bin_type, when]} ({bin_type} on {when:%d/%m/%Y})'
                    )
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
    """The one event for a property's schedule: dates by bin type, and any collections off their usual day."""
    ordered = {name: sorted(days) for name, days in sorted(dates.items())}
    moves = moved if moved is not None else off_pattern(ordered)
    where = options.get('address') or f'property {uprn}'
    # From the data alone (not from `now`), so polling the same schedule again fingerprints the same.
    summary = ' '.join(
        f'{name}: {", ".join(f"{d:%a} {d.day} {d:%b %Y}" for d in days[:4])}.' for name, days in ordered.items()
    )
    for move in moves:
        usually = f' (usually {move["usual_day"]})' if move.get('usual_day') else ''
        summary += f' {move["type"]} moved to {move["date_text"]}{usually}.'
    attributes: dict[str, Any] = {
        'collection_dates': {name: [day.isoformat() for day in days] for name, days in ordered.items()},
        'bin_types': list(ordered),
    }
    if moves:
        attributes['moved'] = moves
    return Event(
        source=source,
        external_key=f'uprn:{uprn}',
        kind='bins.changed' if moves else 'bins.schedule',
        topic='bins',
        title=f'Bin collections at {where}',
        summary=summary,
        uprn=uprn,
        url=url,
        attributes=attributes,
        occurred_at=now,
        # the window of dates rolls forward every week; only a new bin type or a moved collection is news
        fingerprint_ignores=['summary', 'attributes.collection_dates'],
    )


def off_pattern(ordered: Mapping[str, list[date]]) -> list[dict[str, str]]:
    """Collections on a different weekday from the rest of their bin's (at least three dates to tell)."""
    moves = []
    for name, days in ordered.items():
        if len(days) < 3:
            continue
        usual, count = Counter(day.weekday() for day in days).most_common(1)[0]
        if count * 2 <= len(days):
            continue
        for day in days:
            if day.weekday() != usual:
                moves.append(
                    {
                        'type': name,
                        'date': day.isoformat(),
                        'date_text': day_text(day),
                        'usual_day': _WEEKDAYS[usual],
                    }
                )
    return moves


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
    shape = type(document).__name__ if not isinstance(document, dict) else f'keys {sorted(document)[:5]}'
    raise SourceError(f'not a UKBinCollectionData document: expected {{"bins": [...]}}, got {shape}')


def _bin(item: Any) -> tuple[str, date]:
    if not isinstance(item, dict):
        raise ValueError(f'expected an object with type and collectionDate, got {item!r:.60}')
    bin_type = next((item[k] for k in _TYPE_KEYS if isinstance(item.get(k), str) and item[k].strip()), None)
    if bin_type is None:
        raise ValueError(f'no bin type (looked for {", ".join(_TYPE_KEYS)}) in {sorted(item)}')
    raw = next((item[k] for k in _DATE_KEYS if item.get(k) not in (None, '')), None)
    if not isinstance(raw, str):
        raise ValueError(f'{bin_type}: no collection date (looked for {", ".join(_DATE_KEYS)})')
    try:
        when = parse_date(raw)  # every style councils publish: 18/07/2023, Monday 24 July 2023, 26-Aug-21, ISO...
    except ValueError as error:
        raise ValueError(f'{bin_type}: {error}') from None
    if when is None:
        raise ValueError(f'{bin_type}: empty collection date')
    return ' '.join(bin_type.split()), when


register(UkbcdAdapter())
