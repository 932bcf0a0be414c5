"""Dates as councils write them: every style seen in real feeds (design/sources.md §0), UK day-first.

    parse_date('24/07/2023')              parse_date('Monday 24 July 2023')   parse_date('Tuesday - 11 Jul 2023')
    parse_date('26-Aug-21')               parse_date('31 Oct 2024')           parse_date('Thu 26 Jul 2018')
    parse_date('2024-11-08')              parse_date('2024-11-08T10:00:00+01:00')   parse_date('') -> None

A date that cannot be read raises `ValueError` saying what was expected but not what the text was (the feed may
be anything: sources/feeds/base.py), so the record is rejected with "line 7: Date: not a date (expected a day such as
24/07/2023 or 2024-11-08)".
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo('Europe/London')

_WEEKDAY = re.compile(r'^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?\s*[,\-–]?\s*', re.IGNORECASE)
_ORDINAL = re.compile(r'(\d{1,2})(st|nd|rd|th)\b', re.IGNORECASE)
_TIME_TAIL = re.compile(r'[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(am|pm)?$', re.IGNORECASE)
FORMATS = (
    '%d/%m/%Y', '%d/%m/%y', '%d-%m-%Y', '%d.%m.%Y', '%d %B %Y', '%d %b %Y', '%d-%b-%y', '%d-%b-%Y', '%d %b %y',
    '%d-%B-%Y', '%d %B, %Y', '%B %d %Y', '%b %d %Y', '%Y/%m/%d', '%Y%m%d',
)  # fmt: skip


def parse_date(text: str | None, date_format: str | None = None) -> date | None:
    """The calendar date in `text` (None for an empty cell); ValueError when it is not a date."""
    value = (text or '').strip()
    if not value:
        return None
    if date_format:
        try:
            return datetime.strptime(value, date_format).date()
        except ValueError:
            pass
    iso = _iso(value)
    if iso is not None:
        return iso
    cleaned = _WEEKDAY.sub('', value)
    cleaned = _ORDINAL.sub(r'\1', cleaned)
    cleaned = _TIME_TAIL.sub('', cleaned).strip()
    cleaned = re.sub(r'\bSept\b', 'Sep', cleaned, flags=re.IGNORECASE)
    cleaned = re.sub(r'\s+', ' ', cleaned).replace(' ,', ',')
    for candidate in (cleaned, cleaned.replace(',', '')):
        for fmt in FORMATS:
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    expected = f'like {date_format}' if date_format else 'a day such as 24/07/2023, 24 Jul 2023 or 2024-11-08'
    raise ValueError(f'not a date (expected {expected})')


def _iso(value: str) -> date | None:
    if not re.match(r'^\d{4}-\d{2}-\d{2}', value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return moment.astimezone(LONDON).date()
    return moment.date()


def london_midnight(day: date) -> datetime:
    """The start of `day` in Europe/London, as an aware UTC datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=LONDON).astimezone(UTC)
