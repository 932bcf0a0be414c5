"""Wards, districts and other areas by name: the `areas` table (GSS code → English and Welsh name), so pages say
"Sale Central" rather than "Ward E05015254".

OS Code-Point Open carries codes only. Names come from CSV files in the forms ONS publishes them: ONSPD's
`Documents/… names and codes … .csv` companions and the Open Geography Portal's names-and-codes and lookup files
(every `<XX>CD` column with its `<XX>NM` name and, for Wales, `<XX>NMW`, e.g. WD25CD, WD25NM, WD25NMW), or the plain
`code,name,name_cy` of the names shipped for the sample postcodes (subscriptions/data/area_names_sample.csv).
`tellme postcodes import --names FILE` and `tellme postcodes names FILE` load them (FILE a CSV, or an ONSPD download,
zipped or not, whose names files are read), and the import loads the shipped names with the sample. A code nobody
has named is shown as the code.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import asyncpg

from subscriptions.places.codepoint import CsvMember, PostcodeImportError

SAMPLE_NAMES = Path(__file__).parents[1] / 'data' / 'area_names_sample.csv'
GSS = re.compile(r'[A-Z][0-9]{8}')
PSEUDO = re.compile(r'[A-Z]9{8}')  # ONS's "no area" codes (E99999999 and the like)
NAME_FILE = re.compile(r'names? and codes', re.IGNORECASE)
NAME_MAX = 120
WARD_PREFIXES = ('E05', 'W05', 'S13', 'N08')
DISTRICT_PREFIXES = ('E06', 'E07', 'E08', 'E09', 'W06', 'S12', 'N09')

UPSERT = """
with upserted as (
    insert into areas as a (code, name, name_cy)
    select code, name, name_cy from unnest($1::text[], $2::text[], $3::text[]) as i(code, name, name_cy)
    on conflict (code) do update set name = excluded.name, name_cy = excluded.name_cy, updated_at = now()
    where (a.name, a.name_cy) is distinct from (excluded.name, excluded.name_cy)
    returning (xmax = 0) as added
)
select count(*) filter (where added) as added, count(*) filter (where not added) as changed from upserted
"""


@dataclass
class NamesReport:
    files: int = 0
    names: int = 0
    added: int = 0
    changed: int = 0


def _pairs(header: list[str]) -> list[tuple[int, int, int | None]]:
    """(code, name, Welsh name) column positions: ONS's XXnnCD/XXnnNM(W) pairs, or code,name,name_cy."""
    columns = {cell.strip().lower(): n for n, cell in enumerate(header)}
    if 'code' in columns and 'name' in columns:
        return [(columns['code'], columns['name'], columns.get('name_cy'))]
    pairs = []
    for cell, n in columns.items():
        if cell.endswith('cd') and cell[:-2] + 'nm' in columns:
            pairs.append((n, columns[cell[:-2] + 'nm'], columns.get(cell[:-2] + 'nmw')))
    return pairs


def read_names(member: CsvMember) -> Iterator[tuple[str, str, str]]:
    """(code, name, Welsh name or '') from one names file; PostcodeImportError if it has no columns we know."""
    with member.open() as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding='utf-8-sig', errors='replace', newline=''))
        pairs = _pairs(next(reader, []))
        if not pairs:
            raise PostcodeImportError(
                f'{member.name}: no names here (expected a header with code,name[,name_cy] or ONS columns such as '
                'WD25CD,WD25NM)'
            )
        for row in reader:
            for code_at, name_at, welsh_at in pairs:
                code = row[code_at].strip().upper() if code_at < len(row) else ''
                name = ' '.join(row[name_at].split()) if name_at < len(row) else ''
                welsh = ' '.join(row[welsh_at].split()) if welsh_at is not None and welsh_at < len(row) else ''
                if GSS.fullmatch(code) and not PSEUDO.fullmatch(code) and name:
                    yield code, name[:NAME_MAX], welsh[:NAME_MAX]


@contextmanager
def name_files(path: Path) -> Iterator[list[CsvMember]]:
    """The names files in a download (a folder or zip: ONSPD's `… names and codes … .csv`), or `path` itself when
    it is a CSV file; kept readable while the block runs."""
    with ExitStack() as stack:
        if path.is_dir():
            found = [p for p in sorted(path.rglob('*.csv')) if NAME_FILE.search(p.name)]
            yield [CsvMember(p.name, p.stat().st_size, partial(p.open, 'rb')) for p in found]
        elif zipfile.is_zipfile(path):
            archive = stack.enter_context(zipfile.ZipFile(path))
            names = [n for n in archive.namelist() if n.lower().endswith('.csv') and NAME_FILE.search(n)]
            yield [CsvMember(n.rsplit('/', 1)[-1], archive.getinfo(n).file_size, partial(archive.open, n))
                   for n in names]  # fmt: skip
        elif path.is_file():
            yield [CsvMember(path.name, path.stat().st_size, partial(path.open, 'rb'))]
        else:
            raise PostcodeImportError(f'{path}: no such file or folder')


async def store_names(conn: asyncpg.Connection, members: Iterable[CsvMember]) -> NamesReport:
    """Add or update the names in `members` (a code named twice: the last file's name); nothing is deleted."""
    report = NamesReport()
    found: dict[str, tuple[str, str]] = {}
    for member in members:
        report.files += 1
        for code, name, welsh in read_names(member):
            found[code] = (name, welsh)
    report.names = len(found)
    if found:
        codes = list(found)
        counts = await conn.fetchrow(UPSERT, codes, [found[c][0] for c in codes], [found[c][1] for c in codes])
        report.added, report.changed = counts['added'], counts['changed']
    return report


async def load_names(conn: asyncpg.Connection, paths: Iterable[Path]) -> NamesReport:
    """The names in each of `paths` (files, or downloads holding names files), stored in one go."""
    with ExitStack() as stack:
        members = [member for path in paths for member in stack.enter_context(name_files(path))]
        return await store_names(conn, members)


async def names_for(db: asyncpg.Pool | asyncpg.Connection, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """code → (name, Welsh name or '') for the codes that have one."""
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    rows = await db.fetch('select code, name, name_cy from areas where code = any($1::text[])', wanted)
    return {row['code']: (row['name'], row['name_cy']) for row in rows}


def kind_of(code: str) -> str:
    if code.startswith(WARD_PREFIXES):
        return 'ward'
    return 'district' if code.startswith(DISTRICT_PREFIXES) else 'area'


def area_name(code: str, names: Mapping[str, tuple[str, str]], lang: str = 'en') -> str | None:
    found = names.get(code)
    if found is None:
        return None
    return found[1] if lang == 'cy' and found[1] else found[0]


def label(code: str, names: Mapping[str, tuple[str, str]]) -> str:
    """For staff pages: 'Sale Central' (a ward), 'Trafford (district)', else 'Ward E05015254' when nobody named it."""
    kind = kind_of(code)
    name = area_name(code, names)
    if name is None:
        return f'{kind.capitalize()} {code}'
    return name if kind == 'ward' else f'{name} ({kind})'
