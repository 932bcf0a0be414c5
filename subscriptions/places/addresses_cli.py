"""`tellme addresses import FILE.csv`: load a council's LLPG export into the addresses residents pick from
when they ask for bin day reminders (subscriptions/places/addresses.py reads the file; see there for its columns).

Importing is one transaction: a file that cannot be read changes nothing, and importing the same file again
changes nothing. Rows are added or updated, never deleted (a resident may be subscribed at that UPRN).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from notifier import db
from notifier.settings import Settings
from subscriptions.places.addresses import Imported, import_llpg


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tellme addresses', description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    load = sub.add_parser('import', help='load an LLPG CSV export (UPRN, postcode, address)')
    load.add_argument('path', type=Path, metavar='FILE.csv')
    return parser


async def _import(settings: Settings, path: Path) -> Imported:
    conn = await db.connect(settings, codecs=False)
    try:
        return await import_llpg(conn, path)
    finally:
        await conn.close()


def main(argv: list[str], settings: Settings) -> int:
    """`tellme addresses …`; returns the exit status."""
    args = build_parser().parse_args(argv)
    if not settings.database_url:
        sys.stderr.write('tellme addresses import: set TELLME_DATABASE_URL\n')
        return 2
    try:
        result = asyncio.run(_import(settings, args.path))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        sys.stderr.write(f'tellme addresses import: could not read {args.path}: {exc}. Nothing was changed.\n')
        return 1
    sys.stdout.write(
        f'imported addresses from {args.path}: {result.added_or_changed:,} added or changed, '
        f'{result.unchanged:,} unchanged, {result.skipped:,} skipped (no UPRN, postcode or address)\n'
    )
    return 0
