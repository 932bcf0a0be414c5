"""Who a bulletin reaches, counted and fanned out by SQL keyed on the bulletin's id (nothing per person in Python).

A subscription is in a bulletin's area (migrations/0015_bulletins.sql says the same):
- council: every active subscription except case ones (a case is someone's own business, never a broadcast);
- wards:   it would hear of something happening in the ward: an area subscription naming the ward or its district,
           a 'near' circle containing one of the ward's postcodes (the postcodes table's ward codes), an address
           subscription whose UPRN (addresses table) has a postcode in the ward;
- radius:  a 'near' circle overlapping the bulletin's circle; an area subscription for the ward or district of a
           postcode inside it; an address subscription whose UPRN's postcode is inside it;
- list:    as for a ward, with the uploaded postcodes and the postcodes of the uploaded UPRNs (and an address
           subscription to a listed UPRN).
Council-wide 'topic' subscriptions have no place, so they hear only bulletins to the whole council.
It must also be for one of the bulletin's topics (a subscription with no topics takes every topic; 'bulletins/roads'
counts as 'bulletins'; a bulletin for all topics, '*', reaches everyone in its area whatever they chose), and on
one of its channels, at a verified contact point that is not suppressed.

Each contact point hears a bulletin once per channel, however many of its subscriptions match: the outbox's unique
(event, contact point, channel) index makes a second fan-out (a retry, a double click) write nothing. An urgent
bulletin goes out at once to everyone, digests and quiet hours notwithstanding; a normal one waits in daily/weekly
digests and for the end of quiet hours exactly as other news does (the rows, digest and quiet-hours SQL
is the outbox's: notifier/outbox/rows.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from notifier import metrics
from notifier.outbox.rows import CLOCK, OPEN_DIGESTS, event_rows
from subscriptions.matching.fan_out import EARTH_RADIUS_M, SUBSCRIPTION_COLUMNS


def _distance(lat1: str, lng1: str, lat2: str, lng2: str) -> str:
    return f"""2 * {EARTH_RADIUS_M} * asin(least(1, sqrt(
            power(sin(radians({lat2} - {lat1}) / 2), 2)
            + cos(radians({lat1})) * cos(radians({lat2})) * power(sin(radians({lng2} - {lng1}) / 2), 2))))"""


_POSTCODE_COLUMNS = 'p.postcode, p.lat, p.lng, p.ward_code, p.district_code'

# the postcodes that stand for the bulletin's area (wards, radius and list bulletins)
_SPOTS = f"""
b as materialized (select * from bulletins where id = $1),
spots as materialized (
    select {_POSTCODE_COLUMNS} from b join postcodes p on p.ward_code = any(b.ward_codes)
    where b.area_kind = 'wards'
    union
    select {_POSTCODE_COLUMNS} from b join postcodes p
        on p.lat between b.centre_lat - b.radius_m / 111000.0 and b.centre_lat + b.radius_m / 111000.0
    where b.area_kind = 'radius' and {_distance('b.centre_lat', 'b.centre_lng', 'p.lat', 'p.lng')} <= b.radius_m
    union
    select {_POSTCODE_COLUMNS} from b join postcodes p
        on p.postcode = any(b.list_postcodes)
           or p.postcode in (select a.postcode from addresses a where a.uprn = any(b.list_uprns))
    where b.area_kind = 'list'
),
codes as materialized (
    select coalesce(array_agg(distinct code), '{{}}') as codes
    from (select unnest(b.ward_codes) from b
          union select ward_code from spots union select district_code from spots) as c(code)
    where code is not null
)"""

_TOPICS = """
      and ('*' = any(b.topics) or cardinality(s.topics) = 0 or exists (
            select 1 from unnest(s.topics) as t(topic) where t.topic = any(b.topics) or split_part(t.topic, '/', 1) = any(b.topics)))"""  # noqa: E501

_SUB = SUBSCRIPTION_COLUMNS
_ACTIVE = "s.status = 'active'"

_MATCHED = f"""
matched as (
    select {_SUB} from b join subscriptions s on {_ACTIVE} and s.kind <> 'case'
    where b.area_kind = 'council'{_TOPICS}
    union all
    select {_SUB} from b, codes join subscriptions s on {_ACTIVE} and s.kind = 'area' and s.area_codes && codes.codes
    where b.area_kind <> 'council'{_TOPICS}
    union all
    select {_SUB} from b, spots sp join subscriptions s
        on {_ACTIVE} and s.kind = 'near' and s.bbox @> box(point(sp.lng, sp.lat), point(sp.lng, sp.lat))
    where b.area_kind in ('wards', 'list')
      and {_distance('s.centre_lat', 's.centre_lng', 'sp.lat', 'sp.lng')} <= s.radius_m{_TOPICS}
    union all
    select {_SUB} from b join subscriptions s on {_ACTIVE} and s.kind = 'near'
    where b.area_kind = 'radius'
      and {_distance('s.centre_lat', 's.centre_lng', 'b.centre_lat', 'b.centre_lng')}
          <= s.radius_m + b.radius_m{_TOPICS}
    union all
    select {_SUB} from b, spots sp join addresses a on a.postcode = sp.postcode
        join subscriptions s on {_ACTIVE} and s.kind = 'address' and s.uprn = a.uprn
    where b.area_kind <> 'council'{_TOPICS}
    union all
    select {_SUB} from b join subscriptions s on {_ACTIVE} and s.kind = 'address' and s.uprn = any(b.list_uprns)
    where b.area_kind = 'list'{_TOPICS}
)"""

_RECIPIENTS = """
recipients as (
    select distinct on (cp.id, ch.channel)
           cp.id as contact_point_id, cp.resident_id, ch.channel, m.id as subscription_id, res.language, b.urgency,
           m.quiet_start, m.quiet_end, m.digest_time,
           case when b.urgency = 'urgent' or ch.channel = 'letter' then 'immediate' else m.frequency end as frequency
    from matched m
    cross join b
    cross join lateral unnest(m.channels) as ch(channel)
    join contact_points cp on cp.resident_id = m.resident_id and cp.channel = ch.channel
                          and cp.suppressed_at is null and cp.verified_at is not null
    join residents res on res.id = cp.resident_id
    where ch.channel = any(b.channels)
    order by cp.id, ch.channel,
             array_position(array['immediate', 'daily', 'weekly'],
                            case when b.urgency = 'urgent' then 'immediate' else m.frequency end),
             m.id
)"""

COUNT = f"""
with {_SPOTS},
{_MATCHED},
{_RECIPIENTS}
select channel, language, count(*) as n, null::bigint as people from recipients group by channel, language
union all
select null, null, null, count(distinct resident_id) from recipients
"""


FAN_OUT = f"""
with {CLOCK},
{_SPOTS},
{_MATCHED},
{_RECIPIENTS},
{OPEN_DIGESTS},
{event_rows('b', 'b.event_id', 'where b.event_id is not null')}
select count(*) from written
"""


@dataclass(frozen=True)
class Audience:
    """Who a bulletin would reach now: contact points per channel (and per language: a Welsh text may cost more
    fragments) and people (each counted once, whatever their channels)."""

    people: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    by_language: dict[tuple[str, str], int] = field(default_factory=dict)

    def on(self, channel: str) -> int:
        return self.by_channel.get(channel, 0)

    @property
    def messages(self) -> int:
        return sum(self.by_channel.values())


async def count(conn: asyncpg.Connection | asyncpg.Pool, bulletin_id: int) -> Audience:
    rows = await conn.fetch(COUNT, bulletin_id)
    by_channel: dict[str, int] = {}
    by_language: dict[tuple[str, str], int] = {}
    people = 0
    for row in rows:
        if row['channel'] is None:
            people = row['people']
            continue
        by_channel[row['channel']] = by_channel.get(row['channel'], 0) + row['n']
        by_language[(row['channel'], row['language'])] = row['n']
    return Audience(people, by_channel, by_language)


async def fan_out(conn: asyncpg.Connection, bulletin_id: int, *, now: datetime | None = None) -> int:
    """Write the bulletin's outbox rows (its event must be recorded); how many were new (0 on a second run)."""
    started = time.perf_counter()
    written = int(await conn.fetchval(FAN_OUT, bulletin_id, now))
    metrics.matched('bulletin', metrics.since(started), written)
    return written
