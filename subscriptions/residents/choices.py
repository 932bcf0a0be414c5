"""What a resident may choose about a subscription: the same list when signing up (subscriptions/journey/) and when
changing it later (subscriptions/manage/), so whatever sign-up offered, manage offers too — how far, what about, how
often, and quiet hours for texts (their own window included).

The topics are the council's catalogue (subscriptions/topics/: what it offers residents, by name in English and
Welsh). Distances are written as messages write them (`templates.personalisation.distance_words`: '500 m', '1 km'). A
subscription made with a value that is not in a list (by the API, or by an earlier version of these pages) keeps it on
offer, so changing something else never moves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import time
from typing import Any

import asyncpg

from subscriptions.residents.contact_checks import Problem, check_time, parse_time
from subscriptions.residents.models import DEFAULT_QUIET_END, DEFAULT_QUIET_START
from subscriptions.topics import catalogue as topic_catalogue
from templates.personalisation import distance_words

Translate = Callable[..., str]

RADII = (100, 250, 500, 1000, 2000)
FREQUENCIES = ('immediate', 'daily', 'weekly')
# quiet hours for texts: ours (21:00 to 08:00), none, or a window the resident types
QUIET_CHOICES = ('default', 'none', 'choose')
DEFAULT_QUIET = (DEFAULT_QUIET_START, DEFAULT_QUIET_END)
QUIET_FIELDS = ('quiet_start', 'quiet_end')

PUBLIC = "case_reference is null and topic <> 'bins' and topic <> 'cases' and topic not like 'staff/%'"


# --- how far ------------------------------------------------------------------------------------------------------


def radii(current: int | None = None) -> list[int]:
    """The distances offered, with the subscription's own if it is another."""
    return sorted({*RADII, *([current] if current else [])})


def radius_words(t: Translate, metres: int) -> str:
    return t('choices.radius.within', distance=distance_words(metres))


# --- what about ---------------------------------------------------------------------------------------------------


async def topic_items(
    db: asyncpg.Pool | asyncpg.Connection, lang: str, current: Iterable[str] = ()
) -> list[dict[str, str]]:
    """Checkboxes for the topics the council offers (by name and hint, in `lang`), with the subscription's own when
    it is no longer offered (hidden), so nobody loses one without unticking it."""
    return (await topic_catalogue.load(db)).choices(lang, current)


# --- quiet hours for texts ----------------------------------------------------------------------------------------


def quiet_choice(start: time | None, end: time | None) -> tuple[str, dict[str, str]]:
    """The choice a subscription's quiet hours are, and the times to show in the boxes for one of the resident's own
    (22:30 to 07:00 is 'choose', with those times filled in)."""
    if start is None or end is None:
        return 'none', {}
    if (start, end) == DEFAULT_QUIET:
        return 'default', {}
    return 'choose', {'quiet_start': f'{start:%H:%M}', 'quiet_end': f'{end:%H:%M}'}


def quiet_problems(chosen: str, typed: dict[str, str]) -> dict[str, Problem]:
    """What is wrong with an answer to the quiet hours question, field by field (nothing: it is fine). A time that
    is not one ('teatime') and one that cannot be ('25:00') each get their own message."""
    if chosen not in QUIET_CHOICES:
        return {'quiet': Problem('signup.error.quiet')}
    if chosen != 'choose':
        return {}
    problems: dict[str, Problem] = {}
    for name in QUIET_FIELDS:
        found = check_time(typed.get(name, ''), name)
        if isinstance(found, Problem):
            problems[name] = found
    if not problems and parse_time(typed['quiet_start']) == parse_time(typed['quiet_end']):
        problems['quiet_end'] = Problem('signup.error.quiet_same')
    return problems


def quiet_hours(chosen: str, typed: dict[str, Any]) -> tuple[time, time] | None:
    """The quiet hours an answer (already checked) stands for: (start, end), or None for none."""
    if chosen == 'none':
        return None
    if chosen == 'choose':
        start, end = (parse_time(str(typed[name])) for name in QUIET_FIELDS)
        assert start is not None and end is not None, 'quiet_problems found nothing wrong'
        return start, end
    return DEFAULT_QUIET
