"""Bin reminders: "Grey bin and Green bin tomorrow", the evening before or the morning of a collection.

An active address subscription with `remind_at` ('evening-before' or 'morning-of') and `remind_time` (a
Europe/London wall-clock time; None = 18:00 the evening before, 07:00 on the morning) is reminded of each
collection in the newest bin schedule event for its UPRN (`attributes.collection_dates`: bin type → ISO dates) —
the property's own schedule (`events.uprn`) or a collection round's that lists the UPRN among the properties it
serves (`attributes.uprns`, decision 48), whichever was recorded last. Bin types collected on the same day make
one message.

`queue_reminders`, run by a cron every few minutes, writes one outbox row per (subscription, collection date,
channel) — purpose 'reminder', no event, template and personalisation built now, `not_before` = the reminder
moment — and records it in `bin_reminders`, so running again queues nothing more. Only reminders due within
LOOKAHEAD are queued, and none whose moment passed more than LATE_GRACE ago (bins already out or collected).
The time is the resident's own choice, so quiet hours do not move it. A reminder queued but not yet sent whose
collection moved (or whose bins, time or subscription changed) is cancelled, and the new one queued.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg

from notifier import metrics
from notifier.outbox import links, states
from notifier.outbox.rows import queue_messages_from
from templates.registry import EventInput, Message, event_message

logger = logging.getLogger('notifier.reminders')

LONDON = ZoneInfo('Europe/London')
DEFAULT_TIMES = {'evening-before': time(18, 0), 'morning-of': time(7, 0)}
LOOKAHEAD = timedelta(hours=36)
LATE_GRACE = timedelta(hours=2)
# one run at a time (the cron is unique too; this also covers a run by hand)
LOCK_KEY = 7_331_202_611
WHEN = {'evening-before': ('tomorrow', 'yfory'), 'morning-of': ('today', 'heddiw')}

CANDIDATES = """
select s.id as subscription_id, s.remind_at, s.remind_time, r.language,
       e.id as event_id, e.title, e.url, e.attributes -> 'collection_dates' as dates,
       cp.id as contact_point_id, cp.channel
from subscriptions s
join residents r on r.id = s.resident_id
cross join lateral (
    select id, title, url, attributes from events
    where events.topic = 'bins'
      and (events.uprn = s.uprn or (events.attributes -> 'uprns') ? s.uprn)  -- events_bins_uprn, events_bins_uprns
      and jsonb_typeof(events.attributes -> 'collection_dates') = 'object'
    order by events.id desc
    limit 1
) e
left join contact_points cp on cp.resident_id = s.resident_id and cp.channel = any(s.channels)
                           and cp.channel in ('email', 'sms') and cp.suppressed_at is null
                           and cp.verified_at is not null
where s.status = 'active' and s.kind = 'address' and s.remind_at is not null
  and (exists (select 1
               from jsonb_each(e.attributes -> 'collection_dates') as d(name, days)
               cross join jsonb_array_elements_text(
                   case when jsonb_typeof(d.days) = 'array' then d.days else '[]'::jsonb end) as x(day)
               where x.day between $1 and $2)
       or exists (select 1 from bin_reminders b join notifications n on n.id = b.notification_id
                  where b.subscription_id = s.id and b.collection_date >= $3 and n.status in ('pending', 'retry')))
order by s.id, cp.id
"""

UNSENT = """
select b.subscription_id, b.collection_date, b.channel, b.bin_types, b.due_at, b.notification_id
from bin_reminders b
join notifications n on n.id = b.notification_id
where b.collection_date >= $1 and n.status in ('pending', 'retry')
"""

FORGET = 'delete from bin_reminders where notification_id = any($1::uuid[])'

QUEUE = f"""
with wanted as (
    select * from unnest($1::uuid[], $2::bigint[], $3::date[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
                         $8::timestamptz[], $9::uuid[], $10::jsonb[])
        as t(id, subscription_id, collection_date, channel, contact_point_id, event_id, bins, due_at, template_id,
             personalisation)
),
recorded as (
    insert into bin_reminders (subscription_id, collection_date, channel, notification_id, event_id, bin_types, due_at)
    select subscription_id, collection_date, channel, id, event_id,
           array(select jsonb_array_elements_text(bins::jsonb)), due_at
    from wanted
    on conflict (subscription_id, collection_date, channel) do nothing
    returning notification_id
),
reminders as (
    select w.id, w.contact_point_id, w.subscription_id, w.channel, 'reminder' as purpose, w.template_id,
           w.personalisation, w.due_at as not_before
    from wanted w
    join recorded r on r.notification_id = w.id
)
{queue_messages_from('reminders')}
returning id, not_before
"""


@dataclass(frozen=True)
class Queued:
    queued: list[UUID]
    cancelled: int
    due_now: bool  # some were queued for a moment already here: wake the senders


@dataclass(frozen=True)
class _Wanted:
    subscription_id: int
    collection_date: date
    channel: str
    contact_point_id: int
    event_id: int
    bins: tuple[str, ...]
    due_at: datetime
    remind_at: str
    language: str
    title: str
    url: str | None


def reminder_moment(collection: date, remind_at: str, remind_time: time | None) -> datetime:
    """When to remind, in UTC: the wall-clock time in London the evening before or on the morning."""
    day = collection - timedelta(days=1) if remind_at == 'evening-before' else collection
    at = remind_time or DEFAULT_TIMES[remind_at]
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=LONDON).astimezone(UTC)


def collections(dates: Any) -> dict[date, tuple[str, ...]]:
    """`attributes.collection_dates` ({bin type: [ISO dates]}) as {date: bin types collected that day}."""
    if isinstance(dates, str):
        dates = json.loads(dates)
    by_day: dict[date, set[str]] = defaultdict(set)
    for name, days in (dates or {}).items():
        for day in days if isinstance(days, list) else []:
            try:
                by_day[date.fromisoformat(str(day))].add(str(name))
            except ValueError:
                continue
    return {day: tuple(sorted(names)) for day, names in by_day.items()}


def bin_names(bins: tuple[str, ...], language: str) -> str:
    """'Grey bin', 'Grey bin and Green bin', 'Blue bin, Grey bin and Green bin' (Welsh: a / ac)."""
    if len(bins) == 1:
        return bins[0]
    last = bins[-1]
    joiner = 'and' if language == 'en' else ('ac' if last[:1].lower() in 'aeiouwy' else 'a')
    return f'{", ".join(bins[:-1])} {joiner} {last}'


def reminder_message(wanted: _Wanted, *, now: datetime, public_url: str, secret: bytes) -> Message:
    names = bin_names(wanted.bins, wanted.language)
    when = WHEN[wanted.remind_at][0 if wanted.language == 'en' else 1]
    event = EventInput(
        kind='bins.reminder',
        topic='bins',
        title=f'{names} {when}',
        summary=f'{wanted.title}.',
        changes=[],
        attributes={'bin': names, 'collection_date': wanted.collection_date.isoformat()},
        url=wanted.url,
        occurred_at=now,
    )
    return event_message(
        event,
        channel=wanted.channel,
        language=wanted.language,
        event_url=links.in_language(links.event_url(public_url, wanted.event_id), wanted.language),
        unsubscribe_url=links.in_language(
            links.unsubscribe_url(public_url, secret, wanted.subscription_id), wanted.language
        ),
        manage_url=links.in_language(links.manage_url(public_url, secret, wanted.subscription_id), wanted.language),
    )


def _wanted(rows: list[asyncpg.Record], today: date) -> tuple[dict[tuple[int, date, str], _Wanted], set[int]]:
    """Every reminder the schedules ask for from today on (window or not), and the subscriptions considered."""
    wanted: dict[tuple[int, date, str], _Wanted] = {}
    subscriptions: set[int] = set()
    schedules: dict[int, dict[date, tuple[str, ...]]] = {}
    for row in rows:
        subscriptions.add(row['subscription_id'])
        if row['contact_point_id'] is None:
            continue
        if row['subscription_id'] not in schedules:
            schedules[row['subscription_id']] = collections(row['dates'])
        for day, bins in schedules[row['subscription_id']].items():
            if day < today:
                continue
            key = (row['subscription_id'], day, row['channel'])
            wanted[key] = _Wanted(
                row['subscription_id'], day, row['channel'], row['contact_point_id'], row['event_id'], bins,
                reminder_moment(day, row['remind_at'], row['remind_time']), row['remind_at'], row['language'],
                row['title'], row['url'],
            )  # fmt: skip
    return wanted, subscriptions


def _stale(unsent: asyncpg.Record, wanted: Mapping[tuple[int, date, str], _Wanted], considered: set[int]) -> str | None:
    """Why a queued, unsent reminder should not go out as it is (None: it is still right)."""
    if unsent['subscription_id'] not in considered:
        return 'bin reminder no longer wanted (subscription paused, ended or reminders turned off)'
    now_wanted = wanted.get((unsent['subscription_id'], unsent['collection_date'], unsent['channel']))
    if now_wanted is None:
        still_that_day = any(
            (unsent['subscription_id'], unsent['collection_date'], channel) in wanted for channel in ('email', 'sms')
        )
        return f'no longer sent by {unsent["channel"]}' if still_that_day else 'bin collection moved'
    if tuple(unsent['bin_types']) != now_wanted.bins:
        return 'bins collected that day changed'
    if unsent['due_at'] != now_wanted.due_at:
        return 'reminder time changed'
    return None


async def queue_reminders(conn: asyncpg.Connection, *, now: datetime, public_url: str, secret: bytes) -> Queued:
    """Queue the reminders now due within LOOKAHEAD and cancel the ones overtaken; in the caller's transaction."""
    await conn.execute('select pg_advisory_xact_lock($1)', LOCK_KEY)
    today = now.astimezone(LONDON).date()
    last = (now + LOOKAHEAD).astimezone(LONDON).date() + timedelta(days=1)  # an evening-before reminder's day
    rows = await conn.fetch(CANDIDATES, today.isoformat(), last.isoformat(), today)
    wanted, considered = _wanted(rows, today)

    stale: dict[str, list[UUID]] = defaultdict(list)
    for unsent in await conn.fetch(UNSENT, today):
        reason = _stale(unsent, wanted, considered)
        if reason is not None:
            stale[reason].append(unsent['notification_id'])
    cancelled: list[UUID] = []
    for reason, ids in stale.items():
        cancelled += await states.cancel_queued(conn, ids, reason)
    if cancelled:
        await conn.execute(FORGET, cancelled)  # so the collection's new date (or new bins) is reminded afresh

    columns: list[list[Any]] = [[] for _ in range(10)]
    for item in wanted.values():
        if not now - LATE_GRACE <= item.due_at <= now + LOOKAHEAD:
            continue
        try:
            message = reminder_message(item, now=now, public_url=public_url, secret=secret)
        except ValueError as exc:  # one reminder that cannot be built never stops the rest
            logger.error('bin reminder for subscription %s not queued: %s', item.subscription_id, exc)
            continue
        values = (
            uuid4(), item.subscription_id, item.collection_date, item.channel, item.contact_point_id, item.event_id,
            json.dumps(item.bins), item.due_at, UUID(message.template_id), message.personalisation,
        )  # fmt: skip
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    queued = await conn.fetch(QUEUE, *columns) if columns[0] else []
    if queued or cancelled:
        logger.info('bin reminders: %d queued, %d cancelled', len(queued), len(cancelled))
    metrics.REMINDERS_QUEUED.inc(len(queued))
    return Queued(
        queued=[row['id'] for row in queued],
        cancelled=len(cancelled),
        due_now=any(row['not_before'] <= now for row in queued),
    )
