"""Is a feed working? One staff alert per incident, so silence is never mistaken for "no news".

A source is **failing** once FAILURES polls in a row have failed, or it has been failing for FAILING_FOR. It is
**silent** when its polls work but bring no news for longer than usual: `--silent-after` when the operator set
it, else learnt from the poll log (three times the median gap between polls that brought news, once there are
at least three such gaps, and never less than two poll intervals). A bin schedule (ukbcd, ical) has **run out**
when the last collection it lists is before today (Europe/London): "no collections after 29 Nov 2026" — a
council's yearly calendar that ended, or a scraper left on an old page. Such a feed still answers and may still
have news, so neither of the others would say so, and residents would silently stop getting reminders.

Each incident raises ONE event on the topic `staff/source-health` (staff subscribe to it like any topic), not
one per poll; when the source works again (or has news again) the same event gets a new version saying so.
"""

from __future__ import annotations

import logging
import statistics
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from notifier.outbox import queue
from sources.events.dates import LONDON
from sources.events.ingest import ingest
from sources.events.models import Event
from sources.feeds import registry
from sources.feeds.fetch import shown

logger = logging.getLogger('notifier.sources.health')

FAILURES = 5
FAILING_FOR = timedelta(hours=6)
LEARN_FROM = timedelta(days=90)
MIN_GAPS = 3
ALERT_SOURCE = registry.RESERVED
TOPIC = 'staff/source-health'


def usual_silence(silent_after: timedelta | None, interval: timedelta, gaps: list[float]) -> timedelta | None:
    """How long without news is unusual for a source (None: not known yet); `gaps` are seconds between news."""
    if silent_after is not None:
        return silent_after
    if len(gaps) < MIN_GAPS:
        return None
    return max(timedelta(seconds=3 * statistics.median(gaps)), 2 * interval)


def is_failing(source: registry.Source, now: datetime) -> bool:
    if source.failing_since is None:
        return False
    return source.consecutive_failures >= FAILURES or now - source.failing_since >= FAILING_FOR


async def review(pool: asyncpg.Pool, source_id: int, *, now: datetime, redis: Any = None) -> list[int]:
    """Raise or close this source's incidents after a poll; the ids of alert events written."""
    source = await registry.get_source_by_id(pool, source_id)
    if source is None or source.status != 'active':
        return []
    events, failing_alert, silent_alert = await _incidents(pool, source, now)
    ended_alert = _run_out(source, now, events)
    if not events:
        return []
    ids: list[int] = []
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            done = await ingest(conn, event)
            if done.event_id is not None:
                ids.append(done.event_id)
        await registry.set_alerts(conn, source.id, failing=failing_alert, silent=silent_alert, ended=ended_alert)
    for event in events:
        logger.warning('source %s: %s', source.name, event.title)
    if ids and redis is not None:
        try:
            await queue.wake_for_event(redis, ids[-1])
        except Exception:  # noqa: BLE001 - committed; the senders also poll the outbox
            logger.warning('could not wake the senders for a source alert', exc_info=True)
    return ids


async def _incidents(
    pool: asyncpg.Pool, source: registry.Source, now: datetime
) -> tuple[list[Event], datetime | None, datetime | None]:
    """The alert events to write, and the open incidents afterwards (failing, silent)."""
    failing_alert, silent_alert = source.failing_alert_at, source.silent_alert_at
    events: list[Event] = []
    if is_failing(source, now) and failing_alert is None:
        failing_alert = now
        events.append(_failing(source, failing_alert, now, working=False))
    elif source.failing_since is None and failing_alert is not None:
        events.append(_failing(source, failing_alert, now, working=True))
        failing_alert = None
    quiet_since = source.last_news_at or source.created_at
    if silent_alert is not None and source.last_news_at is not None and source.last_news_at > silent_alert:
        events.append(_silent(source, silent_alert, now, quiet_since, None))
        silent_alert = None
    elif silent_alert is None and source.failing_since is None and source.last_success_at is not None:
        gaps = await registry.news_gaps(pool, source.id, now - LEARN_FROM)
        limit = usual_silence(source.silent_after, source.interval, gaps)
        if limit is not None and now - quiet_since > limit:
            silent_alert = now
            events.append(_silent(source, silent_alert, now, quiet_since, limit))
    return events, failing_alert, silent_alert


def has_run_out(source: registry.Source, now: datetime) -> bool:
    """A schedule whose last listed collection is before today: nothing left to remind anyone of."""
    last = source.last_collection_on
    return last is not None and last < now.astimezone(LONDON).date()


def _run_out(source: registry.Source, now: datetime, events: list[Event]) -> datetime | None:
    """Open or close the "no collections after …" incident, adding its event; the open incident afterwards."""
    opened = source.ended_alert_at
    if has_run_out(source, now) and opened is None:
        events.append(_ended(source, now, now, ended=True))
        return now
    if opened is not None and not has_run_out(source, now) and source.last_collection_on is not None:
        events.append(_ended(source, opened, now, ended=False))
        return None
    return opened


def _ended(source: registry.Source, opened: datetime, now: datetime, *, ended: bool) -> Event:
    last = source.last_collection_on
    assert last is not None
    if ended:
        title = f'Feed "{source.name}" has no collections after {last.day} {last:%b %Y}'
        summary = (
            f'The {source.kind} feed {source.name} answers, but every collection it lists has passed: the last is '
            f'{last:%A} {last.day} {last:%B %Y}. Residents get no bin reminders from it until the council publishes '
            f'new dates (a yearly calendar that ran out?). Check {shown(source.url)} has the new dates, or point '
            f'the source at the new calendar: `tellme sources set {source.name} --url …`.'
        )
    else:
        title = f'Feed "{source.name}" lists collections again'
        summary = (
            f'The {source.kind} feed {source.name} lists collections again, up to {last:%A} {last.day} {last:%B %Y}.'
        )
    return Event(
        source=ALERT_SOURCE, external_key=f'source-health/{source.name}/ended/{opened:%Y%m%dT%H%M%S}',
        kind='staff.source_ended', topic=TOPIC, title=title, summary=summary[:5000],
        attributes={'source': source.name, 'status': 'ended' if ended else 'collections again',
                    'last_collection': last.isoformat()},
        occurred_at=now,
    )  # fmt: skip


def _failing(source: registry.Source, opened: datetime, now: datetime, *, working: bool) -> Event:
    since = source.failing_since or opened
    if working:
        title = f'Feed "{source.name}" is working again'
        summary = f'The {source.kind} feed {source.name} was polled successfully at {now:%d %b %Y %H:%M} UTC.'
    else:
        title = f'Feed "{source.name}" is failing'
        summary = (
            f'The last {source.consecutive_failures} polls of the {source.kind} feed {source.name} failed '
            f'(failing since {since:%d %b %Y %H:%M} UTC). Last error: {source.last_error or "unknown"}. '
            f'Residents hear nothing from this feed until it is fixed: try `tellme sources check {source.name}`.'
        )
    return Event(
        source=ALERT_SOURCE, external_key=f'source-health/{source.name}/failing/{opened:%Y%m%dT%H%M%S}',
        kind='staff.source_failing', topic=TOPIC, title=title, summary=summary[:5000], urgency='urgent',
        attributes={'source': source.name, 'status': 'working again' if working else 'failing'}, occurred_at=now,
    )  # fmt: skip


def _silent(
    source: registry.Source, opened: datetime, now: datetime, quiet_since: datetime, limit: timedelta | None
) -> Event:
    if limit is None:
        title = f'Feed "{source.name}" has news again'
        summary = f'The {source.kind} feed {source.name} brought new or changed records again.'
    else:
        title = f'Feed "{source.name}" has gone quiet'
        summary = (
            f'The {source.kind} feed {source.name} answers, but has brought no new or changed records since '
            f'{quiet_since:%d %b %Y %H:%M} UTC, longer than usual ({_days(limit)}). Check the council still '
            f'publishes to {shown(source.url)}.'
        )
    return Event(
        source=ALERT_SOURCE, external_key=f'source-health/{source.name}/silent/{opened:%Y%m%dT%H%M%S}',
        kind='staff.source_silent', topic=TOPIC, title=title, summary=summary[:5000],
        attributes={'source': source.name, 'status': 'news again' if limit is None else 'silent'}, occurred_at=now,
    )  # fmt: skip


def _days(value: timedelta) -> str:
    hours = value.total_seconds() / 3600
    return f'{hours / 24:.1f} days' if hours >= 48 else f'{hours:.0f} hours'
