"""The demo round: three made-up addresses at M32 0AH (Stretford) and the bin calendar published for them.

- The addresses are `subscriptions/data/demo_addresses.csv`, an LLPG export in the format
  `tellme addresses import FILE.csv` reads, loaded with the same importer (a second import changes nothing), so
  /bins finds them at M32 0AH. Their UPRNs (9990000000xx) are made up.
- The calendar is `<data dir>/demo/bins.ics`, iCalendar as councils publish it, written once with dates from the
  day it is written: the refuse bin every week from that day, the recycling bin every other week from the day after,
  and the refuse collection two weeks on moved a day later (a RECURRENCE-ID override saying "changed collection", as a
  bank-holiday week does). So on the first day there is a collection today and one tomorrow, whatever the hour.
- The `ical` source `demo-bins` reads it every hour for the round (`uprns=`, decision 48): one schedule, and the
  residents at any of the three addresses hear of it and are reminded. The workers poll it like any feed.

An unchanged file is "not modified" to a poll, and an iCalendar's dates are worked out from the day it is read, so
each start touches the calendar: the next poll reads it again and its window of dates moves on to today.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

import subscriptions
from notifier.shell.demo.sources import DemoSource
from subscriptions.places.addresses import Imported, import_llpg, read_llpg

LONDON = ZoneInfo('Europe/London')
ADDRESSES = Path(subscriptions.__file__).parent / 'data' / 'demo_addresses.csv'
CALENDAR = Path('demo') / 'bins.ics'
SOURCE = 'demo-bins'
ADDRESS = 'Demo Street, Stretford, M32 0AH'  # the schedule's title: "Bin collections at Demo Street, …"
EVERY = timedelta(hours=1)
WHY = "the demo round's bin calendar, written by tellme dev into its data directory"


def addresses() -> list[tuple[str, str, str]]:
    """(uprn, postcode, address) of each demo address."""
    with ADDRESSES.open(newline='', encoding='utf-8') as file:
        rows, _ = read_llpg(file)
    return rows


async def load_addresses(conn: asyncpg.Connection) -> Imported:
    return await import_llpg(conn, ADDRESSES)


def source(calendar: Path) -> DemoSource:
    """One source for the round: every demo address is on it."""
    options = {'uprns': ','.join(uprn for uprn, _, _ in addresses()), 'address': ADDRESS}
    return DemoSource(SOURCE, 'ical', calendar.resolve().as_uri(), EVERY, WHY, options=options)


def _event(uid: str, start: date, summary: str, stamp: str, *extra: str) -> list[str]:
    return ['BEGIN:VEVENT', f'UID:{uid}', f'DTSTAMP:{stamp}', f'DTSTART;VALUE=DATE:{start:%Y%m%d}', *extra,
            f'SUMMARY:{summary}', 'END:VEVENT']  # fmt: skip


def calendar_text(now: datetime) -> str:
    """The demo round's calendar, its dates counted from `now`'s day in London."""
    today = now.astimezone(LONDON).date()
    stamp = f'{now.astimezone(UTC):%Y%m%dT%H%M%SZ}'
    moved = today + timedelta(weeks=2)
    refuse = _event('demo-refuse@tellme.invalid', today, 'Refuse bin', stamp, 'RRULE:FREQ=WEEKLY')
    recycling = _event('demo-recycling@tellme.invalid', today + timedelta(days=1), 'Recycling bin', stamp,
                       'RRULE:FREQ=WEEKLY;INTERVAL=2')  # fmt: skip
    # the same UID, one occurrence moved: as a council's calendar says a bank-holiday week's collection moved
    changed = _event('demo-refuse@tellme.invalid', moved + timedelta(days=1), 'Refuse bin (changed collection)', stamp,
                     f'RECURRENCE-ID;VALUE=DATE:{moved:%Y%m%d}')  # fmt: skip
    lines = [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//Tell Me//tellme dev demo round//EN',
        'X-WR-CALNAME:Demo round (made up by tellme dev)',
        *refuse,
        *recycling,
        *changed,
        'END:VCALENDAR',
    ]
    return '\r\n'.join(lines) + '\r\n'


def write_calendar(data_dir: Path, now: datetime) -> tuple[Path, bool]:
    """The calendar's path, written if it is not there (True) or touched so the next poll reads it again."""
    path = data_dir / CALENDAR
    if path.exists():
        os.utime(path)
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calendar_text(now), encoding='utf-8')
    return path, True
