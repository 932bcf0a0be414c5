"""Council registers as CSV or JSON, read through a column mapping the operator gives as options.

    tellme sources add iom-planning --kind planning-csv --url https://…/weekly.csv \\
        --option 'map.key=PA Ref' --option map.summary=Details --option map.received_date=Date \\
        --option map.postcode=Details --option map.url=URL --option 'map.authority=Local Authority'

Kinds: `planning-csv`, `licensing-csv`, `licensing-json`. Options:
- `map.<field>=<column>`: where each field comes from. `key` (required) may join columns with `+` and give
  alternatives with `|` (`CaseReference|PremisesName+Postcode`); a value containing `{…}` is a template
  (`map.title={activity}: {name}`). Fields: key, title, summary, address, postcode (the last postcode found in the
  cell, so a postcode at the end of an address or a description works), status, decision, application_type,
  premises_name, ward, authority, url, comment_url, lat, lng, uprn, and dates received_date, validated_date,
  comment_by, decided_date, hearing_date, appeal_status; any other name becomes an attribute of the event.
- `date_format=%d/%m/%Y`: tried first; every style listed in design/sources.md §0 is understood anyway.
- `encoding=…` (default: UTF-8, else the best of cp1252, latin-1 and cp437, with a note), `delimiter=;`|`tab`.
- `event_kind=planning.decided`: every record is this kind (default: worked out from the record).
- `records=data.items` (JSON): where the list of records is (default: the top-level list, or the first list
  under records/data/items/results/entities/features).
Columns of the LGA PremisesLicences schema (CaseReference, PremisesName, …) are mapped without options.

The postcode goes into `attributes['postcode']`; the poller fills coordinates and area codes from the postcode
table (an Isle of Man list, whose IM postcodes are not in the GB table, has no coordinates).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import ValidationError

from sources.adapters import register
from sources.base import Page, Parsed, Rejected, SourceError
from sources.dates import london_midnight, parse_date
from sources.models import Event

POSTCODE = re.compile(r'\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b')
ALIASES = {
    'reference': 'key', 'description': 'summary', 'proposal': 'summary', 'type': 'application_type',
    'latitude': 'lat', 'longitude': 'lng', 'lon': 'lng', 'long': 'lng', 'received': 'received_date',
    'validated': 'validated_date', 'decided': 'decided_date', 'decision_date': 'decided_date',
    'consultation_end': 'comment_by', 'consultation_end_date': 'comment_by', 'representation_end': 'comment_by',
    'hearing': 'hearing_date', 'premises': 'premises_name',
}  # fmt: skip
DATE_FIELDS = {'received_date', 'validated_date', 'comment_by', 'decided_date', 'hearing_date', 'appeal_date'}
TOP_LEVEL = {'key', 'title', 'summary', 'url', 'lat', 'lng', 'uprn'}
# the LGA/esd PremisesLicences schema, mapped when a register's columns are those
LGA_PREMISES = {
    'key': 'CaseReference|PremisesName+Postcode', 'premises_name': 'PremisesName', 'address': 'LocationText',
    'postcode': 'Postcode', 'application_type': 'ServiceTypeLabel', 'received_date': 'CaseDate',
    'status': 'StatusLabel', 'licence_holder': 'LicenceHolder', 'opening_hours': 'OpeningHours',
    'authority': 'OrganisationLabel', 'entertainment': 'EntertainmentTypeLabel',
}  # fmt: skip
DECIDED = {'granted', 'refused', 'rejected', 'withdrawn', 'revoked', 'issued', 'surrendered', 'approved', 'lapsed'}
TITLE_LENGTH = 120


@dataclass
class MappedParsed(Parsed):
    """Parsed, plus notes an operator should see that are not rejections (e.g. "read as cp437")."""

    notes: list[str] = field(default_factory=list)


class _Row(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ''


@dataclass(frozen=True)
class Mapping_:
    fields: dict[str, str]  # our field -> column, alternatives or template
    date_format: str | None
    event_kind: str | None


def mapping_from(options: Mapping[str, str], columns: list[str]) -> Mapping_:
    fields: dict[str, str] = {}
    if {'CaseReference', 'PremisesName'} <= set(columns) or options.get('schema') == 'lga-premises-licences':
        fields.update({name: spec for name, spec in LGA_PREMISES.items() if _columns_in(spec) <= set(columns)})
        fields.setdefault('key', 'CaseReference')
    for option, value in options.items():
        if option.startswith('map.'):
            name = option[4:].strip().lower().replace('-', '_').replace(' ', '_')
            fields[ALIASES.get(name, name)] = value
    if 'key' not in fields:
        raise SourceError(
            'no key column: say which column identifies a record, e.g. --option "map.key=PA Ref" '
            f'(columns are: {", ".join(columns) or "none"})'
        )
    missing = sorted(
        {column for name, spec in fields.items() if not _is_template(spec) for column in _columns_in(spec)}
        - set(columns)
    )
    if missing:
        raise SourceError(
            f'the feed has no column {", ".join(repr(c) for c in missing)}; its columns are: '
            f'{", ".join(columns) or "none"} (is it the right feed, and the right mapping?)'
        )
    return Mapping_(fields, options.get('date_format') or None, options.get('event_kind') or None)


def _is_template(spec: str) -> bool:
    return '{' in spec


def _columns_in(spec: str) -> set[str]:
    if _is_template(spec):
        return set(re.findall(r'{([^{}]+)}', spec))
    return {column.strip() for alternative in spec.split('|') for column in alternative.split('+')}


def _value(row: Mapping[str, str], spec: str) -> str:
    if _is_template(spec):
        return re.sub(r'\s+', ' ', spec.format_map(_Row(row))).strip(' :-,')
    for alternative in spec.split('|'):
        parts = [(row.get(column.strip()) or '').strip() for column in alternative.split('+')]
        if all(parts):
            return ' / '.join(parts)
    return ''


def decode(body: bytes, encoding: str | None, notes: list[str]) -> str:
    if encoding:
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise SourceError(f'cannot read the feed as {encoding}: {exc}') from None
    try:
        return body.decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        where = body[: exc.start].count(b'\n') + 1
    best, text = max(
        ((name, body.decode(name, errors='replace')) for name in ('cp1252', 'latin-1', 'cp437')),
        key=lambda pair: _plausibility(pair[1]),
    )
    notes.append(
        f'the feed is not UTF-8 (first odd byte on line {where}); read it as {best} — '
        f'if names look wrong, set --option encoding=…'
    )
    return text


def _plausibility(text: str) -> int:
    score = 0
    for char in {c for c in text if ord(c) > 127}:
        category = unicodedata.category(char)
        score += 2 if category.startswith('L') else -3 if category[0] in 'CS' or char == '\ufffd' else -1
    return score


def _looks_like_html(page: Page, text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return 'html' in (page.content_type or '').lower() or head.startswith(('<!doctype html', '<html'))


class _MappedAdapter(ABC):
    kind: ClassVar[str]
    topic: ClassVar[str]

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        return url

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        return None

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        parsed = MappedParsed()
        text = decode(page.body, options.get('encoding'), parsed.notes)
        if _looks_like_html(page, text):
            raise SourceError('the server sent a web page (HTML), not the register: an error or login page?')
        seen: dict[str, str] = {}
        for where, row, mapping in self.records(text, options, parsed):
            try:
                event = self.event(row, mapping, source=source, now=now, where=where, notes=parsed.notes)
            except (ValueError, ValidationError) as exc:
                parsed.rejected.append(Rejected(where, _reason(exc)))
                continue
            if event.external_key in seen:
                parsed.rejected.append(
                    Rejected(where, f'{event.external_key!r} appears again (first on {seen[event.external_key]}); '
                             'kept the first')
                )  # fmt: skip
                continue
            seen[event.external_key] = where
            parsed.events.append(event)
        return parsed

    def records(
        self, text: str, options: Mapping[str, str], parsed: Parsed
    ) -> list[tuple[str, dict[str, str], Mapping_]]:
        delimiter = {'tab': '\t', '\\t': '\t'}.get(options.get('delimiter', ','), options.get('delimiter', ','))
        if len(delimiter) != 1:
            raise SourceError(f'delimiter must be one character (or "tab"), not {delimiter!r}')
        if text.lstrip()[:1] in ('{', '['):
            raise SourceError('the feed is JSON, not CSV: use --kind licensing-json, or check the URL')
        reader = csv.DictReader(io.StringIO(text, newline=''), delimiter=delimiter)
        columns = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = columns
        mapping = mapping_from(options, columns)
        rows: list[tuple[str, dict[str, str], Mapping_]] = []
        try:
            for row in reader:
                if not any((value or '').strip() for key, value in row.items() if key is not None):
                    continue
                rows.append((f'line {reader.line_num}', {k: v or '' for k, v in row.items() if k is not None}, mapping))
        except csv.Error as exc:
            parsed.rejected.append(Rejected(f'line {reader.line_num}', f'unreadable CSV ({exc}); stopped here'))
        return rows

    def event(
        self, row: dict[str, str], mapping: Mapping_, *, source: str, now: datetime, where: str, notes: list[str]
    ) -> Event:
        values = {name: _value(row, spec) for name, spec in mapping.fields.items()}
        key = values.pop('key', '')
        if not key:
            raise ValueError(f'no key ({mapping.fields["key"]} is empty), so this record cannot be told apart')
        attributes: dict[str, Any] = {}
        for name, value in values.items():
            if name in TOP_LEVEL or not value:
                continue
            if name in DATE_FIELDS or name.endswith('_date'):
                try:
                    day = parse_date(value, mapping.date_format)
                except ValueError as exc:
                    raise ValueError(f'{mapping.fields[name]}: {exc}') from None
                attributes[name] = day.isoformat() if day else None
            elif name == 'postcode':
                found = POSTCODE.findall(value.upper())
                if found:
                    attributes['postcode'] = ' '.join(found[-1])
            else:
                attributes[name] = value[:1000]
        attributes = {name: value for name, value in attributes.items() if value is not None}
        summary = values.get('summary', '')[:5000]
        title = (values.get('title') or _first_sentence(summary) or key)[:500]
        lat, lng = _coordinates(values.get('lat', ''), values.get('lng', ''), where, notes)
        url = values.get('url') or None
        if url and not url.startswith(('http://', 'https://')):
            notes.append(f'{where}: {url[:80]!r} is not a web address; left out')
            url = None
        when = next(
            (attributes[name] for name in ('decided_date', 'hearing_date', 'validated_date', 'received_date')
             if attributes.get(name)), None,
        )  # fmt: skip
        uprn = values.get('uprn', '').lstrip('0') or None
        return Event(
            source=source, external_key=key[:300], kind=mapping.event_kind or self.kind_for(attributes),
            topic=self.topic, title=title, summary=summary, lat=lat, lng=lng, uprn=uprn, url=url,
            attributes=attributes,
            occurred_at=london_midnight(datetime.fromisoformat(when).date()) if when else now,
        )  # fmt: skip

    @abstractmethod
    def kind_for(self, attributes: Mapping[str, Any]) -> str:
        """The event kind a record's state implies (planning or licensing rules, from a mixin)."""


def _first_sentence(text: str) -> str:
    sentence = re.split(r'(?<=[a-z0-9)])\.\s', text.strip(), maxsplit=1)[0].strip()
    if len(sentence) <= TITLE_LENGTH:
        return sentence
    return sentence[: TITLE_LENGTH - 1].rsplit(' ', 1)[0] + '…'


def _coordinates(lat_text: str, lng_text: str, where: str, notes: list[str]) -> tuple[float | None, float | None]:
    if not lat_text and not lng_text:
        return None, None
    try:
        lat, lng = float(lat_text), float(lng_text)
    except ValueError:
        notes.append(f'{where}: coordinates {lat_text!r}, {lng_text!r} are not numbers; used the postcode instead')
        return None, None
    if 49 <= lng <= 61 and -9 <= lat <= 2:
        lat, lng = lng, lat  # latitude and longitude the wrong way round: a common slip
    if not (49 <= lat <= 61 and -9 <= lng <= 2):
        notes.append(f'{where}: coordinates {lat_text}, {lng_text} are not in the UK; used the postcode instead')
        return None, None
    return lat, lng


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False, include_input=False)[0]
        return f'{".".join(str(p) for p in error["loc"]) or "record"}: {error["msg"].removeprefix("Value error, ")}'
    return str(exc)


class _Json(_MappedAdapter):
    def records(
        self, text: str, options: Mapping[str, str], parsed: Parsed
    ) -> list[tuple[str, dict[str, str], Mapping_]]:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(
                f'not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}) — truncated, or not JSON?'
            ) from None
        items = _records_in(document, options.get('records'))
        flat = [_flatten(item) if isinstance(item, dict) else None for item in items]
        columns = sorted({key for item in flat if item for key in item})
        mapping = mapping_from(options, columns) if flat else None
        if mapping is not None and '@lat' in columns and 'lat' not in mapping.fields:
            mapping.fields.update(lat='@lat', lng='@lng')
        rows: list[tuple[str, dict[str, str], Mapping_]] = []
        for index, item in enumerate(flat, start=1):
            if item is None:
                parsed.rejected.append(Rejected(f'record {index}', 'not a JSON object'))
            elif mapping is not None:
                rows.append((f'record {index}', item, mapping))
        return rows


def _records_in(document: Any, path: str | None) -> list[Any]:
    if path:
        node = document
        for part in path.split('.'):
            if not isinstance(node, dict) or part not in node:
                raise SourceError(f'the JSON has no {path!r} (records option): no {part!r} there')
            node = node[part]
        if not isinstance(node, list):
            raise SourceError(f'{path!r} in the JSON is not a list of records')
        return node
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for name in ('records', 'data', 'items', 'results', 'entities', 'features', 'premises'):
            if isinstance(document.get(name), list):
                return document[name]
    raise SourceError('cannot find the list of records in the JSON: say where with --option records=…')


def _flatten(item: dict[str, Any], prefix: str = '') -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in item.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(_flatten(value, f'{name}.'))
        elif isinstance(value, list):
            flat[name] = ', '.join(str(part) for part in value if not isinstance(part, dict | list))
        else:
            flat[name] = '' if value is None else str(value)
    geometry = item.get('geometry')
    if not prefix and isinstance(geometry, dict) and geometry.get('type') == 'Point':
        lng, lat = (geometry.get('coordinates') or [None, None])[:2]
        flat['@lat'], flat['@lng'] = str(lat), str(lng)  # used when no lat/lng columns are mapped
    return flat


class _Planning:
    topic = 'planning'

    def kind_for(self, attributes: Mapping[str, Any]) -> str:
        status = str(attributes.get('status', '')).lower()
        if attributes.get('appeal_status') or 'appeal' in status:
            return 'planning.appeal'
        if attributes.get('decision') or attributes.get('decided_date'):
            return 'planning.decided'
        if 'amend' in status or 're-consult' in status or 'reconsult' in status:
            return 'planning.amended'
        if attributes.get('comment_by'):
            return 'planning.consultation'
        return 'planning.new'


class _Licensing:
    topic = 'licensing'

    def kind_for(self, attributes: Mapping[str, Any]) -> str:
        status = str(attributes.get('status', '')).strip().lower()
        if attributes.get('decision') or attributes.get('decided_date') or status in DECIDED:
            return 'licensing.decided'
        if attributes.get('hearing_date'):
            return 'licensing.hearing'
        if 'variation' in str(attributes.get('application_type', '')).lower():
            return 'licensing.variation'
        return 'licensing.new'


class PlanningCsv(_Planning, _MappedAdapter):
    kind = 'planning-csv'


class LicensingCsv(_Licensing, _MappedAdapter):
    kind = 'licensing-csv'


class LicensingJson(_Licensing, _Json):
    kind = 'licensing-json'


for _adapter in (PlanningCsv(), LicensingCsv(), LicensingJson()):
    register(_adapter)
