"""Residents, their contact points and subscriptions: the SQL, in functions that take a connection.

The caller owns the transaction. Statuses move pending → active ⇄ paused → ended; ending keeps the row (with
the reason and who ended it) so an unsubscribe link keeps working and says "you have already unsubscribed".
"""

from __future__ import annotations

from typing import Any

import asyncpg

from notifier import metrics
from notifier.outbox.states import cancel_for_subscriptions
from subscriptions.residents.models import (
    Channel,
    ContactPoint,
    EndedBy,
    EndedReason,
    NewSubscription,
    Subscription,
    canonical_address,
)


class ContactPointInUse(ValueError):
    """The address already belongs to another resident (one address, one resident: STOP and bounces follow it)."""


async def create_resident(conn: asyncpg.Connection, *, language: str = 'en') -> int:
    return await conn.fetchval('insert into residents (language) values ($1) returning id', language)


async def add_contact_point(
    conn: asyncpg.Connection,
    resident_id: int,
    channel: Channel,
    address: str | list[str],
    *,
    verified: bool = False,
) -> ContactPoint:
    """Add (or find again) the resident's contact point; the address is stored in canonical form.

    Raises `InvalidContactPoint` for an address Notify would refuse and `ContactPointInUse` when another
    resident already has it.
    """
    canonical = canonical_address(channel, address)
    row = await conn.fetchrow(
        """
        insert into contact_points (resident_id, channel, address, verified_at)
        values ($1, $2, $3, case when $4 then now() end)
        on conflict (channel, address) do update
            set verified_at = coalesce(contact_points.verified_at, excluded.verified_at)
            where contact_points.resident_id = excluded.resident_id
        returning *
        """,
        resident_id,
        channel,
        canonical,
        verified,
    )
    if row is None:
        raise ContactPointInUse(f'that {channel} address is already registered')
    return ContactPoint.model_validate(dict(row))


async def find_contact_point(
    conn: asyncpg.Connection, channel: Channel, address: str | list[str]
) -> ContactPoint | None:
    row = await conn.fetchrow(
        'select * from contact_points where channel = $1 and address = $2', channel, canonical_address(channel, address)
    )
    return ContactPoint.model_validate(dict(row)) if row else None


async def create_subscription(
    conn: asyncpg.Connection, resident_id: int, spec: NewSubscription, *, active: bool = False
) -> int:
    """Store a subscription, pending until the resident confirms (or `active` for staff-made and seeded ones)."""
    bbox = spec.bbox()
    quiet = spec.quiet_hours or (None, None)
    subscription_id = await conn.fetchval(
        """
        insert into subscriptions (
            resident_id, status, kind, topics, exclusions, channels, frequency, quiet_start, quiet_end,
            centre_lat, centre_lng, radius_m, bbox, area_codes, uprn, case_source, case_reference, confirmed_at,
            digest_time, remind_at, remind_time, postcode
        )
        values (
            $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
            case when $13::float8 is null then null else box(point($13, $14), point($15, $16)) end,
            $17, $18, $19, $20, case when $2 = 'active' then now() end, $21, $22, $23, $24
        )
        returning id
        """,
        resident_id,
        'active' if active else 'pending',
        spec.kind,
        spec.topics,
        spec.exclusions,
        list(spec.channels),
        spec.frequency,
        quiet[0],
        quiet[1],
        spec.lat,
        spec.lng,
        spec.radius_m,
        *(bbox or (None, None, None, None)),
        spec.area_codes,
        spec.uprn,
        spec.case_source,
        spec.case_reference,
        spec.digest_time,
        spec.remind_at,
        spec.remind_time,
        spec.postcode,
    )
    metrics.SIGNUPS.labels(spec.kind, 'active' if active else 'pending').inc()
    return subscription_id


async def get_subscription(conn: asyncpg.Connection, subscription_id: int) -> Subscription | None:
    row = await conn.fetchrow('select * from subscriptions where id = $1', subscription_id)
    return Subscription.model_validate(dict(row)) if row else None


async def list_subscriptions(conn: asyncpg.Connection, resident_id: int) -> list[Subscription]:
    rows = await conn.fetch('select * from subscriptions where resident_id = $1 order by id', resident_id)
    return [Subscription.model_validate(dict(row)) for row in rows]


async def activate_subscription(
    conn: asyncpg.Connection, subscription_id: int, *, via_contact_point_id: int | None = None
) -> bool:
    """Confirm a pending subscription. `via_contact_point_id` (the address the confirmation reached) is marked
    verified. Returns False if it was not pending (already active, paused or ended): confirming twice is harmless."""
    row = await conn.fetchrow(
        """
        with sub as (
            update subscriptions set status = 'active', confirmed_at = now()
            where id = $1 and status = 'pending'
            returning resident_id
        ), verified as (
            update contact_points set verified_at = now()
            where id = $2 and verified_at is null and resident_id in (select resident_id from sub)
        )
        select count(*) as n from sub
        """,
        subscription_id,
        via_contact_point_id,
    )
    return bool(row['n'])


async def pause_subscription(conn: asyncpg.Connection, subscription_id: int) -> bool:
    status = await conn.execute(
        "update subscriptions set status = 'paused' where id = $1 and status = 'active'", subscription_id
    )
    return status.endswith(' 1')


async def resume_subscription(conn: asyncpg.Connection, subscription_id: int) -> bool:
    status = await conn.execute(
        "update subscriptions set status = 'active' where id = $1 and status = 'paused'", subscription_id
    )
    return status.endswith(' 1')


END_SUBSCRIPTIONS = f"""
with ended as (
    update subscriptions set status = 'ended', ended_reason = $2, ended_by = $3, ended_at = now()
    where {{which}} and status <> 'ended'
    returning id
), cancelled as (
    {cancel_for_subscriptions('ended', "'subscription ended: ' || $2")}
)
select count(*) from ended
"""


async def end_subscription(conn: asyncpg.Connection, subscription_id: int, *, reason: EndedReason, by: EndedBy) -> bool:
    """End it for good, keeping why and who; messages it caused that are not yet sent are cancelled.
    Returns False if it had already ended (an unsubscribe link clicked twice)."""
    n = await conn.fetchval(END_SUBSCRIPTIONS.format(which='id = $1'), subscription_id, reason, by)
    return bool(n)


async def end_all_subscriptions(conn: asyncpg.Connection, resident_id: int, *, reason: EndedReason, by: EndedBy) -> int:
    """'Unsubscribe from everything': returns how many subscriptions ended now."""
    return await conn.fetchval(END_SUBSCRIPTIONS.format(which='resident_id = $1'), resident_id, reason, by)


async def subscription_counts(conn: asyncpg.Connection) -> dict[str, Any]:
    """Active subscriptions by kind, for health pages and the demo."""
    rows = await conn.fetch("select kind, count(*) as n from subscriptions where status = 'active' group by kind")
    return {row['kind']: row['n'] for row in rows}
