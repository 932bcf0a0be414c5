"""What a comms officer composes (the page form and the API body alike), checked into a row of `bulletins`.

Every problem comes back as {field: what to do}, the page's error summary and the API's `errors` alike; nothing is
saved until everything is right. An uploaded list is a CSV file of UPRNs and/or postcodes, one a line or in
columns (a header row is fine): a cell of 1–12 digits is a UPRN, a cell that reads as a postcode is a postcode,
anything else is reported by line. Its topics are the council's catalogue (subscriptions/topics) but for case
updates, which only ever reach the people following a case; wards may be named, given by code, or by a postcode.
"""

from __future__ import annotations

import csv
import io
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from subscriptions.places.areas import WARD_PREFIXES
from subscriptions.places.geocoding import find_postcode
from subscriptions.places.postcodes import PostcodeError, normalise_postcode
from subscriptions.topics import catalogue as topic_catalogue
from subscriptions.topics.catalogue import INTERNAL_GROUPS, Catalogue, Topic

# the catalogue's topics (what residents choose from, and what they chose before a topic was hidden), so a
# bulletin's topics always mean something to someone; ALL: everyone in the area, whatever topics they chose (for
# urgent disruption and safety news: water off, a road closed, a flood warning)
ALL = '*'
AREAS = ('council', 'wards', 'radius', 'list')
CHANNELS = ('email', 'sms', 'letter')
URGENCIES = ('normal', 'urgent')
GSS = re.compile(r'^[EWSN][0-9]{8}$')
UPRN = re.compile(r'^[0-9]{1,12}$')
MAX_WARDS = 20
MAX_LIST = 50_000
RADIUS = (50, 20_000)
TITLE_MAX, MESSAGE_MAX = 150, 5000


@dataclass
class Draft:
    title: str = ''
    message: str = ''
    topics: list[str] = field(default_factory=lambda: ['bulletins'])
    area: str = ''
    wards: str = ''  # GSS ward codes and/or postcodes in the wards, separated by commas or spaces
    postcode: str = ''
    radius: str = ''
    postcodes: list[str] = field(default_factory=list)  # the uploaded list
    uprns: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=lambda: ['email', 'sms'])
    urgency: str = 'normal'

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Draft:
        return cls(
            title=row['title'], message=row['message'], topics=list(row['topics']), area=row['area_kind'],
            wards=', '.join(row['ward_codes']), postcode=row['centre_postcode'] or '',
            radius=str(row['radius_m'] or ''), postcodes=list(row['list_postcodes']), uprns=list(row['list_uprns']),
            channels=list(row['channels']), urgency=row['urgency'],
        )  # fmt: skip


@dataclass(frozen=True)
class Target:
    """A draft checked against the database: what the `bulletins` row will hold."""

    ward_codes: list[str]
    centre: tuple[float, float] | None
    postcode: str | None
    radius_m: int | None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, (str, int))]
    return []


def draft_from_json(data: dict[str, Any]) -> Draft:
    """An API body as a Draft (wrong types become empty values, which the checks then name)."""
    wards = data.get('wards', '')
    return Draft(
        title=str(data.get('title') or ''), message=str(data.get('message') or ''),
        topics=_strings(data.get('topics', ['bulletins'])), area=str(data.get('area') or ''),
        wards=', '.join(_strings(wards)), postcode=str(data.get('postcode') or ''),
        radius=str(data.get('radius_m') or ''), postcodes=_strings(data.get('postcodes', [])),
        uprns=_strings(data.get('uprns', [])), channels=_strings(data.get('channels', [])),
        urgency=str(data.get('urgency') or 'normal'),
    )  # fmt: skip


def read_list(data: bytes) -> tuple[list[str], list[str], str | None]:
    """(postcodes, UPRNs, a problem to show) from an uploaded CSV file."""
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError:
        return [], [], 'The file must be a CSV file saved as UTF-8'
    postcodes: list[str] = []
    uprns: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row if cell.strip()]
        found = False
        for cell in cells:
            if UPRN.fullmatch(cell):
                uprns.append(cell)
                found = True
                continue
            try:
                postcodes.append(normalise_postcode(cell))
                found = True
            except PostcodeError:
                continue
        if cells and not found and number > 1:
            return [], [], f'Line {number} of the file has no UPRN or postcode. Give one a line, like 100012345678'
    if not postcodes and not uprns:
        return [], [], 'The file has no UPRNs or postcodes in it'
    if len(postcodes) + len(uprns) > MAX_LIST:
        return [], [], f'The file can have up to {MAX_LIST:,} UPRNs and postcodes'
    return sorted(set(postcodes)), sorted(set(uprns)), None


def bulletin_topics(catalogue: Catalogue) -> list[Topic]:
    """The topics a bulletin may be for: every one in the catalogue but case updates."""
    return [topic for topic in catalogue.topics if topic.group not in INTERNAL_GROUPS]


def check(draft: Draft, topics: list[str]) -> OrderedDict[str, str]:
    """What is wrong with the draft on its own, its topics among `topics` (keys, in the catalogue's order; the
    database is asked in `resolve`)."""
    keys = [ALL, *topics]
    errors: OrderedDict[str, str] = OrderedDict()
    draft.title, draft.message = draft.title.strip(), draft.message.strip().replace('\r\n', '\n')
    if not draft.title:
        errors['title'] = 'Enter a title'
    elif len(draft.title) > TITLE_MAX:
        errors['title'] = f'The title must be {TITLE_MAX} characters or fewer'
    if not draft.message:
        errors['message'] = 'Enter the message'
    elif len(draft.message) > MESSAGE_MAX:
        errors['message'] = f'The message must be {MESSAGE_MAX:,} characters or fewer'
    choices = (
        ('topics', draft.topics, keys, 'Select at least one topic'),
        ('area', [draft.area], AREAS, 'Select who the bulletin is for'),
        ('channels', draft.channels, CHANNELS, 'Select at least one way to send it'),
        ('urgency', [draft.urgency], URGENCIES, 'Select whether the bulletin is urgent'),
    )
    for name, chosen, allowed, message in choices:
        if not chosen or any(value not in allowed for value in chosen):
            errors[name] = message
    if draft.area == 'radius':
        radius = draft.radius.strip().removesuffix('m').strip()
        if not radius.isdigit() or not RADIUS[0] <= int(radius) <= RADIUS[1]:
            errors['radius'] = f'Enter a distance in metres between {RADIUS[0]} and {RADIUS[1]:,}, like 500'
    if draft.area == 'list' and not draft.postcodes and not draft.uprns:
        errors['list_file'] = 'Choose a CSV file of UPRNs or postcodes'
    if 'topics' not in errors:
        draft.topics = [ALL] if ALL in draft.topics else sorted(set(draft.topics), key=keys.index)
    return errors


async def _wards(conn: asyncpg.Connection, text: str, errors: OrderedDict[str, str]) -> list[str]:
    codes: list[str] = []
    for token in [part.strip() for part in re.split(r'[,;\n]+', text) if part.strip()]:
        if GSS.fullmatch(token.upper()):
            code = token.upper()
            if not await conn.fetchval('select exists (select 1 from postcodes where ward_code = $1)', code):
                errors['wards'] = f'No postcodes are loaded for ward {code}: check the code, or load the postcodes'
                return []
        else:
            try:
                found = await find_postcode(conn, normalise_postcode(token))
            except PostcodeError:
                found = None
            named = [] if found else await _wards_called(conn, token)
            if len(named) > 1:
                errors['wards'] = f'More than one ward is called {token[:60]}: give its code ({", ".join(named)})'
                return []
            if (found is None or not found['ward_code']) and not named:
                errors['wards'] = (
                    f'Enter ward names, codes like E05000829, or a postcode in the ward '
                    f'({token[:20]!r} is none of them)'
                )
                return []
            code = named[0] if named else found['ward_code']
        if code not in codes:
            codes.append(code)
    if not codes:
        errors['wards'] = 'Enter at least one ward: its name, its code (like E05000829) or a postcode in it'
    elif len(codes) > MAX_WARDS:
        errors['wards'] = f'Choose up to {MAX_WARDS} wards'
    return codes


async def _wards_called(conn: asyncpg.Connection, name: str) -> list[str]:
    """The codes of the wards with this name (areas table), any case."""
    rows = await conn.fetch(
        'select code from areas where lower(name) = lower($1) and left(code, 3) = any($2::text[]) order by code',
        ' '.join(name.split())[:120], list(WARD_PREFIXES),
    )  # fmt: skip
    return [row['code'] for row in rows]


async def resolve(conn: asyncpg.Connection, draft: Draft) -> tuple[Target | None, OrderedDict[str, str]]:
    topics = [topic.key for topic in bulletin_topics(await topic_catalogue.load(conn))]
    errors = check(draft, topics)
    wards: list[str] = []
    centre, postcode, radius = None, None, None
    if draft.area == 'wards':
        wards = await _wards(conn, draft.wards, errors)
    elif draft.area == 'radius':
        try:
            postcode = normalise_postcode(draft.postcode)
            found = await find_postcode(conn, postcode)
        except PostcodeError as exc:
            found, message = None, str(exc)
        else:
            message = f'We do not know where {postcode} is: check it, or load the postcodes'
        if found is None:
            errors['postcode'] = message if draft.postcode.strip() else 'Enter the postcode at the centre, like M32 0AH'
        else:
            centre = (found['lat'], found['lng'])
        if 'radius' not in errors:
            radius = int(draft.radius.strip().removesuffix('m').strip())
    if errors:
        return None, errors
    return Target(wards, centre, postcode, radius), errors
