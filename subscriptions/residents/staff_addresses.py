"""A member of staff's email address as somewhere the outbox can send: staff notices go like any other message.

The outbox sends to contact points, so a notice to staff (a bulletin waiting for an approver, one sent back to its
author: sources/bulletins/notices.py) needs one for the address in `staff`. An address a resident already holds —
an officer who also signed up for bin reminders — is used as it is: it is the same inbox, and one Notify said does
not exist (suppressed) is not written to again. Otherwise the address gets a resident of its own holding only it,
unverified: it subscribes to nothing, counts in no figure and signs in to nothing (only proved addresses do), and
if someone later signs up with it and proves it, it moves to them as any unproved address does (decision 36).
Staff alerts about feeds and evidence requests go instead to whoever subscribed to their topic (staff/…).
"""

from __future__ import annotations

import asyncpg

from subscriptions.residents.models import InvalidContactPoint, canonical_address
from subscriptions.residents.queries import create_resident

FIND = "select id from contact_points where channel = 'email' and address = $1"
ADD = """
insert into contact_points (resident_id, channel, address) values ($1, 'email', $2)
on conflict (channel, address) do nothing
returning id
"""


async def staff_contact_point(conn: asyncpg.Connection, email: str) -> int | None:
    """The contact point for this staff email, made on first use; None for an address Notify would refuse."""
    try:
        address = canonical_address('email', email)
    except InvalidContactPoint:
        return None
    found = await conn.fetchval(FIND, address)
    if found is not None:
        return found
    async with conn.transaction():  # a savepoint: no empty resident is left behind if someone else adds it first
        resident = await create_resident(conn, language='en')
        added = await conn.fetchval(ADD, resident, address)
        if added is None:
            await conn.execute('delete from residents where id = $1', resident)
    return added if added is not None else await conn.fetchval(FIND, address)
