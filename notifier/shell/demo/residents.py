"""The demo residents and what each signed up for: made-up people (example.com addresses, a 07700 900xxx number).

Three follow things near a postcode around Stretford and Sale, one wants bin reminders at 1 Demo Street (and has a
mobile, so can text BINS to the simulator's inbound endpoint and get the next collections back), and one reported
the demo case DEMO-1001 and follows it. Each is signed up once: a demo resident who already has a
subscription of that kind for the same thing (at any status, so one a newcomer unsubscribed stays ended) is left
as it is. Their addresses count as proved and their subscriptions start active, as if they had confirmed.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo

import asyncpg

from subscriptions.residents import queries
from subscriptions.residents.models import NewSubscription, RemindAt, canonical_address

logger = logging.getLogger('notifier.shell.demo')

LONDON = ZoneInfo('Europe/London')
NEAR = [
    # (email, mobile, postcode, radius in metres, topics)
    ('demo.alex@example.com', None, 'M32 0AH', 800, ['planning']),
    ('demo.sam@example.com', '07700 900321', 'M32 0PA', 1500, ['planning', 'licensing']),
    ('demo.jo@example.com', None, 'M33 7XF', 1000, []),
]
BINS_RESIDENT = 'demo.lee@example.com'  # bin reminders at the first demo address
BINS_MOBILE = '07700 900654'  # theirs: text BINS from it (README, "Ask by text")
CASE_REPORTER = 'demo.kim@example.com'  # reported the demo case, and follows it
EMAILS = [email for email, *_ in NEAR] + [BINS_RESIDENT, CASE_REPORTER]

PLACE = 'select lat, lng from postcodes where postcode = $1'
# a database with residents of its own and none of ours (someone's real data) is left alone
DEMO_DATABASE = """
select not exists (select 1 from residents)
    or exists (select 1 from contact_points where channel = 'email' and address = any($1::text[]))
"""
SIGNED_UP = """
select exists (
    select 1 from subscriptions s
    join contact_points cp on cp.resident_id = s.resident_id and cp.channel = 'email' and cp.address = $1
    where s.kind = $2 and s.uprn is not distinct from $3
      and s.case_source is not distinct from $4 and s.case_reference is not distinct from $5
)
"""


async def is_demo_database(conn: asyncpg.Connection) -> bool:
    """An empty database, or one the demo seeded before."""
    return await conn.fetchval(DEMO_DATABASE, [canonical_address('email', email) for email in EMAILS])


async def sign_up(conn: asyncpg.Connection, email: str, spec: NewSubscription, mobile: str | None = None) -> bool:
    """Sign the demo resident with this email up for `spec`, unless they already were; True when signed up now."""
    address = canonical_address('email', email)
    if await conn.fetchval(SIGNED_UP, address, spec.kind, spec.uprn, spec.case_source, spec.case_reference):
        return False
    point = await queries.find_contact_point(conn, 'email', email)
    if point is not None:
        resident = point.resident_id
    else:
        resident = await queries.create_resident(conn)
        await queries.add_contact_point(conn, resident, 'email', email, verified=True)
        if mobile:
            await queries.add_contact_point(conn, resident, 'sms', mobile, verified=True)
    await queries.create_subscription(conn, resident, spec, active=True)
    return True


async def sign_up_near(conn: asyncpg.Connection) -> int:
    """The three residents who follow planning and licensing near their postcode; how many were signed up now."""
    added = 0
    for email, mobile, postcode, radius, topics in NEAR:
        place = await conn.fetchrow(PLACE, postcode)
        if place is None:
            logger.warning('demo: %s is not in the postcodes table; skipping that resident', postcode)
            continue
        spec = NewSubscription(
            kind='near', lat=place['lat'], lng=place['lng'], radius_m=radius, postcode=postcode, topics=topics,
            channels=['email', 'sms'] if mobile else ['email'], quiet_hours=None,
        )  # fmt: skip
        added += await sign_up(conn, email, spec, mobile)
    return added


def reminder_choice(now: datetime) -> tuple[RemindAt, time]:
    """A reminder time that has just come: before noon (London) the morning of today's collection at this minute,
    from noon the evening before tomorrow's (the demo round collects today and tomorrow: demo/bins.py). The /bins
    pages offer the same two, the morning before noon and the evening from noon."""
    local = now.astimezone(LONDON)
    at = time(local.hour, local.minute)
    return ('morning-of' if local.hour < 12 else 'evening-before'), at


def bins_subscription(uprn: str, now: datetime) -> NewSubscription:
    remind_at, remind_time = reminder_choice(now)
    return NewSubscription(
        kind='address', uprn=uprn, topics=['bins'], channels=['email'], remind_at=remind_at, remind_time=remind_time,
        quiet_hours=None,
    )  # fmt: skip


def case_subscription(source: str, reference: str) -> NewSubscription:
    return NewSubscription(kind='case', case_source=source, case_reference=reference, channels=['email'])
