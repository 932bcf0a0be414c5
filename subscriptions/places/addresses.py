"""Addresses by postcode, for picking your home in the bin day journey (/bins), and importing them.

Two places know addresses: the `addresses` table (a council's LLPG export, imported with
`tellme addresses import FILE.csv`) and bin schedule sources whose `address` option ends in a postcode (their
events' titles read "Bin collections at 12 Acacia Avenue, Stretford, M32 0AH"). A postcode's addresses are both,
the table winning for a UPRN in both, in the order people expect (by street, then house number).

An LLPG CSV needs a header row with `UPRN`, a postcode column (`POSTCODE` or `POSTCODE_LOCATOR`) and either one
address column (`ADDRESS`, `FULL_ADDRESS`, `SINGLE_LINE_ADDRESS`, `LPI_ADDRESS`) or the usual parts (`SAO_TEXT`,
`SAON`, `PAO_TEXT`, `PAON`, `STREET_DESCRIPTION`, `LOCALITY`, `TOWN_NAME`); case and spaces in headers do not
matter. A row without a UPRN, a GB postcode or an address is skipped and counted, never guessed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from subscriptions.places.postcodes import PostcodeError, normalise_postcode

FOR_POSTCODE = r"""
with bins as (
    select distinct on (uprn) uprn, btrim(regexp_replace(title, '^Bin collections at ', '')) as address
    from events
    where topic = 'bins' and uprn is not null
      and upper(regexp_replace(title, '\s', '', 'g')) like '%' || replace($1, ' ', '')
    order by uprn, id desc
)
select uprn, address from addresses where postcode = $1
union all
select uprn, address from bins where uprn not in (select uprn from addresses where postcode = $1)
"""
ONE = """
select address from addresses where uprn = $1 and postcode = $2
union all
select btrim(regexp_replace(title, '^Bin collections at ', '')) from events
where topic = 'bins' and uprn = $1 and upper(regexp_replace(title, '\\s', '', 'g')) like '%' || replace($2, ' ', '')
limit 1
"""
UPSERT = """
insert into addresses (uprn, postcode, address, origin) values ($1, $2, $3, 'llpg')
on conflict (uprn) do update set postcode = excluded.postcode, address = excluded.address, updated_at = now()
where (addresses.postcode, addresses.address) is distinct from (excluded.postcode, excluded.address)
"""
SINGLE_COLUMNS = ('address', 'full_address', 'single_line_address', 'lpi_address', 'addressline')
PART_COLUMNS = ('sao_text', 'saon', 'pao_text', 'paon', 'street_description', 'locality', 'town_name')
POSTCODE_COLUMNS = ('postcode', 'postcode_locator', 'post_code')


@dataclass(frozen=True)
class Address:
    uprn: str
    text: str


def _sort_key(address: Address) -> tuple[str, int, str]:
    """By street, then house number (a flat's building number), then the whole text."""
    rest = re.sub(r'^(flat|apartment|unit)\s+\w+,?\s*', '', address.text, flags=re.IGNORECASE)
    numbered = re.match(r'(\d+)[a-z]?,?\s*(.*)', rest, flags=re.IGNORECASE)
    if numbered:
        return numbered[2].lower(), int(numbered[1]), address.text.lower()
    return rest.lower(), 0, address.text.lower()


async def for_postcode(db: asyncpg.Pool | asyncpg.Connection, postcode: str) -> list[Address]:
    rows = await db.fetch(FOR_POSTCODE, postcode)
    return sorted((Address(row['uprn'], row['address']) for row in rows), key=_sort_key)


async def find(db: asyncpg.Pool | asyncpg.Connection, uprn: str, postcode: str) -> str | None:
    """The address of a UPRN at that postcode (so a forged form cannot pick someone else's property)."""
    return await db.fetchval(ONE, uprn, postcode)


# --- importing an LLPG export ---------------------------------------------------------------------------------


@dataclass
class Imported:
    added_or_changed: int = 0
    unchanged: int = 0
    skipped: int = 0


def _key(header: str) -> str:
    return re.sub(r'[\s\-]+', '_', header.strip().lower())


def _row_address(row: dict[str, str]) -> str:
    for name in SINGLE_COLUMNS:
        if row.get(name, '').strip():
            return ' '.join(row[name].split())
    parts = [' '.join(row.get(name, '').split()) for name in PART_COLUMNS]
    return ', '.join(part for part in parts if part)


def read_llpg(lines: Iterable[str]) -> tuple[list[tuple[str, str, str]], int]:
    """(uprn, postcode, address) rows from an LLPG CSV, and how many rows were skipped."""
    reader = csv.DictReader(lines)
    reader.fieldnames = [_key(name) for name in reader.fieldnames or []]
    if 'uprn' not in reader.fieldnames or not any(name in reader.fieldnames for name in POSTCODE_COLUMNS):
        raise ValueError('the CSV needs a header row with UPRN and POSTCODE (or POSTCODE_LOCATOR) columns')
    rows, skipped = {}, 0
    for row in reader:
        uprn = (row.get('uprn') or '').strip().lstrip('0') or ''
        text = next((row[name] for name in POSTCODE_COLUMNS if (row.get(name) or '').strip()), '')
        address = _row_address(row)[:500]
        try:
            postcode = normalise_postcode(text)
        except PostcodeError:
            postcode = ''
        if not re.fullmatch(r'[0-9]{1,12}', uprn) or not postcode or not address:
            skipped += 1
            continue
        rows[uprn] = (uprn, postcode, address)
    return list(rows.values()), skipped


async def import_llpg(conn: asyncpg.Connection, path: Path) -> Imported:
    with path.open(newline='', encoding='utf-8-sig') as file:
        rows, skipped = read_llpg(file)
    result = Imported(skipped=skipped)
    async with conn.transaction():
        for row in rows:
            status = await conn.execute(UPSERT, *row)
            if status.endswith(' 1'):
                result.added_or_changed += 1
            else:
                result.unchanged += 1
    return result
