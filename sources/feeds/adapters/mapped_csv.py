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
- `status.<word>=<stage>`: the council's own status words mapped to our stages (`--option status.Approved=decided
  --option "status.Out to consultation=consultation"`); stages are planning: new, consultation, amended, decided,
  appeal; licensing: new, variation, hearing, decided. Words are compared ignoring case and extra spaces. With
  any such option the mapping is the rule: a record whose status word it does not know is rejected, naming its
  line and column and the option that maps a word (never the word itself: see sources/feeds/base.py); a record with no
  status is worked out as usual. Needs `map.status`.
- `event_kind=planning.decided`: every record is this kind (default: from the status mapping, else worked out
  from the record).
- `records=data.items` (JSON): where the list of records is (default: the top-level list, or the first list
  under records/data/items/results/entities/features).
Columns of the LGA PremisesLicences schema (CaseReference, PremisesName, …) are mapped without options.

A quote that is never closed does not swallow the rest of a CSV: the line it starts on is rejected with its
number and reading goes on from the next line (sources/feeds/adapters/csv_reading.py).

The postcode goes into `attributes['postcode']`; the poller fills coordinates and area codes from the postcode
table (an Isle of Man list, whose IM postcodes are not in the GB table, has no coordinates).
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import ValidationError

from sources.events.dates import london_midnight, parse_date
from sources.events.models import Event
from sources.feeds.adapters import register
from sources.feeds.adapters.csv_reading import decode, read_rows
from sources.feeds.adapters.json_records import flatten, records_in
from sources.feeds.adapters.mapped_options import (
    DATE_FIELDS,
    STAGES,
    TOP_LEVEL,
    Mapping_,
    mapping_from,
    status_word,
    value_of,
)
from sources.feeds.base import Page, Parsed, RecordError, Rejected, SourceError, reason_for

POSTCODE = re.compile(r'\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b')
DECIDED = {'granted', 'refused', 'rejected', 'withdrawn', 'revoked', 'issued', 'surrendered', 'approved', 'lapsed'}
TITLE_LENGTH = 120


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
        parsed = Parsed()
        text = decode(page.body, options.get('encoding'), parsed.notes)
        if _looks_like_html(page, text):
            raise SourceError('the server sent a web page (HTML), not the register: an error or login page?')
        seen: dict[str, str] = {}
        for where, row, mapping in self.records(text, options, parsed):
            try:
                event = self.event(row, mapping, source=source, now=now, where=where, notes=parsed.notes)
            except (ValueError, ValidationError) as exc:
                parsed.rejected.append(Rejected(where, reason_for(exc)))
                continue
            if event.external_key in seen:
                parsed.rejected.append(
                    Rejected(where, f'its key appears again (first on {seen[event.external_key]}); kept the first')
                )
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
        columns, rows = read_rows(text, delimiter, parsed)
        mapping = mapping_from(options, columns, self.topic)
        return [(where, row, mapping) for where, row in rows]

    def event(
        self, row: dict[str, str], mapping: Mapping_, *, source: str, now: datetime, where: str, notes: list[str]
    ) -> Event:
        values = {name: value_of(row, spec) for name, spec in mapping.fields.items()}
        key = values.pop('key', '')
        if not key:
            raise RecordError(f'no key ({mapping.fields["key"]} is empty), so this record cannot be told apart')
        attributes: dict[str, Any] = {}
        for name, value in values.items():
            if name in TOP_LEVEL or not value:
                continue
            if name in DATE_FIELDS or name.endswith('_date'):
                try:
                    day = parse_date(value, mapping.date_format)
                except ValueError as exc:
                    raise RecordError(f'{mapping.fields[name]}: {exc}') from None
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
            notes.append(f'{where}: {mapping.fields["url"]} is not a web address (http:// or https://); left out')
            url = None
        when = next(
            (attributes[name] for name in ('decided_date', 'hearing_date', 'validated_date', 'received_date')
             if attributes.get(name)), None,
        )  # fmt: skip
        uprn = values.get('uprn', '').lstrip('0') or None
        return Event(
            source=source, external_key=key[:300], kind=mapping.event_kind or self._kind(attributes, mapping),
            topic=self.topic, title=title, summary=summary, lat=lat, lng=lng, uprn=uprn, url=url,
            attributes=attributes,
            occurred_at=london_midnight(datetime.fromisoformat(when).date()) if when else now,
        )  # fmt: skip

    def _kind(self, attributes: Mapping[str, Any], mapping: Mapping_) -> str:
        """From the source's status mapping when it has one (an unknown word rejects the record), else worked out."""
        word = str(attributes.get('status') or '')
        if not mapping.stages or not word.strip():
            return self.kind_for(attributes)
        stage = mapping.stages.get(status_word(word))
        if stage is None:
            raise RecordError(
                f'its status ({mapping.fields["status"]}) is not in the status mapping: add --option '
                f'"status.<the word>=<stage>" (stages: {", ".join(STAGES[self.topic])})'
            )
        return f'{self.topic}.{stage}'

    @abstractmethod
    def kind_for(self, attributes: Mapping[str, Any]) -> str:
        """The event kind a record's state implies (planning or licensing rules, from a mixin)."""


# Full stops that do not end a sentence in planning descriptions: counts ("1no.", "2 Nos."), measures ("approx.
# 3 sq. m."), "e.g.", "etc." and the abbreviations of addresses ("St. Mary's Rd.", "No. 4"). A word is compared
# without its leading digits, so "1no", "12no" and "no" are one entry.
ABBREVIATIONS = frozenset({
    'no', 'nos', "no's", 'nr', 'approx', 'apprx', 'ca', 'circa', 'sq', 'm', 'mm', 'cm', 'km', 'ft', 'ha', 'max',
    'min', 'incl', 'inc', 'excl', 'ext', 'e.g', 'eg', 'i.e', 'ie', 'etc', 'viz', 'cf', 'st', 'rd', 'ave', 'av', 'cres',
    'ct', 'dr', 'gdns', 'gr', 'ln', 'pl', 'terr', 'tce', 'cl', 'hse', 'bldg', 'blk', 'flr', 'est', 'ind', 'mt', 'mr',
    'mrs', 'ms', 'messrs', 'ltd', 'plc', 'co', 'corp', 'dept', 'ref', 'refs', 'dwg', 'fig', 'para', 'paras', 'pt',
    'cond', 'conds', 'vol', 'vs', 'ch', 'appl', 'app', 'tpo', 'sch', 'nb', 'nth', 'sth', 'cnr', 'opp',
})  # fmt: skip
_SENTENCE_END = re.compile(r'\.(?=\s+\S)')
_WORD_BEFORE = re.compile(r"([A-Za-z0-9']+(?:\.[A-Za-z]+)*)$")  # "1no", "Nos", "e.g" (from "e.g.")


def _first_sentence(text: str) -> str:
    """The description up to its first full stop that ends a sentence (not the one in "1no." or "approx."),
    shortened to TITLE_LENGTH at a word."""
    text = ' '.join(text.split())
    sentence = text
    for stop in _SENTENCE_END.finditer(text):
        before = _WORD_BEFORE.search(text[: stop.start()])
        word = before[1].lower().lstrip('0123456789') if before else ''  # "(2200hrs)." has none: a sentence end
        following = text[stop.end() :].lstrip()[:1]
        if word in ABBREVIATIONS or len(word) == 1 and word.isalpha() or following.islower():
            continue  # "2 Nos. Velux", "approx. 3m", "J. Smith", "windows etc. and doors" (no capital: no new sentence)
        sentence = text[: stop.start()]
        break
    sentence = sentence.strip()
    if len(sentence) <= TITLE_LENGTH:
        return sentence
    return sentence[: TITLE_LENGTH - 1].rsplit(' ', 1)[0] + '…'


def _coordinates(lat_text: str, lng_text: str, where: str, notes: list[str]) -> tuple[float | None, float | None]:
    if not lat_text and not lng_text:
        return None, None
    try:
        lat, lng = float(lat_text), float(lng_text)
    except ValueError:
        notes.append(f'{where}: the coordinates are not numbers; used the postcode instead')
        return None, None
    if 49 <= lng <= 61 and -9 <= lat <= 2:
        lat, lng = lng, lat  # latitude and longitude the wrong way round: a common slip
    if not (49 <= lat <= 61 and -9 <= lng <= 2):
        notes.append(f'{where}: the coordinates are not in the UK (latitude 49 to 61, longitude -9 to 2); used the '
                     'postcode instead')  # fmt: skip
        return None, None
    return lat, lng


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
        items = records_in(document, options.get('records'))
        flat = [flatten(item) if isinstance(item, dict) else None for item in items]
        columns = sorted({key for item in flat if item for key in item})
        mapping = mapping_from(options, columns, self.topic) if flat else None
        if mapping is not None and '@lat' in columns and 'lat' not in mapping.fields:
            mapping.fields.update(lat='@lat', lng='@lng')
        rows: list[tuple[str, dict[str, str], Mapping_]] = []
        for index, item in enumerate(flat, start=1):
            if item is None:
                parsed.rejected.append(Rejected(f'record {index}', 'not a JSON object'))
            elif mapping is not None:
                rows.append((f'record {index}', item, mapping))
        return rows


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
