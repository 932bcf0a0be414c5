"""A source's cursor: the newest change time seen, so the next poll asks only for changes since then.

A cursor is ISO 8601 text (a date, or a date-time; one without a zone is UK time). One dated in the future (a
feed's wrong clock, a typo in a record) would leave the source asking for changes since a moment that has not
come, and reading nothing: it is clamped to a little before now, with a note saying so.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from sources.events.dates import LONDON
from sources.feeds.registry import SourceConfigError

logger = logging.getLogger('notifier.sources.cursors')

MARGIN = timedelta(minutes=10)  # a cursor in the future is set back to this long before now


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace('Z', '+00:00'))
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def clamp_cursor(cursor: str | None, now: datetime, notes: list[str], what: str) -> str | None:
    """`cursor`, unless it is after `now`: then MARGIN before now (and a note saying so). A cursor that is not
    an ISO date is the adapter's business and is left alone."""
    if not cursor:
        return cursor
    try:
        moment = _moment(cursor)
    except ValueError:
        return cursor
    if moment <= now:
        return cursor
    clamped = (now - MARGIN).astimezone(UTC).replace(microsecond=0).isoformat()
    notes.append(
        f'{what}, {moment.replace(microsecond=0).isoformat()}, is in the future (a wrong clock or a typo in the '
        f'feed?): reading changes since {clamped} instead'
    )
    logger.warning('a cursor in the future was clamped to %s', clamped)
    return clamped


def cursor_from(text: str, now: datetime) -> str:
    """An operator's `--to`: an ISO date (2026-11-01) or date-time (2026-11-01T09:00, UK time unless it has a
    zone), not in the future; SourceConfigError otherwise."""
    try:
        moment = _moment(text)
    except ValueError:
        raise SourceConfigError(f'{text!r} is not an ISO date: write e.g. 2026-11-01 or 2026-11-01T09:00') from None
    if moment > now:
        raise SourceConfigError(f'{text!r} is in the future: a poll would find nothing new; give a past date')
    if len(text.strip()) == 10:
        return date.isoformat(moment.date())
    return datetime.fromisoformat(text.strip().replace('Z', '+00:00')).isoformat()
