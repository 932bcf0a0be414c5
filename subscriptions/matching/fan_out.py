"""Who hears about an event: one SQL statement finds the subscriptions and writes the outbox.

Each kind has its own index-friendly branch (architecture decision 3), and the branches are joined with
`union all`:

- near:    GiST on `bbox`, probed with the event as a degenerate box (`bbox @> box(point, point)`; a
           `box @> point` test cannot use the index), then the exact great-circle distance against the radius;
- area:    GIN on `area_codes`, overlapping the ward/district codes the event carries;
- address: btree on `uprn`, matched against the event's `uprn` and, for a bin schedule that serves a collection
           round, against every UPRN in its `attributes.uprns` (`s.uprn = any(...)`, still the btree; decision 48);
- case:    btree on (`case_source`, `case_reference`);
- topic:   GIN on `topics` (subscription topic 'bulletins' also takes 'bulletins/<name>').

Every branch then applies the same filters: the subscription's `topics` (empty = all) and `exclusions`
(attribute → values that leave an event out, e.g. {"application_type": ["Trees"]}). Only `active`
subscriptions are indexed at all, so pending, paused and ended ones cannot match.

`fan_out` turns the matches into one outbox row per (event, contact point, channel) — the unique index makes a
second run write nothing — choosing among a resident's overlapping subscriptions the most immediate frequency:
immediate → 'pending' (a text in its quiet hours waits: `not_before` = end of quiet hours, Europe/London);
daily/weekly → 'held' in the open digest for (contact point, channel, frequency), created on demand, due at
08:00 Europe/London the next day (weekly: the next Monday). An urgent event skips digests and quiet hours.
Suppressed contact points get nothing. Nothing per recipient passes through Python. The rows, digests and
quiet hours are the outbox's SQL (notifier/outbox/rows.py), composed here so that it all stays one statement.
"""

from __future__ import annotations

import time
from datetime import datetime

import asyncpg

from notifier import metrics
from notifier.distance import EARTH_RADIUS_M
from notifier.outbox.rows import CLOCK, OPEN_DIGESTS, event_rows

_EVENT = """
ev as materialized (
    select id, source, topic, lat, lng, area_codes, uprn, case_reference, attributes, urgency,
           array[topic, split_part(topic, '/', 1)] as topics,
           -- the properties a round's bin schedule serves (sources/feeds/adapters/ukbcd.py); none for other events
           case when topic = 'bins' and jsonb_typeof(attributes -> 'uprns') = 'array'
                then array(select jsonb_array_elements_text(attributes -> 'uprns'))
                else '{}'::text[] end as uprns,
           box(point(lng, lat), point(lng, lat)) as spot,
           -- someone's case (what they reported, the officer's note) goes only to that case's subscribers,
           -- never to neighbours who subscribed by place or topic (links.is_private says the same for pages)
           (topic = 'cases' or topic like 'cases/%' or case_reference is not null) as private
    from events
    where id = $1
)"""

SUBSCRIPTION_COLUMNS = 's.id, s.resident_id, s.channels, s.frequency, s.digest_time, s.quiet_start, s.quiet_end'

# Same for every branch: the topic filter and the exclusions (a missing attribute never excludes).
_FILTERS = """
      and (cardinality(s.topics) = 0 or s.topics && ev.topics)
      and (s.exclusions = '{}'::jsonb or not exists (
            select 1 from jsonb_each(s.exclusions) as x(name, leave_out)
            where x.leave_out ? (ev.attributes ->> x.name)))"""

_GREAT_CIRCLE = f"""
      and 2 * {EARTH_RADIUS_M} * asin(least(1, sqrt(
            power(sin(radians(ev.lat - s.centre_lat) / 2), 2)
            + cos(radians(s.centre_lat)) * cos(radians(ev.lat)) * power(sin(radians(ev.lng - s.centre_lng) / 2), 2)
          ))) <= s.radius_m"""

_BRANCHES = (
    ('near', 's.bbox @> ev.spot' + _GREAT_CIRCLE),
    ('area', 's.area_codes && ev.area_codes'),
    ('address', 's.uprn = ev.uprn'),
    ('address', "s.uprn = any(ev.uprns) and ev.uprns <> '{}'"),  # a round's schedule: every property it serves
    ('case', 's.case_source = ev.source and s.case_reference = ev.case_reference'),
    ('topic', 's.topics && ev.topics'),
)

_MATCHED = (
    'matched as (\n'
    + '\n    union all\n'.join(
        f'    select {SUBSCRIPTION_COLUMNS} from ev, subscriptions s\n'
        f"    where s.status = 'active' and s.kind = '{kind}' and {condition}{_FILTERS}"
        + ('' if kind == 'case' else '\n      and not ev.private')
        for kind, condition in _BRANCHES
    )
    + '\n)'
)

MATCH = f"""
with {_EVENT},
{_MATCHED}
select distinct id from matched order by id
"""

FAN_OUT = f"""
with {CLOCK},
{_EVENT},
{_MATCHED},
recipients as (
    select distinct on (cp.id, ch.channel)
           cp.id as contact_point_id, ch.channel, m.id as subscription_id, ev.urgency, m.quiet_start, m.quiet_end,
           m.digest_time,
           case when ev.urgency = 'urgent' or ch.channel = 'letter' then 'immediate' else m.frequency end
               as frequency
    from matched m
    cross join ev
    cross join lateral unnest(m.channels) as ch(channel)
    -- only addresses the resident proved are theirs: a mistyped mobile given at sign-up gets nothing
    join contact_points cp on cp.resident_id = m.resident_id and cp.channel = ch.channel and cp.suppressed_at is null
                          and cp.verified_at is not null
    order by cp.id, ch.channel,
             array_position(array['immediate', 'daily', 'weekly'],
                            case when ev.urgency = 'urgent' then 'immediate' else m.frequency end),
             m.id
),
{OPEN_DIGESTS},
{event_rows('ev', 'ev.id')},
counted as (select count(*) as n from written)
update events set matched_at = clock.now, matched_count = coalesce(events.matched_count, 0) + counted.n
from clock, counted
where events.id = $1
returning counted.n
"""


class EventNotFound(LookupError):
    """No event has this id."""


async def match(conn: asyncpg.Connection, event_id: int) -> list[int]:
    """The ids of the active subscriptions this event matches (one statement; for tests and benchmarks)."""
    return [row['id'] for row in await conn.fetch(MATCH, event_id)]


async def fan_out(conn: asyncpg.Connection, event_id: int, *, now: datetime | None = None) -> int:
    """Write the event's outbox rows in one statement; return how many were written now (0 on a second run).

    `now` (default: the transaction's time) fixes the moment digest due times and quiet hours are reckoned
    from. Run it inside the transaction that recorded the event, and wake the senders after the commit.
    """
    started = time.perf_counter()
    written = await conn.fetchval(FAN_OUT, event_id, now)
    if written is None:
        raise EventNotFound(f'no event {event_id}')
    metrics.matched('event', metrics.since(started), written)
    return written
