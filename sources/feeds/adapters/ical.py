"""Bin collection calendars in iCalendar (.ics), one calendar per property or collection round, RRULEs expanded.

Parsing is `icalendar` (the maintained RFC 5545 parser) and expansion `recurring-ical-events`, which applies
RRULE, RDATE, EXDATE and moved single occurrences (RECURRENCE-ID) the way calendar apps do — no date maths here.
Occurrences in the window (today to `days` ahead, Europe/London) are grouped by bin type (the SUMMARY, without
"(Changed Collection)"-style notes, ticks, emoji and prefixes such as "Bin Collection:" — the same bin stays the
same bin: sources/events/bin_types.py) into one schedule event for the property, as for UKBinCollectionData
(see ukbcd.py); an occurrence the calendar marks as moved — a RECURRENCE-ID override, or a summary saying
changed / moved / revised — is listed in `attributes.moved` and the summary. What is news is worked out on
recording against the previous version's dates (sources/events/schedules.py), as for every schedule.

Bank holidays move collections only where the source says its rule does, since most councils publish the moved
dates themselves: `--option bank_holidays=slip` (an RRULE collection on or after a bank holiday in the same
Monday–Friday week moves one day later per such holiday — the common UK rule) or `bank_holidays=next_day` (only a
collection on a bank holiday moves, to the next day that is not one). Dates come from `govuk-bank-holidays`'
bundled GOV.UK data (`bank_holiday_division`: england-and-wales (default), scotland, northern-ireland); no request
is made. Occurrences the calendar itself moved (RECURRENCE-ID) and one-off events are never shifted.

A calendar that would expand into more occurrences than a bin schedule has — a rule repeating several times a
day, rules starting long ago, one event more than once a day, more than 5,000 occurrences in one poll — is refused
with a reason that quotes none of it (see `_refuse_runaway_rules`).

The calendar is also read beyond the window (up to HORIZON_DAYS ahead) for its last collection,
`Parsed.last_collection`; when nothing is coming at all it is looked at back, the poll says "no collections after
29 Nov 2026" and the source's health raises a staff alert (sources/feeds/health.py) — a council whose yearly
calendar ran out would otherwise never know. Nothing is recorded for residents then: the stored schedule keeps its
dates (all past, so no reminders), and no one is told a bin "is no longer listed".

Options: `uprn` (required unless the URL has `uprn=`) or `uprns` (a round: every property the calendar serves, as
UPRNs separated by commas or spaces), `round` (its name), `address`, `days` (window, default 56, at most 400),
`encoding`, `bank_holidays`, `bank_holiday_division`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import recurring_ical_events
from govuk_bank_holidays.bank_holidays import BankHolidays
from icalendar import Calendar

from sources.events.bin_types import display_name
from sources.feeds.adapters import register
from sources.feeds.adapters.common import decode_text, int_option, validation_reason
from sources.feeds.adapters.ukbcd import (
    BinDates,
    day_text,
    note_if_ended,
    schedule_event,
    served_by,
    short_date,
)
from sources.feeds.base import Page, Parsed, RecordError, Rejected, SourceError

_LONDON = ZoneInfo('Europe/London')
_NOTE = re.compile(r'\s*[(\[-]?\s*\b(changed|moved|revised|rescheduled|amended)\b.*?(collection)?\s*[)\]]?\s*$', re.I)
HORIZON_DAYS = 400  # how far ahead, and back, a calendar with nothing in its window is looked at
_CONTENT_LINE = re.compile(r'^[A-Za-z0-9-]+[;:]')  # NAME;PARAM=…:value or NAME:value (RFC 5545 §3.1)


def _calendar(page: Page, options: Mapping[str, str]) -> Calendar:
    stripped = decode_text(page, options, 'calendar').lstrip()
    if not stripped.upper().startswith('BEGIN:VCALENDAR'):
        what = 'HTML' if stripped.startswith('<') else 'something else'
        raise SourceError(f'not an iCalendar file: it starts with {what}, not BEGIN:VCALENDAR')
    if 'END:VCALENDAR' not in stripped.upper():
        raise SourceError('calendar is truncated: no END:VCALENDAR')
    try:
        return Calendar.from_ical(stripped)
    except ValueError:  # icalendar's messages quote the line they choke on: say which line instead
        raise SourceError(f'calendar could not be read: {_first_bad_line(stripped)}') from None


def _first_bad_line(text: str) -> str:
    number = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (' ', '\t') or not line.strip():
            continue  # a folded line's continuation, or a blank one
        if not _CONTENT_LINE.match(line):
            return f'line {number} is not an iCalendar content line (NAME:value)'
    return f'a property in its {number} lines is not valid iCalendar (RFC 5545)'


def bin_type(summary: str) -> tuple[str, bool]:
    """('Black Bin', True) from 'Black Bin Day (Changed Collection)': the type as shown, and whether it says it
    moved."""
    cleaned = ' '.join(summary.split())
    moved = bool(_NOTE.search(cleaned))
    cleaned = _NOTE.sub('', cleaned).strip() or cleaned
    return display_name(cleaned), moved


class IcalAdapter:
    kind: ClassVar[str] = 'ical'
    reads_by_date: ClassVar[bool] = True  # the next weeks from the poll's date: never 'not modified'

    def first_url(self, url: str, options: Mapping[str, str], cursor: str | None, now: datetime) -> str:
        return url

    def next_url(self, page: Page, parsed: Parsed, options: Mapping[str, str]) -> str | None:
        return None

    def parse(self, page: Page, options: Mapping[str, str], *, source: str, now: datetime) -> Parsed:
        served = served_by(page.url, options)
        days = int_option(options, 'days', 56, high=400)
        calendar = _calendar(page, options)
        today = now.astimezone(_LONDON).date()
        _refuse_runaway_rules(calendar, today + timedelta(days=max(days, HORIZON_DAYS)))
        parsed = Parsed()
        window_end = today + timedelta(days=days)
        occurrences = _expand(calendar, today, window_end, parsed)
        dates, moved = _collect(occurrences, calendar, _shifter(options), parsed)
        if not dates and not (parsed.rejected or not occurrences and _has_events(calendar)):
            raise SourceError('calendar has no events')
        # the calendar's last collection, not the window's: it says when the calendar runs out
        ahead = _days_of(_expand(calendar, window_end, today + timedelta(days=HORIZON_DAYS), Parsed()))
        parsed.last_collection = max([*ahead, *(max(found) for found in dates.by_name.values())], default=None)
        if not dates:
            # every event outside the window (or unusable): nothing to record this poll, but is anything coming?
            if ahead:
                parsed.notes.append(f'no collections in the window read; the next is on {short_date(min(ahead))}')
            else:
                _last_before(calendar, today, parsed, now)
            return parsed
        for move in moved:
            move['usual_day'] = move['usual_day'] or _usual_day(dates.by_name[move['type']], move['date'])
        try:
            parsed.events.append(
                schedule_event(source, served, dates.by_name, options, now, url=None, moved=moved or None)
            )
        except ValueError as error:
            parsed.rejected.append(Rejected(served.where, validation_reason(error)))
        return parsed


def _last_before(calendar: Calendar, today: date, parsed: Parsed, now: datetime) -> None:
    """Nothing from today on: the last collection before today (or, none in HORIZON_DAYS either, the day before the
    search started) becomes `parsed.last_collection`, with a note that the calendar has run out."""
    searched_from = today - timedelta(days=HORIZON_DAYS)
    before = _days_of(_expand(calendar, searched_from, today, Parsed()))  # the window already rejected the unreadable
    parsed.last_collection = max(before) if before else searched_from - timedelta(days=1)
    note_if_ended(parsed, now, searched_from=None if before else searched_from)


def _days_of(occurrences: list[Any]) -> list[date]:
    found = []
    for occurrence in occurrences:
        start = occurrence.get('DTSTART')
        if start is not None and isinstance(start.dt, date):
            found.append(_day(start.dt))
    return found


# Bin collections repeat by the day, week or month. A calendar is refused, saying why but quoting none of it (an
# event is named by its place in the file), before it can stall the worker that expands it:
# - a rule repeating every hour or faster, or several times a day (FREQ=DAILY;BYHOUR=0,1,…;BYMINUTE=0,…,59 is
#   1,440 a day): refused from the rule alone, before any expansion;
# - rules starting long ago: dateutil expands every rule from its DTSTART, so the days from each rule's start to the
#   end of the window, added up over the calendar, may not pass MAX_RULE_DAYS (100 weekly rules from 2000 fit);
# - one event (a UID) happening more often than once a day in the window, from rules, RDATEs and overrides together;
# - more than MAX_OCCURRENCES occurrences in the whole calendar, which is everything one poll reads.
_RUNAWAY_FREQUENCIES = frozenset({'SECONDLY', 'MINUTELY', 'HOURLY'})
_WITHIN_A_DAY = ('BYHOUR', 'BYMINUTE', 'BYSECOND')
MAX_RULE_DAYS = 1_000_000
MAX_OCCURRENCES = 5000  # twelve bins collected every day for 400 days still fit


def _rules(component: Any) -> list[Any]:
    rules = component.get('RRULE')
    return rules if isinstance(rules, list) else [rules] if rules is not None else []


def _refuse_runaway_rules(calendar: Calendar, end: date) -> None:
    rule_days = 0
    for position, component in enumerate(calendar.walk('VEVENT'), start=1):
        for rule in _rules(component):
            frequency = [str(value).upper() for value in rule.get('FREQ', [])]
            if _RUNAWAY_FREQUENCIES.intersection(frequency):
                raise SourceError(f'event {position} repeats {frequency[0].lower()}: not a collection schedule')
            per_day = math.prod(len(rule.get(part, [])) or 1 for part in _WITHIN_A_DAY)
            if per_day > 1:
                raise SourceError(f'event {position} repeats {per_day} times a day: not a collection schedule')
            rule_days += _days_expanded(component, rule, end)
    if rule_days > MAX_RULE_DAYS:
        raise SourceError(
            f"the calendar's repeating events start too long ago to be read ({rule_days:,} days of rules to expand, "
            f'at most {MAX_RULE_DAYS:,}): ask the council for a calendar whose rules start nearer today'
        )


def _days_expanded(component: Any, rule: Any, end: date) -> int:
    """Roughly how many days dateutil steps through to reach `end` for this rule (it always starts at DTSTART)."""
    start = component.get('DTSTART')
    try:
        days = (end - _day(start.dt)).days if start is not None else 0
        for until in rule.get('UNTIL', [])[:1]:
            days = min(days, (_day(until) - _day(start.dt)).days)
        for count in rule.get('COUNT', [])[:1]:
            days = min(days, int(count))
    except (AttributeError, TypeError, ValueError):
        return 0  # unreadable: expansion rejects the series, saying why
    return max(days, 0)


_EXPANSION_ERRORS = (ValueError, TypeError, KeyError, recurring_ical_events.InvalidCalendar)


def _expand(calendar: Calendar, start: date, end: date, parsed: Parsed) -> list[Any]:
    """Occurrences in [start, end), each series on its own: one that cannot be expanded is rejected by UID and the
    rest kept; one that happens more than once a day, or more than MAX_OCCURRENCES in all, refuses the calendar."""
    series: dict[str, list[Any]] = {}
    positions: dict[str, int] = {}
    for position, component in enumerate(calendar.walk('VEVENT'), start=1):
        uid = str(component.get('UID', ''))
        series.setdefault(uid, []).append(component)
        positions.setdefault(uid, position)
    zones = list(calendar.walk('VTIMEZONE'))
    days = (end - start).days
    occurrences: list[Any] = []
    for uid, components in series.items():
        single = Calendar()
        for component in zones + components:
            single.add_component(component)
        try:
            found = recurring_ical_events.of(single).between(start, end)
        except _EXPANSION_ERRORS as error:
            # the library's message quotes the calendar: say what kind of thing is wrong with the series instead
            parsed.rejected.append(Rejected(f'event {positions[uid]}', 'could not be expanded: its dates or repeat '
                                            f'rule are not valid ({type(error).__name__})'))  # fmt: skip
            continue
        if len(found) > days + 1:
            raise SourceError(
                f'event {positions[uid]} happens {len(found)} times in the {days} days read: more than once a day, '
                'not a collection schedule'
            )
        occurrences.extend(found)
        if len(occurrences) > MAX_OCCURRENCES:
            raise SourceError(
                f'the calendar has more than {MAX_OCCURRENCES} collections in the {days} days read, more than one '
                'poll reads: not a collection schedule for one property'
            )
    return occurrences


def _collect(
    occurrences: list[Any], calendar: Calendar, shift: Callable[[date], date] | None, parsed: Parsed
) -> tuple[BinDates, list[dict[str, str]]]:
    """Dates by bin type, and the occurrences that moved (by the calendar, its wording, or a bank-holiday rule)."""
    dates = BinDates()
    moved: list[dict[str, str]] = []
    overrides = _overrides(calendar)
    positions: dict[str, int] = {}
    for position, component in enumerate(calendar.walk('VEVENT'), start=1):
        positions.setdefault(str(component.get('UID', '')), position)
    recurring = {str(c.get('UID', '')) for c in calendar.walk('VEVENT') if c.get('RRULE') is not None}
    for occurrence in occurrences:
        where = f'event {positions.get(str(occurrence.get("UID", "")), "?")}'
        try:
            name, flagged, when = _occurrence(occurrence)
        except ValueError as error:
            parsed.rejected.append(Rejected(where, validation_reason(error)))
            continue
        uid = str(occurrence.get('UID', ''))
        was = overrides.get((uid, when))
        if shift is not None and was is None and uid in recurring and shift(when) != when:
            was, when = when, shift(when)
        if dates.has(name, when):
            parsed.rejected.append(
                Rejected(f'{where} on {when.isoformat()}', f'the same bin is listed twice for {day_text(when)}')
            )
            continue
        dates.add(name, when)
        name = dates.name_of(name)
        if flagged or was is not None:
            move = {'type': name, 'date': when.isoformat(), 'date_text': day_text(when), 'usual_day': ''}
            if was is not None and was != when:
                move['usual_day'] = f'{was:%A}'
                move['from_date'] = was.isoformat()
            moved.append(move)
    return dates, moved


@functools.cache
def _bank_holidays(division: str) -> frozenset[date]:
    holidays = BankHolidays(use_cached_holidays=True)  # the data bundled with the package: no network
    return frozenset(h['date'] for h in holidays.get_holidays(division=division))


def _shifter(options: Mapping[str, str]) -> Callable[[date], date] | None:
    rule = options.get('bank_holidays', 'none')
    division = options.get('bank_holiday_division', BankHolidays.ENGLAND_AND_WALES)
    if rule == 'none':
        return None
    if rule not in ('slip', 'next_day'):
        raise SourceError(f'option bank_holidays={rule!r}: give none, slip or next_day')
    if division not in (BankHolidays.ENGLAND_AND_WALES, BankHolidays.SCOTLAND, BankHolidays.NORTHERN_IRELAND):
        raise SourceError(
            f'option bank_holiday_division={division!r}: give england-and-wales, scotland or northern-ireland'
        )
    holidays = _bank_holidays(division)

    def slip(day: date) -> date:
        monday = day - timedelta(days=day.weekday())
        earlier = sum(1 for n in range(day.weekday() + 1) if n < 5 and monday + timedelta(days=n) in holidays)
        return day + timedelta(days=earlier)

    def next_day(day: date) -> date:
        while day in holidays:
            day += timedelta(days=1)
        return day

    return slip if rule == 'slip' else next_day


def _overrides(calendar: Calendar) -> dict[tuple[str, date], date]:
    """(UID, new date) → the date it replaces, for each single occurrence the calendar moved (RECURRENCE-ID)."""
    found = {}
    for component in calendar.walk('VEVENT'):
        original, start = component.get('RECURRENCE-ID'), component.get('DTSTART')
        if original is not None and start is not None:
            found[str(component.get('UID', '')), _day(start.dt)] = _day(original.dt)
    return found


def _day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return value.astimezone(_LONDON).date() if value.tzinfo else value.date()
    return value


def _has_events(calendar: Calendar) -> bool:
    return any(True for _ in calendar.walk('VEVENT'))


def _occurrence(occurrence: Any) -> tuple[str, bool, date]:
    summary = str(occurrence.get('SUMMARY') or '').strip()
    if not summary:
        raise RecordError('no SUMMARY to say which bin')
    start = occurrence.get('DTSTART')
    if start is None:
        raise RecordError('no DTSTART')
    name, flagged = bin_type(summary)
    if not name:
        raise RecordError('SUMMARY has no readable bin type (only symbols or punctuation)')
    return name, flagged, _day(start.dt)


def _usual_day(days: set[date], moved_iso: str) -> str:
    others = [d for d in days if d.isoformat() != moved_iso]
    if not others:
        return ''
    weekdays = [d.strftime('%A') for d in others]
    return max(set(weekdays), key=weekdays.count)


register(IcalAdapter())
