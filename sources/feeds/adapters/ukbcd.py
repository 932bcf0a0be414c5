"""Bin collection schedules in UKBinCollectionData's JSON, one document per property (UPRN) or collection round.

The canonical shape is `{"bins": [{"type": "Grey bin", "collectionDate": "18/07/2023"}, ...]}`; real scrapers
also emit `bin_type` for `type`, extra keys (`previousCollectionDate`), human dates ("Monday 24 July 2023"), a flat
`{"Black Bin": "2022-11-04T00:00:00"}` (Wigan) and the date under another key (Salford's `collectionTime`). When
none of the usual date keys is there, the one other key whose value reads as a date is used, and a note says which
(several such keys: `--option date_key=<key>` says which one). Bin types are named as residents read them, the
same bin the same from one week to the next (sources/events/bin_types.py): "✅ Black bin" and "Black Bin" are
one bin.

Each document becomes one `bins.schedule` event whose attributes hold the collection dates by bin type. What is
news — a moved collection, a new or ended service — is worked out when it is recorded, against the previous
version's dates (sources/events/schedules.py): the window of dates rolling forward every week is not. A document
whose dates have all passed says so (a note, and `Parsed.last_collection` for the source's health alert).

Options: `uprn` (the property; else the `uprn` query parameter of the URL) or `uprns` (every property the
schedule serves — a collection round — as a list of UPRNs separated by commas or spaces; every resident at those
addresses is told and reminded), `round` (the round's name, shown in the title), `address` (shown in the title),
`date_key`, `encoding` (when the scraper's output is not UTF-8).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from sources.events.bin_types import bin_key, display_name
from sources.events.dates import LONDON, parse_date
from sources.events.models import Event
from sources.feeds.adapters import register
from sources.feeds.adapters.common import canonical_uprn, decode_json, json_type, validation_reason
from sources.feeds.base import Page, Parsed, RecordError, Rejected, SourceError

_TYPE_KEYS = ('type', 'bin_type', 'binType', 'bin', 'name')
_DATE_KEYS = ('collectionDate', 'collection_date', 'date', 'nextCollectionDate')
# a key is named back in a note only when it looks like a field name (letters and _ only, as scrapers name them):
# a feed's key is its content, and one that reads like a sentence, an address or a secret is not repeated
_FIELD_NAME = re.compile(r'^[A-Za-z][A-Za-z_]{0,39}$')
MAX_ROUND = 20_000  # UPRNs one schedule may serve


@dataclass(frozen=True)
class Served:
    """Who a schedule is for: one property (`uprn`), or a collection round (`uprns`, with its `name` if given)."""

    uprn: str | None = None
    uprns: tuple[str, ...] = ()
    name: str | None = None

    @property
    def where(self) -> str:
        """How rejections name it: 'uprn 123' or 'round'."""
        return f'uprn {self.uprn}' if self.uprn else 'round'


class UkbcdAdapter:
    kind: ClassVar[str] = 'ukbcd'
    reads_by_date: ClassVar[bool] = True  # the next weeks from the poll's date: never 'not modified'

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        return url

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        return None

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        served = served_by(page.url, options)
        document = decode_json(page, options, 'UKBinCollectionData JSON')
        items = _items(document)
        parsed = Parsed()
        dates = BinDates()
        seen: dict[tuple[str, date], int] = {}
        other_keys: Counter[str] = Counter()
        for number, item in enumerate(items, start=1):
            try:
                name, when, used = _bin(item, options.get('date_key'))
            except ValueError as error:
                parsed.rejected.append(Rejected(f'bin {number}', validation_reason(error)))
                continue
            if used is not None:
                other_keys[used] += 1
            if (bin_key(name), when) in seen:
                parsed.rejected.append(
                    Rejected(
                        f'bin {number}', f'duplicate of bin {seen[bin_key(name), when]} (the same on {when:%d/%m/%Y})'
                    )  # fmt: skip
                )
                continue
            seen[bin_key(name), when] = number
            dates.add(name, when)
        parsed.notes.extend(_other_key_notes(other_keys))
        if not dates:
            if not parsed.rejected:
                raise SourceError('no bin collections in the document (UKBinCollectionData requires at least one)')
            return parsed
        parsed.last_collection = dates.last()
        note_if_ended(parsed, now)
        try:
            parsed.events.append(schedule_event(source, served, dates.by_name, options, now, url=None))
        except ValueError as error:
            parsed.rejected.append(Rejected(served.where, validation_reason(error)))
        return parsed


class BinDates:
    """Dates by bin type, one entry per bin: a name that decorates the same bin differently joins the first."""

    def __init__(self) -> None:
        self.by_name: dict[str, set[date]] = {}
        self._names: dict[str, str] = {}

    def add(self, name: str, when: date) -> None:
        shown = self._names.setdefault(bin_key(name), name)
        self.by_name.setdefault(shown, set()).add(when)

    def has(self, name: str, when: date) -> bool:
        return when in self.by_name.get(self._names.get(bin_key(name), ''), set())

    def name_of(self, name: str) -> str:
        return self._names.get(bin_key(name), name)

    def last(self) -> date | None:
        return max((max(days) for days in self.by_name.values() if days), default=None)

    def __bool__(self) -> bool:
        return bool(self.by_name)


def note_if_ended(parsed: Parsed, now: datetime, *, searched_from: date | None = None) -> None:
    """A schedule with no collection from today on: say so on the poll (the source's health raises the alert)."""
    last = parsed.last_collection
    if last is None or last >= now.astimezone(LONDON).date():
        return
    if searched_from is not None and last < searched_from:
        parsed.notes.append(
            f'no collections listed from {short_date(searched_from)} on: the schedule has run out; nothing new '
            'to record until the council publishes new dates'
        )
    else:
        parsed.notes.append(
            f'no collections after {short_date(last)}: every date listed has passed (a calendar that ran out?); '
            'nothing new to record until the council publishes new dates'
        )


def short_date(day: date) -> str:
    """'29 Nov 2026' (no leading zero)."""
    return f'{day.day} {day:%b %Y}'


def _other_key_notes(used: Counter[str]) -> list[str]:
    notes = []
    for key, count in sorted(used.items()):
        named = key if _FIELD_NAME.match(key) else 'another key (not named here: it does not look like a field name)'
        bins = f'{count} bins' if count != 1 else '1 bin'
        notes.append(
            f'{bins} had none of {", ".join(_DATE_KEYS)}: their date was read from {named}, the one key holding a date'
        )
    return notes


def served_by(url: str, options: Mapping[str, str]) -> Served:
    """The property (option `uprn`, or `uprn=` in the URL) or the round (option `uprns`) a schedule is for."""
    listed = options.get('uprns', '').strip()
    if listed:
        if options.get('uprn'):
            raise SourceError('give --option uprn=<UPRN> for one property or --option uprns=<UPRN,UPRN,…> for a '
                              'round, not both')  # fmt: skip
        uprns: dict[str, None] = {}
        for position, raw in enumerate(re.split(r'[\s,;]+', listed), start=1):
            try:
                uprns[canonical_uprn(raw)] = None
            except SourceError:
                raise SourceError(
                    f'option uprns: entry {position} is not a UPRN (a number of up to 12 digits); separate UPRNs '
                    'with commas or spaces'
                ) from None
        if len(uprns) > MAX_ROUND:
            raise SourceError(f'option uprns lists {len(uprns):,} UPRNs: a schedule may serve at most {MAX_ROUND:,}')
        return Served(uprns=tuple(sorted(uprns, key=int)), name=options.get('round') or None)
    return Served(uprn=property_uprn(url, options))


def schedule_event(
    source: str,
    served: Served | str,
    dates: Mapping[str, set[date]],
    options: Mapping[str, str],
    now: datetime,
    *,
    url: str | None,
    moved: list[dict[str, str]] | None = None,
) -> Event:
    """The one event for a property's (or a round's) schedule: dates by bin type, and any collections the feed
    itself says moved (an iCalendar override), which the summary mentions."""
    if isinstance(served, str):
        served = Served(uprn=served)
    ordered = {name: sorted(days) for name, days in sorted(dates.items())}
    if served.uprn:
        where = f'at {options.get("address") or f"property {served.uprn}"}'
    elif served.name:
        where = f'for round {served.name}'
    elif options.get('address'):
        where = f'at {options["address"]}'
    else:
        where = f'for a round of {len(served.uprns):,} {"property" if len(served.uprns) == 1 else "properties"}'
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
    if served.uprns:
        # every property the round serves: matching and reminders reach the residents at each (decision 48)
        attributes['uprns'] = list(served.uprns)
    return Event(
        source=source,
        external_key=f'uprn:{served.uprn}' if served.uprn else 'round',
        kind='bins.schedule',  # made `bins.changed` on recording, when the dates differ from the previous version's
        topic='bins',
        title=f'Bin collections {where}',
        summary=summary,
        uprn=served.uprn,
        url=url,
        attributes=attributes,
        occurred_at=now,
        # the window of dates rolls forward every week: only what sources.events.schedules finds against the previous
        # version is news (a new bin type also changes `bin_types`, which is fingerprinted); which properties a round
        # serves is not news either (a property added is reached from the next version on, and reminded at once)
        fingerprint_ignores=['summary', 'kind', 'attributes.collection_dates', 'attributes.moved', 'attributes.uprns'],
    )


def day_text(day: date) -> str:
    """'Tuesday 18 July' (no leading zero, on every platform)."""
    return f'{day:%A} {day.day} {day:%B}'


def property_uprn(url: str, options: Mapping[str, str]) -> str:
    raw = options.get('uprn') or next(iter(parse_qs(urlsplit(url).query).get('uprn', [])), None)
    if not raw:
        raise SourceError(
            'no UPRN for this schedule: set --option uprn=<UPRN> (or put uprn= in the URL), or --option '
            'uprns=<UPRN,UPRN,…> for a round'
        )
    return canonical_uprn(raw)


def _items(document: Any) -> list[Any]:
    if isinstance(document, dict) and isinstance(document.get('bins'), list):
        return document['bins']
    if isinstance(document, dict) and document and all(isinstance(v, str) for v in document.values()):
        # Wigan's flat shape: {"Black Bin": "2022-11-04T00:00:00"}
        return [{'type': name, 'collectionDate': when} for name, when in document.items()]
    shape = 'an object without a "bins" list' if isinstance(document, dict) else json_type(document)
    raise SourceError(f'not a UKBinCollectionData document: expected {{"bins": [...]}}, got {shape}')


def _bin(item: Any, date_key: str | None) -> tuple[str, date, str | None]:
    """(bin type as shown, collection date, the other key the date was read from or None)."""
    if not isinstance(item, dict):
        raise RecordError(f'expected an object with type and collectionDate, got {json_type(item)}')
    type_key = next((k for k in _TYPE_KEYS if isinstance(item.get(k), str) and item[k].strip()), None)
    if type_key is None:
        raise RecordError(f'no bin type (looked for {", ".join(_TYPE_KEYS)})')
    name = display_name(item[type_key])
    if not name:
        raise RecordError(f'{type_key}: no readable bin type (only symbols or punctuation)')
    keys = (date_key, *_DATE_KEYS) if date_key else _DATE_KEYS
    key = next((k for k in keys if item.get(k) not in (None, '')), None)
    used = None
    if key is None:
        key = used = _date_elsewhere(item, type_key)
    raw = item[key] if key else None
    if key is None or not isinstance(raw, str):
        raise RecordError(f'no collection date (looked for {", ".join(keys)}, and no other key holds a date)')
    try:
        when = parse_date(raw)  # every style councils publish: 18/07/2023, Monday 24 July 2023, 26-Aug-21, ISO...
    except ValueError as error:
        raise RecordError(f'{key}: {error}') from None
    if when is None:
        raise RecordError(f'{key}: empty collection date')
    return name, when, used


def _date_elsewhere(item: Mapping[str, Any], type_key: str) -> str | None:
    """The one other key whose value reads as a date (in any style parse_date reads), else None; several are
    ambiguous, so the record says to choose one."""
    found = []
    for key, value in item.items():
        if key == type_key or key in _TYPE_KEYS or not isinstance(value, str):
            continue
        try:
            if parse_date(value) is not None:
                found.append(key)
        except ValueError:
            continue
    if len(found) > 1:
        raise RecordError(
            f'no {_DATE_KEYS[0]}, and {len(found)} other keys hold dates: say which with --option date_key=<key>'
        )
    return found[0] if found else None


register(UkbcdAdapter())
