"""How a mapped register's columns become our fields: the `map.<field>=<column>` options, the LGA
PremisesLicences schema's columns, and the `status.<word>=<stage>` mapping (see mapped_csv.py for the options)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sources.feeds.base import SourceError

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


class _Row(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ''


# the stage each status word may be mapped to (`--option status.<word>=<stage>`): the event kind's last part
STAGES = {
    'planning': ('new', 'consultation', 'amended', 'decided', 'appeal'),
    'licensing': ('new', 'variation', 'hearing', 'decided'),
}


@dataclass(frozen=True)
class Mapping_:
    fields: dict[str, str]  # our field -> column, alternatives or template
    date_format: str | None
    event_kind: str | None
    stages: dict[str, str] = field(default_factory=dict)  # status word (normalised) -> stage; empty: no mapping


def status_word(text: str) -> str:
    """'  Approved  with Conditions' → 'approved with conditions': how status words are compared."""
    return ' '.join(text.split()).casefold()


def stages_from(options: Mapping[str, str], topic: str) -> dict[str, str]:
    """The source's `status.<word>=<stage>` options, checked against the topic's stages."""
    stages: dict[str, str] = {}
    for option, value in options.items():
        prefix, _, word = option.partition('.')
        if prefix != 'status' or not word.strip():
            continue
        stage = value.strip().lower()
        if stage not in STAGES[topic]:
            raise SourceError(f'option {option}={value!r}: not a {topic} stage (stages: {", ".join(STAGES[topic])})')
        stages[status_word(word)] = stage
    return stages


def mapping_from(options: Mapping[str, str], columns: list[str], topic: str) -> Mapping_:
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
            f'(the feed has {_count(columns)}; open it to see their names)'
        )
    missing = sorted(
        {column for name, spec in fields.items() if not _is_template(spec) for column in _columns_in(spec)}
        - set(columns)
    )
    if missing:
        named = ', '.join(sorted(f'map.{name}' for name, spec in fields.items() if _columns_in(spec) & set(missing)))
        raise SourceError(
            f'the feed has no column {", ".join(repr(c) for c in missing)} (named by {named}); it has '
            f'{_count(columns)} (is it the right feed, and the right mapping? open it to see their names)'
        )
    stages = stages_from(options, topic)
    if stages and 'status' not in fields:
        raise SourceError('the status.<word> options need to know which column holds the status: '
                          '--option map.status=<column>')  # fmt: skip
    return Mapping_(fields, options.get('date_format') or None, options.get('event_kind') or None, stages)


def _count(columns: list[str]) -> str:
    """'14 columns': how many, never their names (they are the feed's text, and the feed may be anything)."""
    return 'no columns' if not columns else f'{len(columns)} column{"s" if len(columns) != 1 else ""}'


def _is_template(spec: str) -> bool:
    return '{' in spec


def _columns_in(spec: str) -> set[str]:
    if _is_template(spec):
        return set(re.findall(r'{([^{}]+)}', spec))
    return {column.strip() for alternative in spec.split('|') for column in alternative.split('+')}


def value_of(row: Mapping[str, str], spec: str) -> str:
    if _is_template(spec):
        return re.sub(r'\s+', ' ', spec.format_map(_Row(row))).strip(' :-,')
    for alternative in spec.split('|'):
        parts = [(row.get(column.strip()) or '').strip() for column in alternative.split('+')]
        if all(parts):
            return ' / '.join(parts)
    return ''
