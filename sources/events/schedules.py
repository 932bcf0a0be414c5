"""What changed in a bin schedule since the previous version, from the dates themselves (pure, no I/O).

A schedule event (ukbcd, ical) carries `attributes.collection_dates` ({bin type: [ISO dates]}). Its window of
dates rolls forward every week, which is not news; `sources.events.ingest` compares each new poll against the stored
previous version over the stretch both cover, bin by bin, and only this is news:

- a date that disappeared, with a new date for the same bin within MOVE_DAYS of it: a moved collection
  ("Recycling moved from Mon 26 May to Tue 27 May");
- a date that disappeared with no new date near it: a cancelled collection; a new date between two the previous
  version already covered, with no disappeared date near it: an extra collection;
- a bin type that is new: a new service; a bin type no longer listed: a service ended.

Bins are paired by `bin_types.bin_key`, not their exact names: "✅ Black bin" one week and "Black Bin" the next
(or a version stored before names were cleaned) are the same bin, and the newer version's name is the one used.

Dates up to and including today are never compared (yesterday's collection drops out of a feed; today's may).
A previous date after the new version's last date for that bin is beyond the new window, and a new date after the
previous version's last date for that bin is the window rolling forward: neither is news unless it pairs with
a move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sources.events.bin_types import bin_key
from sources.events.models import Change, Event

MOVE_DAYS = 6
# attributes the comparison speaks for: describe_changes leaves them to it rather than listing raw JSON (`uprns`:
# the properties a round serves, which is not news)
SCHEDULE_ATTRIBUTES = frozenset({'collection_dates', 'bin_types', 'moved', 'news', 'uprns'})


def is_schedule(event: Event) -> bool:
    return event.topic == 'bins' and isinstance(event.attributes.get('collection_dates'), dict)


def short_day(day: date) -> str:
    """'Mon 26 May'."""
    return f'{day:%a} {day.day} {day:%b}'


def _dates(raw: Any) -> dict[str, tuple[str, list[date]]]:
    """{bin key: (the name as shown, its dates)}; names that are the same bin join the first."""
    found: dict[str, tuple[str, set[date]]] = {}
    if not isinstance(raw, Mapping):
        return {}
    for name, days in raw.items():
        if isinstance(days, list):
            shown, parsed = found.setdefault(bin_key(str(name)), (str(name), set()))
            for text in days:
                try:
                    parsed.add(date.fromisoformat(str(text)))
                except ValueError:
                    continue
    return {key: (shown, sorted(days)) for key, (shown, days) in found.items()}


def schedule_changes(before: Any, after: Any, today: date) -> list[tuple[Change, str]]:
    """(change, sentence) for each piece of news between two versions' `collection_dates`, bin by bin."""
    old_bins, new_bins = _dates(before), _dates(after)
    old = {key: days for key, (_, days) in old_bins.items()}
    new = {key: days for key, (_, days) in new_bins.items()}
    found: list[tuple[Change, str]] = []
    for key in sorted(old.keys() | new.keys(), key=lambda key: (new_bins.get(key) or old_bins[key])[0]):
        name = (new_bins.get(key) or old_bins[key])[0]
        if key not in old:
            first = next((day for day in new[key] if day > today), new[key][0] if new[key] else None)
            when = f'first collection {short_day(first)}' if first else 'new collection'
            found.append((Change(field=name, before=None, after=when), f'{name} is a new collection ({when}).'))
        elif key not in new:
            found.append(
                (Change(field=name, before='collected', after='no longer listed'), f'{name} is no longer listed.')
            )
        else:
            found.extend(_bin_changes(name, old[key], new[key], today))
    return found


def _bin_changes(name: str, old: Sequence[date], new: Sequence[date], today: date) -> list[tuple[Change, str]]:
    if not old or not new:
        return []
    gone = [day for day in old if day > today and day not in new and day <= new[-1]]
    added = [day for day in new if day > today and day not in old]
    found: list[tuple[Change, str]] = []
    for day in gone:
        near = sorted((abs((other - day).days), other) for other in added if abs((other - day).days) <= MOVE_DAYS)
        if near:
            moved_to = near[0][1]
            added.remove(moved_to)
            found.append(
                (
                    Change(field=name, before=short_day(day), after=short_day(moved_to)),
                    f'{name} moved from {short_day(day)} to {short_day(moved_to)}.',
                )
            )
        else:
            found.append(
                (
                    Change(field=name, before=short_day(day), after='no collection'),
                    f'{name}: no collection on {short_day(day)}.',
                )
            )
    for day in added:
        if day < old[-1]:  # inside what the previous version covered, so not the window rolling forward
            found.append(
                (
                    Change(field=name, before=None, after=f'extra collection {short_day(day)}'),
                    f'{name}: extra collection on {short_day(day)}.',
                )
            )
    return found
