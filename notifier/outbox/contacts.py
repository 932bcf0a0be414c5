"""Stopping sending to an address: Notify said it is gone for good, the resident texted STOP, or staff stopped it.

The address is marked suppressed and every message to it that has not gone yet is cancelled, in one statement.
"""

from __future__ import annotations

from typing import Literal

import asyncpg

from notifier.outbox.states import cancel_for_contact_points

SuppressedReason = Literal['permanent-failure', 'stop-reply', 'staff', 'complaint']

SUPPRESS = f"""
with cp as (
    update contact_points set suppressed_at = now(), suppressed_reason = $2
    where id = $1 and suppressed_at is null
    returning id
), cancelled as (
    {cancel_for_contact_points('cp', "'contact suppressed: ' || $2")}
)
select count(*) from cp
"""


async def suppress_contact_point(conn: asyncpg.Connection, contact_point_id: int, reason: SuppressedReason) -> bool:
    """Stop sending to this address (Notify's permanent-failure, a STOP reply, staff); unsent messages are cancelled."""
    done = await conn.fetchval(SUPPRESS, contact_point_id, reason)
    return bool(done)
